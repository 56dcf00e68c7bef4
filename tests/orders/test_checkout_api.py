from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Variant
from mercato.inventory.models import Reservation
from mercato.kit.models import EmailMessage, IdempotencyKey, OutboxEvent
from mercato.ledger import service as ledger
from mercato.orders.models import Checkout, Order
from tests.orders.conftest import ADDRESS, DECLINED, INSUFFICIENT, add, checkout, key, pay


def variant_counts(db_run: Any, variant_id: int) -> tuple[int, int, int]:
    async def read(session: AsyncSession) -> tuple[int, int, int]:
        v = await session.get(Variant, variant_id)
        assert v is not None
        return v.stock, v.reserved, v.allocated

    result: tuple[int, int, int] = db_run(read)
    return result


def trial_balance(db_run: Any) -> dict[str, int]:
    async def read(session: AsyncSession) -> dict[str, int]:
        return await ledger.trial_balance(session)

    result: dict[str, int] = db_run(read)
    return result


def test_two_shops_checkout_pay_and_books_balance(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    admin: dict[str, Any], db_run: Any,
) -> None:
    tote = stocked(price=2500, stock=10)
    mug = stocked(price=1200, stock=4, title="Stoneware Mug")
    assert api.put("/api/v1/admin/tax-rates", headers=admin["headers"],
                   json={"region": "US-CA", "rate_bps": 725, "label": "California"}).status_code == 200
    assert api.put(f"/api/v1/shops/{mug['shop']['slug']}/shipping", headers=mug["shop"]["owner"]["headers"],
                   json={"shipping_fee": 499, "free_shipping_above": 5000}).status_code == 200
    shopper = buyer()
    add(api, shopper, tote["variant_id"], 2)
    add(api, shopper, mug["variant_id"], 1)
    quote = api.post("/api/v1/checkout/quote", headers=shopper["headers"], json={}).json()
    created = checkout(api, shopper, expected_totals=quote["totals"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert [o["status"] for o in body["orders"]] == ["awaiting_payment", "awaiting_payment"]
    by_shop = {o["shop_id"]: o for o in body["orders"]}
    tote_order, mug_order = by_shop[tote["shop"]["id"]], by_shop[mug["shop"]["id"]]
    assert (tote_order["subtotal"], tote_order["shipping"], tote_order["tax"]) == (5000, 0, 362)  # 3.625 half-even
    assert (mug_order["subtotal"], mug_order["shipping"], mug_order["tax"]) == (1200, 499, 87)
    assert body["totals"] == {"USD": 5362 + 1786} == quote["totals"]
    assert variant_counts(db_run, mug["variant_id"]) == (4, 1, 0)

    paid = pay(api, shopper, body["id"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert {o["status"] for o in paid.json()["orders"]} == {"paid"}
    assert variant_counts(db_run, mug["variant_id"]) == (4, 0, 1)
    assert api.get("/api/v1/cart", headers=shopper["headers"]).json()["item_count"] == 0
    orders = api.get("/api/v1/orders", headers=shopper["headers"]).json()["items"]
    assert len(orders) == 2
    assert trial_balance(db_run) == {"USD": 0}

    async def events(session: AsyncSession) -> tuple[int, int]:
        paid_events = (await session.execute(select(func.count()).select_from(OutboxEvent)
                                             .where(OutboxEvent.topic == "order.paid"))).scalar_one()
        emails = (await session.execute(select(func.count()).select_from(EmailMessage))).scalar_one()
        return int(paid_events), int(emails)

    paid_events, emails = db_run(events)
    assert paid_events == 2
    assert emails >= 4  # buyer and seller for each order


def test_declined_card_keeps_the_cart_and_a_retry_pays(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item = stocked(price=999, stock=3)
    shopper = buyer()
    add(api, shopper, item["variant_id"], 1)
    created = checkout(api, shopper).json()
    for number, code in ((DECLINED, "card_declined"), (INSUFFICIENT, "insufficient_funds")):
        declined = pay(api, shopper, created["id"], number)
        assert declined.status_code == 402, declined.text
        assert declined.json()["error"]["code"] == code
        assert declined.json()["error"]["message"]
    again = api.get(f"/api/v1/checkouts/{created['id']}", headers=shopper["headers"]).json()
    assert again["orders"][0]["status"] == "awaiting_payment"
    assert api.get("/api/v1/cart", headers=shopper["headers"]).json()["item_count"] == 1
    assert pay(api, shopper, created["id"]).json()["status"] == "paid"
    assert trial_balance(db_run) == {"USD": 0}


def test_out_of_stock_and_stale_prices_leave_nothing_behind(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item = stocked(price=1000, stock=2)
    first, second = buyer(), buyer()
    add(api, first, item["variant_id"], 2)
    add(api, second, item["variant_id"], 2)
    assert checkout(api, first).status_code == 201
    short = checkout(api, second)
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "out_of_stock"
    stale = checkout(api, second, expected_totals={"USD": 1})
    assert stale.status_code == 409

    async def count_second(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(Checkout)
                                          .where(Checkout.buyer_id == second["user"]["id"]))).scalar_one())

    assert db_run(count_second) == 0
    assert variant_counts(db_run, item["variant_id"]) == (2, 2, 0)


def test_prices_changed_since_the_quote(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                        buyer: Callable[..., dict[str, Any]]) -> None:
    item = stocked(price=1000, stock=5)
    shopper = buyer()
    add(api, shopper, item["variant_id"], 1)
    quote = api.post("/api/v1/checkout/quote", headers=shopper["headers"], json={}).json()
    owner = item["shop"]["owner"]
    assert api.patch(f"/api/v1/variants/{item['variant_id']}", headers=owner["headers"],
                     json={"price": 1500}).status_code == 200
    changed = checkout(api, shopper, expected_totals=quote["totals"])
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "prices_changed"
    assert changed.json()["error"]["details"]["totals"] == {"USD": 1500 + 0}


def test_checkout_idempotency_key(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                  buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = stocked(stock=5)
    shopper = buyer()
    add(api, shopper, item["variant_id"], 1)
    headers = {**shopper["headers"], **key()}
    first = api.post("/api/v1/checkouts", headers=headers, json={})
    second = api.post("/api/v1/checkouts", headers=headers, json={})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    other = api.post("/api/v1/checkouts", headers=headers, json={"coupon_codes": ["X"]})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert variant_counts(db_run, item["variant_id"]) == (5, 1, 0)


def test_buy_now_does_not_touch_the_cart(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                         buyer: Callable[..., dict[str, Any]]) -> None:
    item, other = stocked(stock=5), stocked(stock=5, title="Other")
    shopper = buyer()
    add(api, shopper, other["variant_id"], 1)
    created = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": 2}]).json()
    assert [line["quantity"] for line in created["orders"][0]["lines"]] == [2]
    assert pay(api, shopper, created["id"]).json()["status"] == "paid"
    assert api.get("/api/v1/cart", headers=shopper["headers"]).json()["item_count"] == 1


def test_checkout_needs_an_address_and_items(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                             make_user: Callable[..., dict[str, Any]]) -> None:
    item = stocked()
    shopper = make_user()
    empty = checkout(api, shopper)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "cart_empty"
    add(api, shopper, item["variant_id"], 1)
    no_address = checkout(api, shopper)
    assert no_address.status_code == 422 and no_address.json()["error"]["code"] == "address_required"
    bad = checkout(api, shopper, address={"name": "X", "line1": "Y", "city": "Z", "region": "california!",
                                          "postal_code": "1", "country": "US"})
    assert bad.status_code == 422


def test_expired_reservations_are_released(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                           buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from mercato.orders import lifecycle

    item = stocked(stock=3)
    shopper = buyer()
    add(api, shopper, item["variant_id"], 2)
    created = checkout(api, shopper).json()
    assert variant_counts(db_run, item["variant_id"]) == (3, 2, 0)

    async def age(session: AsyncSession) -> int:
        await session.execute(update(Reservation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await session.flush()
        return await lifecycle.expire_due(session)

    assert db_run(age) == 1
    assert db_run(age) == 0  # a second sweep finds nothing
    assert variant_counts(db_run, item["variant_id"]) == (3, 0, 0)
    late = pay(api, shopper, created["id"])
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "checkout_expired"

    async def statuses(session: AsyncSession) -> list[str]:
        return list((await session.execute(select(Order.status))).scalars())

    assert db_run(statuses) == ["expired"]
    assert api.get("/api/v1/cart", headers=shopper["headers"]).json()["item_count"] == 2


def test_sold_out_buy_now_is_refused_before_the_write_path_and_keys_still_replay(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item = stocked(stock=1, title="Hot Sneaker")
    lucky, late = buyer(), buyer()
    body = {"items": [{"variant_id": item["variant_id"], "quantity": 1}], "address": ADDRESS}
    lucky_key = key()
    won = api.post("/api/v1/checkouts", headers={**lucky["headers"], **lucky_key}, json=body)
    assert won.status_code == 201

    late_key = key()
    refused = api.post("/api/v1/checkouts", headers={**late["headers"], **late_key}, json=body)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "out_of_stock" and error["details"] == {"variant_id": item["variant_id"], "available": 0}
    assert "Hot Sneaker" in error["message"]

    async def keys_and_checkouts(session: AsyncSession) -> tuple[int, int]:
        keys = (await session.execute(select(func.count()).select_from(IdempotencyKey).where(
            IdempotencyKey.key == late_key["Idempotency-Key"]))).scalar_one()
        made = (await session.execute(select(func.count()).select_from(Checkout)
                                      .where(Checkout.buyer_id == late["user"]["id"]))).scalar_one()
        return int(keys), int(made)

    assert db_run(keys_and_checkouts) == (0, 0)
    # The winner's key replays its stored 201 although the item is now sold out (R5).
    replay = api.post("/api/v1/checkouts", headers={**lucky["headers"], **lucky_key}, json=body)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == won.json()
    # Everything the gate does not refuse is decided by the normal path.
    too_many = {"items": [{"variant_id": item["variant_id"], "quantity": 1000}], "address": ADDRESS}
    invalid = api.post("/api/v1/checkouts", headers=late["headers"], json=too_many)
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_error"
    token = late["headers"]["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=api.base_url, cookies={"mercato_session": token}) as browser_like:
        no_csrf = browser_like.post("/api/v1/checkouts", json=body)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    assert api.post("/api/v1/checkouts", json=body).status_code == 401
    assert variant_counts(db_run, item["variant_id"]) == (1, 1, 0)


def test_placed_and_paid_bodies_match_a_fresh_read(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
) -> None:
    """The 201 body of a checkout is built from the rows just written and the pay answer from the
    session's objects: both must equal what GET /checkouts/{id} reads back."""
    tote = stocked(price=2500, stock=10)
    mug = stocked(price=1200, stock=4, title="Stoneware Mug")
    shopper = buyer()
    add(api, shopper, tote["variant_id"], 2)
    add(api, shopper, mug["variant_id"], 1)
    created = checkout(api, shopper)
    assert created.status_code == 201, created.text
    checkout_id = created.json()["id"]
    read = api.get(f"/api/v1/checkouts/{checkout_id}", headers=shopper["headers"])
    assert read.status_code == 200
    assert created.json() == read.json()
    paid = pay(api, shopper, checkout_id)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    again = api.get(f"/api/v1/checkouts/{checkout_id}", headers=shopper["headers"])
    assert paid.json() == again.json()


def test_ended_sessions_and_missing_csrf_are_refused_before_anything_is_written(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    """The caller is resolved on the read path before the write unit of work opens: a cookie
    write without the CSRF token is 403, an expired or revoked bearer session 401, on the cart,
    checkout and pay routes alike — and none of them changes anything."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from mercato.accounts.models import Session as UserSession
    from mercato.orders.models import CartItem
    from mercato.payments.models import PaymentIntent

    item = stocked(price=900, stock=5)
    shopper = buyer()
    assert add(api, shopper, item["variant_id"], 1).status_code == 201
    placed = checkout(api, shopper)
    assert placed.status_code == 201, placed.text
    checkout_id = placed.json()["id"]
    calls = [
        ("/api/v1/cart/items", {"variant_id": item["variant_id"], "quantity": 1}),
        ("/api/v1/checkouts", {"address": ADDRESS}),
        (f"/api/v1/checkouts/{checkout_id}/pay",
         {"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}),
    ]

    async def state(session: AsyncSession) -> tuple[int, ...]:
        counts = []
        for model in (CartItem, Checkout, Order, IdempotencyKey, OutboxEvent):
            counts.append(int((await session.execute(select(func.count()).select_from(model))).scalar_one()))
        attempts = (await session.execute(select(func.sum(PaymentIntent.attempts)))).scalar_one()
        counts.append(int(attempts or 0))
        return tuple(counts)

    before = db_run(state)
    before_stock = variant_counts(db_run, item["variant_id"])
    token = shopper["headers"]["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=api.base_url, cookies={"mercato_session": token, "mercato_csrf": "c" * 20}) as browser:
        for path, body in calls:
            for headers in ({}, {"X-CSRF-Token": "d" * 20}):
                refused = browser.post(path, json=body, headers={**headers, **key()})
                assert refused.status_code == 403, (path, refused.text)
                assert refused.json()["error"]["code"] == "csrf_failed"

    async def expire(session: AsyncSession) -> None:
        await session.execute(update(UserSession).where(UserSession.user_id == shopper["user"]["id"])
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    db_run(expire)
    for path, body in calls:
        refused = api.post(path, json=body, headers={**shopper["headers"], **key()})
        assert refused.status_code == 401, (path, refused.text)
        assert refused.json()["error"]["code"] == "invalid_session"
        # A dead cookie session is anonymous: "log in to continue".
        with httpx.Client(base_url=api.base_url, cookies={"mercato_session": token}) as browser:
            anonymous = browser.post(path, json=body)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"

    async def revive_then_revoke(session: AsyncSession) -> None:
        await session.execute(update(UserSession).where(UserSession.user_id == shopper["user"]["id"])
                              .values(expires_at=datetime.now(UTC) + timedelta(days=1),
                                      revoked_at=datetime.now(UTC)))

    db_run(revive_then_revoke)
    for path, body in calls:
        refused = api.post(path, json=body, headers={**shopper["headers"], **key()})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_session"
    assert db_run(state) == before
    assert variant_counts(db_run, item["variant_id"]) == before_stock
