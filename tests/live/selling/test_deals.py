"""LIVE flash deals: the 30-day-low rule, who may announce, buying through checkout with
``live_id`` (before open, per-buyer limit, sold out, anti-scalping burst), units given back when
a checkout expires or is cancelled, frames sent only after the commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import products as catalog_products
from mercato.catalog.models import Variant, VariantPrice
from mercato.live.selling import deals
from mercato.live.selling.models import DealBuyer, DealHold
from mercato.orders import lifecycle
from tests.live.selling.conftest import announce, count_orders, deal_row, end_now, open_now
from tests.orders.conftest import ADDRESS, checkout, pay


def buy(api: httpx.Client, who: dict[str, Any], live_id: int, variant_id: int, quantity: int = 1) -> httpx.Response:
    return checkout(api, who, items=[{"variant_id": variant_id, "quantity": quantity}], address=ADDRESS,
                    live_id=live_id)


def set_price(api: httpx.Client, item: dict[str, Any], price: int) -> None:
    response = api.patch(f"/api/v1/variants/{item['variant_id']}", headers=item["shop"]["owner"]["headers"],
                         json={"price": price})
    assert response.status_code == 200, response.text


def history(db_run: Any, variant_id: int) -> list[int]:
    async def read(session: AsyncSession) -> list[int]:
        rows = await session.scalars(select(VariantPrice.price).where(VariantPrice.variant_id == variant_id)
                                     .order_by(VariantPrice.id))
        return list(rows)

    result: list[int] = db_run(read)
    return result


def lowest(db_run: Any, variant_id: int) -> int:
    async def read(session: AsyncSession) -> int:
        variant = await session.get(Variant, variant_id)
        assert variant is not None
        return await catalog_products.lowest_price_30d(session, variant, datetime.now(UTC))

    result: int = db_run(read)
    return result


def backdate(db_run: Any, variant_id: int, ages_in_days: list[int]) -> None:
    """Move the variant's history entries (oldest first) to these ages."""

    async def write(session: AsyncSession) -> None:
        ids = list(await session.scalars(select(VariantPrice.id).where(VariantPrice.variant_id == variant_id)
                                         .order_by(VariantPrice.id)))
        for entry_id, days in zip(ids, ages_in_days, strict=False):
            await session.execute(update(VariantPrice).where(VariantPrice.id == entry_id)
                                  .values(recorded_at=datetime.now(UTC) - timedelta(days=days)))

    db_run(write)


