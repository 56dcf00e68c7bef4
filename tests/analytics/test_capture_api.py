"""Every event kind recorded once by the real action through the API; a re-sent beacon counted
once; the summaries equal the truth recomputed from orders and engagement tables; permissions;
the feed learns purchases from the server, not from a client's claim."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import rollup
from mercato.analytics.models import AnalyticsEvent, AnalyticsRollup
from mercato.content.models import Video, VideoProduct
from mercato.feed.models import FeedEvent
from mercato.orders.models import Order, OrderLine
from tests.orders.conftest import ADDRESS, checkout, key, pay

BEACONS = "/api/v1/analytics/beacons"


def _video(db_run: Callable[..., Any], creator_id: int, product_id: int) -> int:
    async def write(db: AsyncSession) -> int:
        video = Video(creator_id=creator_id, caption="tote #bags", media_path=f"videos/a-{uuid.uuid4().hex}.mp4",
                      duration_ms=10_000, width=720, height=1280)
        db.add(video)
        await db.flush()
        db.add(VideoProduct(video_id=video.id, product_id=product_id, position=0))
        return int(video.id)

    result: int = db_run(write)
    return result


def _kinds(db_run: Callable[..., Any]) -> dict[str, int]:
    async def read(db: AsyncSession) -> dict[str, int]:
        rows = await db.execute(select(AnalyticsEvent.kind, func.count()).group_by(AnalyticsEvent.kind))
        return {str(kind): int(n) for kind, n in rows.all()}

    result: dict[str, int] = db_run(read)
    return result


def _beacon(kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "kind": kind, **fields}


@pytest.fixture
def world(api: httpx.Client, make_user: Callable[..., dict[str, Any]], make_shop: Callable[..., dict[str, Any]],
          make_product: Callable[..., dict[str, Any]], db_run: Callable[..., Any]) -> dict[str, Any]:
    shop = make_shop()
    tote = make_product(shop, title="Tote", variants=[{"sku": None, "price": 2500, "stock": 20}])
    mug = make_product(shop, title="Mug", variants=[{"sku": None, "price": 1000, "stock": 20}])
    creator = make_user()
    video = _video(db_run, creator["user"]["id"], tote["id"])
    buyers = []
    for _ in range(2):
        who = make_user(dob="2001-03-04")
        assert api.post("/api/v1/me/addresses", headers=who["headers"],
                        json={**ADDRESS, "is_default": True}).status_code == 201
        buyers.append(who)
    return {"shop": shop, "tote": tote, "mug": mug, "creator": creator, "video": video, "buyers": buyers}


def _buy(api: httpx.Client, who: dict[str, Any], variant_id: int, quantity: int) -> dict[str, Any]:
    added = api.post("/api/v1/cart/items", headers=who["headers"], json={"variant_id": variant_id,
                                                                         "quantity": quantity})
    assert added.status_code in (200, 201), added.text
    created = checkout(api, who)
    assert created.status_code == 201, created.text
    paid = pay(api, who, created.json()["id"])
    assert paid.status_code == 200, paid.text
    order: dict[str, Any] = paid.json()["orders"][0]
    return order


def test_the_scripted_scenario(api: httpx.Client, world: dict[str, Any], db_run: Callable[..., Any]) -> None:
    shop, video, creator = world["shop"], world["video"], world["creator"]
    one, two = world["buyers"]
    tote_variant, mug_variant = world["tote"]["variants"][0]["id"], world["mug"]["variants"][0]["id"]

    # What the clients saw: an impression each (one beacon sent twice), a view, product and shop views.
    seen = _beacon("impression", video_id=video, src="foryou")
    first = api.post(BEACONS, headers=one["headers"], json={"events": [
        seen, _beacon("view", video_id=video, watch_ms=7000, src="foryou"),
        _beacon("product_view", product_id=world["tote"]["id"]), _beacon("shop_view", shop_id=shop["id"])]})
    assert first.status_code == 202 and first.json() == {"accepted": 4, "recorded": 4}
    again = api.post(BEACONS, headers=one["headers"], json={"events": [seen]})
    assert again.status_code == 202 and again.json() == {"accepted": 1, "recorded": 0}
    anonymous = api.post(BEACONS, json={"events": [_beacon("impression", video_id=video)]})
    assert anonymous.json() == {"accepted": 1, "recorded": 1}

    # Buyer one taps the tote's card (from For You), buys two; buyer two buys three mugs directly.
    click = api.post(f"/api/v1/videos/{video}/product-clicks", headers=one["headers"],
                     json={"product_id": world["tote"]["id"], "src": "foryou"})
    assert click.status_code == 204
    order_one = _buy(api, one, tote_variant, 2)
    order_two = _buy(api, two, mug_variant, 3)

    # Engagement, each once; a repeated like and a re-follow do not count again.
    for _ in range(2):
        assert api.post(f"/api/v1/videos/{video}/like", headers=one["headers"]).status_code == 200
    assert api.post(f"/api/v1/videos/{video}/comments", headers=one["headers"],
                    json={"body": "nice"}).status_code == 201
    assert api.post(f"/api/v1/videos/{video}/shares", headers=one["headers"], json={}).status_code == 201
    handle = creator["user"]["id"]
    assert api.put(f"/api/v1/users/{handle}/follow", headers=one["headers"]).status_code == 200
    assert api.delete(f"/api/v1/users/{handle}/follow", headers=one["headers"]).status_code == 200
    assert api.put(f"/api/v1/users/{handle}/follow", headers=one["headers"]).status_code == 200

    refund = api.post(f"/api/v1/seller/orders/{order_two['id']}/refunds",
                      headers={**shop["owner"]["headers"], **key()}, json={"amount": 700, "reason": "chipped"})
    assert refund.status_code == 201, refund.text

    assert _kinds(db_run) == {"impression": 2, "view": 1, "product_view": 1, "shop_view": 1,
                              "product_card_click": 1, "add_to_cart": 2, "checkout_started": 2,
                              "order_paid": 2, "refund": 1, "like": 1, "comment": 1, "share": 1, "follow": 1}

    # The truth, from the orders tables.
    async def truth(db: AsyncSession) -> tuple[int, int, int]:
        paid = (Order.shop_id == shop["id"]) & Order.paid_at.is_not(None)
        orders = (await db.execute(select(func.count()).select_from(Order).where(paid))).scalar_one()
        gmv, items = (await db.execute(select(func.sum(OrderLine.total), func.sum(OrderLine.quantity))
                                       .join(Order, Order.id == OrderLine.order_id).where(paid))).one()
        return int(orders), int(gmv), int(items)

    orders, gmv, items = db_run(truth)
    assert (orders, gmv, items) == (2, 2 * 2500 + 3 * 1000, 5)
    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    summary = api.get(f"/api/v1/shops/{shop['slug']}/analytics/summary", params=period,
                      headers=shop["owner"]["headers"])
    assert summary.status_code == 200, summary.text
    assert summary.json() == {
        **period, "orders": orders, "gmv": {"amount": gmv, "currency": "USD"}, "items_sold": items,
        "product_clicks": 1, "impressions": 2, "ctr": 0.5, "refunds": {"count": 1, "amount": 700}}

    # The creator is credited with the order that followed the click on their video's card.
    mine = api.get("/api/v1/creators/me/analytics/summary", params=period, headers=creator["headers"])
    assert mine.status_code == 200, mine.text
    assert mine.json() == {
        **period, "orders": 1, "gmv": {"amount": 5000, "currency": "USD"}, "items_sold": 2,
        "product_clicks": 1, "impressions": 2, "ctr": 0.5, "refunds": {"count": 0, "amount": 0}}
    assert order_one["total"] >= 5000

    # The seller dashboard shows the same truth, per product too (the orders tables again), from
    # the queued events and — once the fold job ran — from the rollups alone.
    async def per_product(db: AsyncSession) -> list[tuple[int, int, int]]:
        rows = await db.execute(
            select(OrderLine.product_id, func.count(func.distinct(Order.id)), func.sum(OrderLine.total))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.shop_id == shop["id"], Order.paid_at.is_not(None))
            .group_by(OrderLine.product_id).order_by(func.sum(OrderLine.total).desc()))
        return [(int(p), int(n), int(v)) for p, n, v in rows.all()]

    def dashboard() -> tuple[Any, ...]:
        h = shop["owner"]["headers"]
        now = api.get(f"/api/v1/shops/{shop['slug']}/analytics/overview", params=period, headers=h).json()["now"]
        products = api.get(f"/api/v1/shops/{shop['slug']}/analytics/breakdown",
                           params={"by": "product", **period}, headers=h).json()["items"]
        return ((now["orders"], now["gmv"], now["items_sold"], now["product_clicks"], now["impressions"],
                 now["ctr"]), [(r["key"], r["orders"], r["gmv"]) for r in products])

    expected = ((orders, gmv, items, 1, 2, 50.0), db_run(per_product))
    assert dashboard() == expected

    async def fold(db: AsyncSession) -> int:
        return await rollup.fold(db, datetime.now(UTC))

    assert db_run(fold) > 0
    assert dashboard() == expected

    # The feed learnt buyer one's add to cart and purchase from the server, credited to the video.
    async def feed_kinds(db: AsyncSession) -> list[tuple[int, str]]:
        rows = await db.execute(select(FeedEvent.user_id, FeedEvent.kind)
                                .where(FeedEvent.kind.in_(["add_to_cart", "purchase"])).order_by(FeedEvent.id))
        return [(int(u), str(k)) for u, k in rows.all()]

    assert db_run(feed_kinds) == [(one["user"]["id"], "add_to_cart"), (one["user"]["id"], "purchase")]


def test_a_client_claim_of_a_purchase_counts_for_nothing(api: httpx.Client, world: dict[str, Any],
                                                         db_run: Callable[..., Any]) -> None:
    one = world["buyers"][0]
    response = api.post("/api/v1/feed/events", headers=one["headers"], json={"events": [
        {"video_id": world["video"], "kind": "purchase"}, {"video_id": world["video"], "kind": "add_to_cart"}]})
    assert response.status_code == 202 and response.json() == {"accepted": 2, "counted": 0}

    async def feed_events(db: AsyncSession) -> int:
        return int((await db.execute(select(func.count()).select_from(FeedEvent))).scalar_one())

    assert db_run(feed_events) == 0
    assert _kinds(db_run) == {}


def test_only_members_read_a_shop_summary(api: httpx.Client, world: dict[str, Any],
                                          make_user: Callable[..., dict[str, Any]]) -> None:
    params = {"from": "2026-11-01", "to": "2026-11-30"}
    url = f"/api/v1/shops/{world['shop']['slug']}/analytics/summary"
    outsider = make_user()
    refused = api.get(url, params=params, headers=outsider["headers"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_shop_member"
    assert api.get(url, params=params).status_code == 401
    missing = api.get("/api/v1/shops/no-such-shop/analytics/summary", params=params, headers=outsider["headers"])
    assert missing.status_code == 404
    # A creator's summary is their own: another user's figures are not theirs to see (all zero).
    other = api.get("/api/v1/creators/me/analytics/summary", params=params, headers=outsider["headers"])
    assert other.status_code == 200 and other.json()["orders"] == 0
    reversed_period = api.get(url, params={"from": "2026-11-30", "to": "2026-11-01"},
                              headers=world["shop"]["owner"]["headers"])
    assert reversed_period.status_code == 422 and reversed_period.json()["error"]["code"] == "invalid_period"


def test_refused_beacons_record_nothing(api: httpx.Client, world: dict[str, Any], db_run: Callable[..., Any]) -> None:
    no_target = api.post(BEACONS, json={"events": [_beacon("impression", video_id=world["video"]),
                                                   _beacon("product_view", video_id=world["video"])]})
    assert no_target.status_code == 422
    assert no_target.json()["error"]["code"] == "beacon_target_missing"
    assert no_target.json()["error"]["details"] == {"index": 1, "fields": ["product_id"]}
    unknown = api.post(BEACONS, json={"events": [_beacon("impression", video_id=world["video"]),
                                                 _beacon("shop_view", shop_id=999_999)]})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"] == {"shop_id": [999_999]}
    too_many = api.post(BEACONS, json={"events": [_beacon("impression", video_id=world["video"])] * 101})
    assert too_many.status_code == 422
    assert _kinds(db_run) == {}

    async def rollups(db: AsyncSession) -> int:
        return int((await db.execute(select(func.count()).select_from(AnalyticsRollup))).scalar_one())

    assert db_run(rollups) == 0
