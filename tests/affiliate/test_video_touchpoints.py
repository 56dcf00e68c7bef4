"""Touchpoints from videos: a product-card click and an opened share link are recorded for the
video's creator on the anchored products (content/hooks.py ``promotion_touch``), and attribute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mercato.affiliate import visitor
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
