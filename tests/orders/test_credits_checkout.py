"""Shopping credits at checkout over real HTTP: partial and full payment with credits, refusals
that change nothing, concurrent checkouts spending one balance, expiry and cancellation giving
credits back, refunds returning the credits part pro rata (docs/promotions.md, "Shopping credits")."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import get_settings
from mercato.inventory.models import Reservation
from mercato.kit.money import allocate
from mercato.ledger import postings
from mercato.ledger import service as ledger
from mercato.orders import lifecycle
from mercato.orders.models import Checkout, Order
from mercato.payments.models import PaymentIntent
from mercato.promotions import credits
from tests.orders.conftest import checkout, key, pay
from tests.orders.test_checkout_api import trial_balance, variant_counts


def grant(db_run: Any, user: dict[str, Any], amount: int, currency: str = "USD", reference: str = "") -> None:
    async def write(session: AsyncSession) -> None:
        await credits.grant(session, user_id=user["user"]["id"], amount=amount, currency=currency,
                            reason="Welcome credits", reference=reference or f"test:{user['user']['id']}:{amount}")

    db_run(write)


def balance(db_run: Any, user: dict[str, Any], currency: str = "USD") -> int:
    result: int = db_run(lambda s: credits.balance(s, user["user"]["id"], currency))
    return result


def account(db_run: Any, code: str) -> int:
    result: int = db_run(lambda s: ledger.balance(s, code))
    return result


def intent_of(db_run: Any, intent_id: int) -> tuple[int, int, str]:
    async def read(session: AsyncSession) -> tuple[int, int, str]:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None
        return intent.amount, intent.refunded, intent.status

    result: tuple[int, int, str] = db_run(read)
    return result


def count(db_run: Any, model: Any) -> int:
    result: int = db_run(lambda s: _count(s, model))
    return result


async def _count(session: AsyncSession, model: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def buy(item: dict[str, Any], quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"items": [{"variant_id": item["variant_id"], "quantity": quantity}], **extra}


def seller_share(total: int) -> int:
    return postings.split_payment(total, 0, 0, get_settings().platform_fee_bps).seller_share


def test_partial_credits_charge_the_card_the_rest_and_the_seller_is_paid_in_full(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    item = stocked(price=2500, stock=5)
    shopper = buyer()
    grant(db_run, shopper, 1000)
    created = checkout(api, shopper, **buy(item, use_credits=True))
    assert created.status_code == 201, created.text
    body = created.json()
    order = body["orders"][0]
    total = order["total"]
    assert (order["credits"], body["credits"], body["status"]) == (1000, {"USD": 1000}, "open")
    assert [p["amount"] for p in body["payments"]] == [total - 1000]
    assert balance(db_run, shopper) == 0  # held by the checkout
    assert account(db_run, "platform:credits_held:USD") == 1000

    paid = pay(api, shopper, body["id"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["orders"][0]["status"] == "paid"
    shop_id = item["shop"]["id"]
    assert account(db_run, "platform:cash:USD") == total - 1000
    assert account(db_run, "platform:credits_held:USD") == 0
    assert account(db_run, f"shop:{shop_id}:pending:USD") == seller_share(total)
    assert account(db_run, "platform:promotions:USD") == 1000  # what the grant cost the platform
    assert trial_balance(db_run) == {"USD": 0}
    history = api.get("/api/v1/me/credits", headers=shopper["headers"]).json()
    assert [(line["kind"], line["amount"], line["order_id"]) for line in history["history"]] == [
        ("credit_hold", -1000, order["id"]), ("credit_grant", 1000, None)]
    assert history["history"][0]["description"] == f"Spent on order #{order['id']}"
    assert history["balances"] == [{"currency": "USD", "amount": 0, "amount_display": "$0.00"}]


def test_credits_covering_everything_pay_the_checkout_without_a_card(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    item = stocked(price=1500, stock=5)
    shopper = buyer()
    grant(db_run, shopper, 10_000)
    created = checkout(api, shopper, **buy(item, 2, use_credits=True))
    assert created.status_code == 201, created.text
    body = created.json()
    order = body["orders"][0]
    total = order["total"]
    assert (body["status"], order["status"], order["credits"]) == ("paid", "paid", total)
    assert [(p["amount"], p["status"]) for p in body["payments"]] == [(0, "succeeded")]
    assert balance(db_run, shopper) == 10_000 - total
    assert variant_counts(db_run, item["variant_id"]) == (5, 0, 2)
    assert account(db_run, "platform:cash:USD") == 0
    assert account(db_run, f"shop:{item['shop']['id']}:pending:USD") == seller_share(total)
    assert trial_balance(db_run) == {"USD": 0}
    again = pay(api, shopper, body["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "checkout_closed"


def test_refused_credit_amounts_change_nothing(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    item = stocked(price=2500, stock=5)
    yen = stocked(price=900, stock=5, currency="JPY")
    shopper = buyer()
    grant(db_run, shopper, 500)
    cases = [
        (buy(item, credits_amount=600), 409, "credits_insufficient"),
        (buy(item, credits_amount=1_000_000), 422, "credits_amount_invalid"),
        ({"items": [{"variant_id": item["variant_id"], "quantity": 1}, {"variant_id": yen["variant_id"],
                                                                          "quantity": 1}],
          "credits_amount": 100}, 422, "credits_one_currency"),
        (buy(item, credits_amount=-1), 422, "validation_error"),
    ]
    for body, status, code in cases:
        refused = checkout(api, shopper, **body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), refused.text
    assert refused.json()["error"]["details"] is not None
    assert balance(db_run, shopper) == 500
    assert (count(db_run, Checkout), count(db_run, Order)) == (0, 0)
    assert variant_counts(db_run, item["variant_id"]) == (5, 0, 0)
    assert db_run(lambda s: ledger.counts(s))["transactions"] == 1  # the grant only
    exact = checkout(api, shopper, **buy(item, credits_amount=500))
    assert exact.status_code == 201 and exact.json()["orders"][0]["credits"] == 500
    assert balance(db_run, shopper) == 0
    nothing = checkout(api, shopper, **buy(item, use_credits=True))  # nothing left: the card pays it all
    assert nothing.status_code == 201 and nothing.json()["credits"] == {}


def test_credits_spread_over_the_orders_of_a_checkout_in_proportion(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    tote = stocked(price=3000, stock=5)
    mug = stocked(price=1000, stock=5, title="Mug")
    shopper = buyer()
    grant(db_run, shopper, 1001)
    created = checkout(api, shopper, items=[{"variant_id": tote["variant_id"], "quantity": 1},
                                            {"variant_id": mug["variant_id"], "quantity": 1}], credits_amount=1001)
    assert created.status_code == 201, created.text
    orders = created.json()["orders"]
    totals = [o["total"] for o in orders]
    assert [o["credits"] for o in orders] == allocate(1001, totals)
    assert created.json()["payments"][0]["amount"] == sum(totals) - 1001


def test_concurrent_checkouts_never_spend_more_than_the_balance(
    server: str, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item = stocked(price=2500, stock=50)
    shopper = buyer()
    grant(db_run, shopper, 3000)

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            return list(await asyncio.gather(*[
                client.post("/api/v1/checkouts", headers={**shopper["headers"], **key()},
                            json=buy(item, credits_amount=1000)) for _ in range(6)]))

    results = asyncio.run(race())
    outcomes = Counter(r.status_code if r.status_code == 201 else r.json()["error"]["code"] for r in results)
    assert outcomes == {201: 3, "credits_insufficient": 3}
    assert balance(db_run, shopper) == 0
    assert account(db_run, "platform:credits_held:USD") == 3000
    assert trial_balance(db_run) == {"USD": 0}


def test_expired_and_cancelled_checkouts_give_the_credits_back(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    item = stocked(price=2500, stock=5)
    shopper = buyer()
    grant(db_run, shopper, 1500)
    expiring = checkout(api, shopper, **buy(item, credits_amount=1000)).json()
    assert balance(db_run, shopper) == 500

    async def age(session: AsyncSession) -> int:
        await session.execute(update(Reservation).where(Reservation.checkout_id == expiring["id"])
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await session.flush()
        return await lifecycle.expire_due(session)

    assert db_run(age) == 1
    assert db_run(age) == 0
    assert balance(db_run, shopper) == 1500
    cancelling = checkout(api, shopper, **buy(item, credits_amount=1500)).json()
    assert balance(db_run, shopper) == 0
    oid = cancelling["orders"][0]["id"]
    cancelled = api.post(f"/api/v1/orders/{oid}/cancel", headers={**shopper["headers"], **key()}, json={})
    assert cancelled.status_code == 200, cancelled.text
    assert balance(db_run, shopper) == 1500
    assert account(db_run, "platform:credits_held:USD") == 0
    kinds = [line["kind"] for line in api.get("/api/v1/me/credits", headers=shopper["headers"]).json()["history"]]
    assert kinds == ["credit_release", "credit_hold", "credit_release", "credit_hold", "credit_grant"]
    assert trial_balance(db_run) == {"USD": 0}


def test_a_declined_card_keeps_the_credits_held_for_the_next_card(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    item = stocked(price=2500, stock=5)
    shopper = buyer()
    grant(db_run, shopper, 700)
    created = checkout(api, shopper, **buy(item, use_credits=True)).json()
    declined = pay(api, shopper, created["id"], "4000 0000 0000 0002")
    assert declined.status_code == 402
    assert balance(db_run, shopper) == 0
    assert pay(api, shopper, created["id"]).status_code == 200
    assert account(db_run, "platform:credits_held:USD") == 0
    assert balance(db_run, shopper) == 0


def test_refunds_return_the_credits_part_pro_rata_and_the_rest_to_the_card(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    item = stocked(price=3000, stock=5)
    shopper = buyer()
    grant(db_run, shopper, 1000)
    created = checkout(api, shopper, **buy(item, use_credits=True)).json()
    assert pay(api, shopper, created["id"]).status_code == 200
    order = created["orders"][0]
    total, oid, intent_id = order["total"], order["id"], created["payments"][0]["id"]
    seller = item["shop"]["owner"]
    first = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                     json={"amount": 1001, "reason": "dent"})
    assert first.status_code == 201, first.text
    back = 1000 * 1001 // total
    assert balance(db_run, shopper) == back
    assert intent_of(db_run, intent_id)[1] == 1001 - back
    rest = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                    json={"amount": total - 1001, "reason": "rest"})
    assert rest.status_code == 201, rest.text
    assert balance(db_run, shopper) == 1000  # exactly the credits used
    assert intent_of(db_run, intent_id)[:2] == (total - 1000, total - 1000)  # the card got its whole part
    assert account(db_run, f"shop:{item['shop']['id']}:pending:USD") == 0
    assert account(db_run, "platform:cash:USD") == 0
    assert trial_balance(db_run) == {"USD": 0}
    lines = api.get("/api/v1/me/credits", headers=shopper["headers"]).json()["history"]
    assert [(line["kind"], line["amount"]) for line in lines[:2]] == [("refund", 1000 - back), ("refund", back)]


def test_a_refund_of_an_order_paid_only_with_credits_goes_back_to_the_credits(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any,
) -> None:
    item = stocked(price=2000, stock=5)
    shopper = buyer()
    grant(db_run, shopper, 5000)
    created = checkout(api, shopper, **buy(item, use_credits=True)).json()
    order = created["orders"][0]
    cancelled = api.post(f"/api/v1/orders/{order['id']}/cancel", headers={**shopper["headers"], **key()}, json={})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert balance(db_run, shopper) == 5000
    assert intent_of(db_run, created["payments"][0]["id"]) == (0, 0, "succeeded")
    assert trial_balance(db_run) == {"USD": 0}
