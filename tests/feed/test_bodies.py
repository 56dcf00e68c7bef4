"""Feed bodies built from plain SQL on the fast read path (feed/bodies.py) are the same bodies the
ORM presenter gives (content/presenters.video_outs), and the fast session lookup answers like the
ORM one (accounts/deps.optional_reader)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Session
from mercato.catalog.models import ProductImage
from mercato.content.models import VideoMention, VideoProduct
from tests.conftest import auth

FEED = "/api/v1/feed/foryou"
POPULAR = "/api/v1/feed/popular"


def test_a_feed_body_equals_the_video_api_body(
    api: httpx.Client, make_user: Callable[..., Any], make_shop: Callable[..., Any],
    make_product: Callable[..., Any], make_video: Callable[..., int], db_run: Callable[..., Any],
) -> None:
    creator, viewer, mentioned = make_user(), make_user(), make_user()
    assert api.patch("/api/v1/me", headers=mentioned["headers"], json={"handle": "named_one"}).status_code == 200
    assert api.patch("/api/v1/me", headers=creator["headers"], json={"handle": "maker_one"}).status_code == 200
    shop = make_shop(owner=creator)
    on_sale = make_product(shop, "Glow Serum <b>", variants=[{"sku": None, "price": 2500, "compare_at_price": 3900,
                                                               "stock": 4}])
    sold_out = make_product(shop, "Sold Out Mask", variants=[{"sku": None, "price": 990, "stock": 0}])
    video_id = make_video(creator["user"]["id"], ("glow",), caption="new in @named_one @nobody_here #glow & more")

    async def decorate(db: AsyncSession) -> None:
        db.add(VideoMention(video_id=video_id, user_id=mentioned["user"]["id"]))
        db.add_all([VideoProduct(video_id=video_id, product_id=sold_out["id"], position=1),
                    VideoProduct(video_id=video_id, product_id=on_sale["id"], position=0)])
        db.add_all([ProductImage(product_id=on_sale["id"], position=1, path="p/b.jpg", thumb_path="p/b-t.jpg"),
                    ProductImage(product_id=on_sale["id"], position=0, path="p/a.jpg", thumb_path="p/a-t.jpg")])

    db_run(decorate)
    assert api.post(f"/api/v1/videos/{video_id}/like", headers=viewer["headers"]).status_code == 200
    assert api.put(f"/api/v1/users/{creator['user']['id']}/follow", headers=viewer["headers"]).status_code == 200
    expected = api.get(f"/api/v1/videos/{video_id}", headers=viewer["headers"])
    assert expected.status_code == 200, expected.text
    for path in (POPULAR, FEED):
        body = api.get(path, headers=viewer["headers"]).json()
        found = [item["video"] for item in body["items"] if item["video"]["id"] == video_id]
        assert len(found) == 1, path
        for key, value in expected.json().items():
            assert found[0][key] == value, (path, key)
        assert found[0].keys() == expected.json().keys()
    card = expected.json()["products"][0]
    assert (card["title"], card["image_url"], card["compare_at_price"]) == ("Glow Serum <b>", "/media/p/a-t.jpg", 3900)
    assert expected.json()["products"][1]["in_stock"] is False
    parts = expected.json()["caption_parts"]
    assert {"type": "mention", "text": "@named_one", "href": "/@named_one"} in parts
    assert expected.json()["viewer"] == {"liked": True, "saved": False, "following": True}


def test_the_fast_session_lookup_answers_like_the_orm_one(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int], db_run: Callable[..., Any],
) -> None:
    user = make_user()
    make_video(make_user()["user"]["id"], ("cats",))
    assert api.get(FEED, headers=user["headers"]).status_code == 200
    for token in ("not-a-token", "x" * 201):
        response = api.get(FEED, headers=auth(token))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_session"
    # A bad session cookie is simply anonymous (the page still works), as for every other route.
    anonymous = httpx.get(str(api.base_url) + FEED, cookies={"mercato_session": "stale"})
    assert anonymous.status_code == 200
    assert anonymous.json()["personalised"] is False

    async def expire(db: AsyncSession) -> None:
        await db.execute(update(Session).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    db_run(expire)
    expired = api.get(FEED, headers=user["headers"])
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "invalid_session")

    other = make_user()
    assert api.post("/api/v1/auth/logout", headers=other["headers"]).status_code == 204
    revoked = api.get(POPULAR, headers=other["headers"])
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (401, "invalid_session")