def test_every_price_change_is_recorded_and_the_30_day_low_counts_the_price_in_effect(
        api: httpx.Client, stocked: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = stocked(price=2500)
    set_price(api, item, 2000)
    set_price(api, item, 3000)
    set_price(api, item, 3000)  # no change: no entry
    product = api.patch(f"/api/v1/products/{item['product']['id']}", headers=item["shop"]["owner"]["headers"],
                        json={"title": "Renamed"})
    assert product.status_code == 200, product.text
    assert history(db_run, item["variant_id"]) == [2500, 2000, 3000]
    assert lowest(db_run, item["variant_id"]) == 2000
    backdate(db_run, item["variant_id"], [40, 35])  # 2,000 was still the price 30 days ago
    assert lowest(db_run, item["variant_id"]) == 2000
    backdate(db_run, item["variant_id"], [40, 35, 31])  # 3,000 since 31 days
    assert lowest(db_run, item["variant_id"]) == 3000


def test_a_deal_price_must_be_below_the_lowest_price_of_30_days(
        api: httpx.Client, live_shop: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = live_shop(price=2500)
    set_price(api, item, 1800)
    set_price(api, item, 2500)
    refused = announce(api, item["host"], item["live_id"], item["variant_id"], deal_price=1800)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "deal_price_too_high"
    assert error["details"]["lowest_price_30d"] == 1800
    assert api.get(f"/api/v1/lives/{item['live_id']}/flash-deals").json() == []
    made = announce(api, item["host"], item["live_id"], item["variant_id"], deal_price=1799)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["deal_price"], body["regular_price"], body["lowest_price_30d"], body["state"]) == (
        1799, 2500, 1800, "announced")


def test_who_may_announce_what(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                               stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
                               db_run: Any) -> None:
    item = live_shop(price=2500, stock=20)
    live_id, variant_id = item["live_id"], item["variant_id"]
    viewer = buyer()
    cases = [
        (viewer, {}, 403, "not_host"),
        (item["host"], {"variant_id": stocked()["variant_id"]}, 422, "not_in_bag"),  # another shop's product
        (item["host"], {"total_units": 21}, 409, "deal_units_unavailable"),
        (item["host"], {"per_buyer_limit": 11}, 422, "validation_error"),
        (item["host"], {"countdown_seconds": 9}, 422, "validation_error"),
        (item["host"], {"duration_minutes": 21}, 422, "validation_error"),
    ]
    for who, overrides, status, code in cases:
        response = announce(api, who, live_id, overrides.pop("variant_id", variant_id), **overrides)
        assert response.status_code == status, (overrides, response.text)
        assert response.json()["error"]["code"] == code
    assert api.get(f"/api/v1/lives/{live_id}/flash-deals").json() == []  # nothing written
    first = announce(api, item["host"], live_id, variant_id)
    assert first.status_code == 201, first.text
    second = announce(api, item["host"], live_id, variant_id)
    assert second.status_code == 409 and second.json()["error"]["code"] == "deal_already_running"
    assert len(api.get(f"/api/v1/lives/{live_id}/flash-deals").json()) == 1
    end_now(db_run, first.json()["id"])  # over: the next announcement closes it and may start
    third = announce(api, item["host"], live_id, variant_id)
    assert third.status_code == 201, third.text
    states = [d["state"] for d in api.get(f"/api/v1/lives/{live_id}/flash-deals").json()]
    assert states == ["announced", "closed"]
    scheduled = live_shop(status="scheduled")
    refused = announce(api, scheduled["host"], scheduled["live_id"], scheduled["variant_id"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "live_not_on_air"


def buyer_units(db_run: Any, deal_id: int) -> dict[int, int]:
    async def read(session: AsyncSession) -> dict[int, int]:
        rows = await session.execute(select(DealBuyer.buyer_id, DealBuyer.quantity).where(DealBuyer.deal_id == deal_id))
        return {int(b): int(q) for b, q in rows}

    result: dict[int, int] = db_run(read)
    return result


def test_buying_a_deal_in_the_live(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                                   buyer: Callable[..., dict[str, Any]], db_run: Any,
                                   set_rates: Callable[..., None]) -> None:
    set_rates(live_buy="100/minute")  # this test is not about the burst limit
    item = live_shop(price=2500, stock=50)
    live_id, variant_id = item["live_id"], item["variant_id"]
    deal = announce(api, item["host"], live_id, variant_id, deal_price=1500, total_units=2, per_buyer_limit=1).json()
    ada, bob, cy = buyer(), buyer(), buyer()

    early = buy(api, ada, live_id, variant_id)
    assert early.status_code == 409 and early.json()["error"]["code"] == "deal_not_open"
    assert count_orders(db_run) == 0 and deal_row(db_run, deal["id"]).units_left == 2

    open_now(db_run, deal["id"])
    bought = buy(api, ada, live_id, variant_id)
    assert bought.status_code == 201, bought.text
    order = bought.json()["orders"][0]
    assert order["lines"][0]["unit_price"] == 1500 and order["subtotal"] == 1500
    assert (order["source"], order["live_id"]) == ("live", live_id)
    assert deal_row(db_run, deal["id"]).units_left == 1

    again = buy(api, ada, live_id, variant_id)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "deal_limit_reached"
    assert again.json()["error"]["details"]["per_buyer_limit"] == 1
    two = buy(api, bob, live_id, variant_id, quantity=2)
    assert two.status_code == 409 and two.json()["error"]["code"] == "deal_limit_reached"
    assert count_orders(db_run) == 1 and deal_row(db_run, deal["id"]).units_left == 1

    assert buy(api, bob, live_id, variant_id).status_code == 201
    sold_out = buy(api, cy, live_id, variant_id)
    assert sold_out.status_code == 409 and sold_out.json()["error"]["code"] == "deal_sold_out"
    assert count_orders(db_run) == 2 and buyer_units(db_run, deal["id"]) == {
        ada["user"]["id"]: 1, bob["user"]["id"]: 1}

    # Ada's checkout expires unpaid: her unit goes back to the deal and her count to 0.
    async def expire(session: AsyncSession) -> None:
        await lifecycle.expire_checkout(session, bought.json()["id"])

    db_run(expire)
    assert deal_row(db_run, deal["id"]).units_left == 1
    assert buyer_units(db_run, deal["id"])[ada["user"]["id"]] == 0
    db_run(expire)  # a second sweep gives nothing back twice
    assert deal_row(db_run, deal["id"]).units_left == 1

    paid_cy = buy(api, cy, live_id, variant_id)
    assert paid_cy.status_code == 201, paid_cy.text
    assert pay(api, cy, paid_cy.json()["id"]).json()["status"] == "paid"
    fetched = api.get(f"/api/v1/orders/{paid_cy.json()['orders'][0]['id']}", headers=cy["headers"]).json()
    assert (fetched["status"], fetched["source"], fetched["live_id"], fetched["total"] >= 1500) == (
        "paid", "live", live_id, True)

    with httpx.Client(base_url=api.base_url, cookies={"mercato_session": cy["token"]}) as browser:
        page = browser.get(f"/orders/{fetched['id']}")
    assert page.status_code == 200 and 'id="order-live"' in page.text and f'href="/live/{live_id}"' in page.text

    # Bob cancels his unpaid order: his unit goes back too.
    cancelled = api.post(f"/api/v1/orders/{buyer_order(api, bob)}/cancel",
                         headers={**bob["headers"], "Idempotency-Key": "bob-cancel"}, json={"reason": "changed mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert deal_row(db_run, deal["id"]).units_left == 1
    assert buyer_units(db_run, deal["id"])[bob["user"]["id"]] == 0

    # After the deal, the same buy in the LIVE is at the regular price (still a LIVE purchase).
    end_now(db_run, deal["id"])
    regular = buy(api, ada, live_id, variant_id)
    assert regular.status_code == 201, regular.text
    assert regular.json()["orders"][0]["lines"][0]["unit_price"] == 2500
    assert regular.json()["orders"][0]["source"] == "live"
    ordinary = checkout(api, ada, items=[{"variant_id": variant_id, "quantity": 1}], address=ADDRESS)
    assert (ordinary.json()["orders"][0]["source"], ordinary.json()["orders"][0]["live_id"]) == ("direct", None)


def buyer_order(api: httpx.Client, who: dict[str, Any]) -> int:
    orders = api.get("/api/v1/orders", headers=who["headers"]).json()["items"]
    return int(orders[0]["id"])


def test_an_unknown_live_is_404_and_writes_nothing(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                                   buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = stocked()
    response = buy(api, buyer(), 999_999, item["variant_id"])
    assert response.status_code == 404 and response.json()["error"]["code"] == "live_not_found"
    assert count_orders(db_run) == 0


def test_a_scripted_burst_from_one_account_is_429(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                                                  buyer: Callable[..., dict[str, Any]], db_run: Any,
                                                  production_limits: None) -> None:
    item = live_shop(price=2500, stock=50)
    deal = announce(api, item["host"], item["live_id"], item["variant_id"], total_units=10, per_buyer_limit=5).json()
    open_now(db_run, deal["id"])
    bot = buyer()
    answers = [buy(api, bot, item["live_id"], item["variant_id"]) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    refused = answers[3]
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
    assert count_orders(db_run) == 3 and deal_row(db_run, deal["id"]).units_left == 7


def test_frames_reach_the_room_only_after_the_commit(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                                                     buyer: Callable[..., dict[str, Any]], db_run: Any,
                                                     frames: list[tuple[int, dict[str, Any]]]) -> None:
    item = live_shop(price=2500)
    live_id = item["live_id"]
    assert announce(api, item["host"], live_id, item["variant_id"], deal_price=2600).status_code == 422
    assert frames == []  # refused: nothing sent
    deal = announce(api, item["host"], live_id, item["variant_id"], total_units=3).json()
    assert [(lid, f["type"], f["deal"]["state"], f["deal"]["units_left"]) for lid, f in frames] == [
        (live_id, "flash", "announced", 3)]
    frames.clear()
    open_now(db_run, deal["id"])

    async def job(session: AsyncSession) -> int:
        return await deals.open_due(session, datetime.now(UTC)) + await deals.close_due(session, datetime.now(UTC))

    assert db_run(job) == 1
    assert db_run(job) == 0  # told once
    assert [(f["type"], f["deal"]["state"]) for _, f in frames] == [("flash", "open")]
    frames.clear()
    assert buy(api, buyer(), live_id, item["variant_id"]).status_code == 201
    assert frames == [(live_id, {"type": "flash_units", "deal_id": deal["id"], "units_left": 2})]
    frames.clear()
    cancelled = api.post(f"/api/v1/lives/{live_id}/flash-deals/{deal['id']}/cancel", headers=item["host"]["headers"])
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert [(f["type"], f["deal"]["state"]) for _, f in frames] == [("flash", "cancelled")]
    frames.clear()
    again = api.post(f"/api/v1/lives/{live_id}/flash-deals/{deal['id']}/cancel", headers=item["host"]["headers"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "deal_closed"
    assert frames == []


def test_holds_record_each_take(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                                buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = live_shop()
    deal = announce(api, item["host"], item["live_id"], item["variant_id"], per_buyer_limit=2).json()
    open_now(db_run, deal["id"])
    made = buy(api, buyer(), item["live_id"], item["variant_id"], quantity=2)
    assert made.status_code == 201, made.text

    async def read(session: AsyncSession) -> list[tuple[int, int, str]]:
        rows = await session.execute(select(DealHold.checkout_id, DealHold.quantity, DealHold.status))
        return [(int(c), int(q), s) for c, q, s in rows]

    assert db_run(read) == [(made.json()["id"], 2, "active")]
