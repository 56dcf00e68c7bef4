"""Touchpoints from videos: a product-card click and an opened share link are recorded for the
video's creator on the anchored products (content/hooks.py ``promotion_touch``), and attribute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import touch, visitor
from mercato.config import get_settings
from tests.affiliate.money_helpers import buy, open_plan, touchpoints_of

Maker = Callable[..., dict[str, Any]]


def test_card_clicks_and_share_links_are_touchpoints(server: str, api: httpx.Client, stocked: Maker,
                                                     make_creator: Maker, buyer: Maker, post_video: Maker,
                                                     db_run: Any) -> None:
    item = stocked(price=2000)
    product_id = item["product"]["id"]
    assert api.patch(f"/api/v1/products/{product_id}", headers=item["shop"]["owner"]["headers"],
                     json={"open_to_creators": True}).status_code == 200
    creator = make_creator()
    open_plan(db_run, item["shop"], [product_id], [creator])
    video = post_video(creator, product_ids=[product_id])
    shopper = buyer()
    tapped = api.post(f"/api/v1/videos/{video['id']}/product-clicks", headers=shopper["headers"],
                      json={"product_id": product_id})
    assert tapped.status_code == 204
    [tp] = touchpoints_of(db_run, creator_id=creator["user"]["id"])
    assert (tp.kind, tp.user_id, tp.product_id, tp.video_id) == ("card_click", shopper["user"]["id"], product_id,
                                                                 video["id"])
    order = buy(api, shopper, item["variant_id"])
    got = api.get("/api/v1/creators/me/commissions", headers=creator["headers"]).json()["items"]
    assert [(c["order_id"], c["amount"], c["video_id"], c["touchpoint"]["kind"]) for c in got] == [
        (order["id"], 200, video["id"], "card_click")]
    by_video = api.get("/api/v1/creators/me/commissions/breakdown", headers=creator["headers"],
                       params={"by": "video"}).json()["items"]
    assert [(row["key"], row["pending"]) for row in by_video] == [(video["id"], 200)]

    share = api.post(f"/api/v1/videos/{video['id']}/shares", headers=shopper["headers"], json={}).json()
    with httpx.Client(base_url=server, timeout=60) as stranger:
        opened = stranger.get(f"/share/{share['token']}", follow_redirects=False)
        assert opened.status_code == 303
        token = opened.cookies.get(visitor.COOKIE)
        assert token is not None
    visitor_id = visitor.verify(token, get_settings())
    [shared] = touchpoints_of(db_run, visitor_id=visitor_id)
    assert (shared.kind, shared.creator_id, shared.product_id, shared.video_id, shared.user_id) == (
        "share", creator["user"]["id"], product_id, video["id"], None)


def test_showcase_visits_are_views_and_gmv_follows_commissions(server: str, api: httpx.Client, stocked: Maker,
                                                               make_creator: Maker, buyer: Maker,
                                                               db_run: Any) -> None:
    item = stocked(price=5000)
    creator = make_creator()
    open_plan(db_run, item["shop"], [item["product"]["id"]], [creator])
    assert api.patch("/api/v1/me", headers=creator["headers"], json={"handle": "cleo.picks"}).status_code == 200
    with httpx.Client(base_url=server, timeout=60) as stranger:
        seen = stranger.get("/api/v1/creators/cleo.picks/showcase")
        assert seen.status_code == 200, seen.text
        token = seen.cookies.get(visitor.COOKIE)
    assert token is not None
    [view] = touchpoints_of(db_run, creator_id=creator["user"]["id"])
    assert (view.kind, view.product_id, view.user_id, view.visitor_id) == (
        "showcase_view", None, None, visitor.verify(token, get_settings()))
    shopper = buyer()
    assert api.get("/api/v1/creators/cleo.picks/showcase", headers=shopper["headers"]).status_code == 200
    order = buy(api, shopper, item["variant_id"], quantity=2)
    got = api.get("/api/v1/creators/me/commissions", headers=creator["headers"]).json()["items"]
    assert [(c["order_id"], c["amount"], c["touchpoint"]["kind"], c["touchpoint"]["rule"]) for c in got] == [
        (order["id"], 1000, "showcase_view", "last_view")]

    async def driven(db: AsyncSession) -> dict[int, int]:
        return await touch.gmv_of(db, [creator["user"]["id"]], "USD")

    assert db_run(driven) == {creator["user"]["id"]: 10000}
