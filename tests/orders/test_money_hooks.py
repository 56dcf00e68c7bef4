"""``orders/hooks.register_order_money``: the domains above orders hear of every paid, refunded
and settled order exactly once, inside the unit of work that made it (after the order's own
ledger posting), and a handler that raises rolls the whole step back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import get_settings
from mercato.kit.errors import Conflict
from mercato.ledger import service as ledger
from mercato.orders import hooks, lifecycle
from mercato.orders.hooks import OrderMoneyEvent
from mercato.orders.models import Order
from tests.orders.conftest import checkout, key, pay
from tests.orders.test_lifecycle_api import shift

Seen = list[tuple[str, int, int, int | None, int | None, bool]]


@pytest.fixture
def seen() -> Iterator[Seen]:
    """Every event as (kind, order id, amount, refund id, refunded before, the step's own
    posting visible to the handler)."""
    events: Seen = []

    async def record(db: AsyncSession, event: OrderMoneyEvent) -> None:
        kind, reference = {"paid": ("order_payment", f"order:{event.order_id}"),
                           "refunded": ("refund", f"refund:{event.refund_id}"),
                           "settled": ("settlement", f"order:{event.order_id}")}[event.kind]
        posted = await ledger.find_transaction(db, kind, reference) is not None
        events.append((event.kind, event.order_id, event.amount, event.refund_id, event.refunded_before, posted))

    hooks.register_order_money(record)
    try:
        yield events
    finally:
        hooks.unregister_order_money(record)


@pytest.fixture
def refusing() -> Iterator[set[str]]:
    """A handler that refuses the kinds put in the set (409), as a domain above would."""
    kinds: set[str] = set()

    async def refuse(db: AsyncSession, event: OrderMoneyEvent) -> None:
        if event.kind in kinds:
            raise Conflict("Refused by a handler.", code="refused_by_test")

    hooks.register_order_money(refuse)
    try:
        yield kinds
    finally:
        hooks.unregister_order_money(refuse)


def order_row(db_run: Any, order_id: int) -> tuple[str, int]:
    async def read(session: AsyncSession) -> tuple[str, int]:
        order = await session.get(Order, order_id)
        assert order is not None
        return order.status, order.refunded

    result: tuple[str, int] = db_run(read)
    return result


def transactions(db_run: Any) -> int:
    result: int = db_run(lambda s: ledger.counts(s))["transactions"]
    return result


def test_paid_refunded_and_settled_fire_once_each_after_the_posting(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any, seen: Seen,
) -> None:
    item = stocked(price=2000, stock=5)
    shopper = buyer()
    created = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": 2}]).json()
    assert seen == []
    paid_key = key()
    assert pay(api, shopper, created["id"], headers=paid_key).status_code == 200
    assert pay(api, shopper, created["id"], headers=paid_key).status_code == 200  # a replay: no second event
    order = created["orders"][0]
    oid, total = order["id"], order["total"]
    assert seen == [("paid", oid, total, None, 0, True)]

    seller = item["shop"]["owner"]
    first = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                     json={"amount": 500, "reason": "dent"}).json()
    second = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                      json={"amount": 300, "reason": "scratch"}).json()
    assert seen[1:] == [("refunded", oid, 500, first["id"], 0, True), ("refunded", oid, 300, second["id"], 500, True)]

    assert api.post(f"/api/v1/seller/orders/{oid}/ship", headers=seller["headers"],
                    json={"carrier": "UPS", "tracking_number": "1Z1"}).status_code == 200
    assert api.post(f"/api/v1/seller/orders/{oid}/deliver", headers=seller["headers"]).status_code == 200
    shift(db_run, oid, delivered_at=timedelta(days=get_settings().settlement_days + 1))

    def settle() -> int:
        result: int = db_run(lambda s: lifecycle.settle_due(s, get_settings()))
        return result

    assert settle() == 1
    assert settle() == 0
    assert seen[3:] == [("settled", oid, total, None, 0, True)]
    assert len(seen) == 4


def test_a_handler_that_refuses_rolls_the_payment_and_the_refund_back(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
    db_run: Any, refusing: set[str],
) -> None:
    item = stocked(price=2000, stock=5)
    shopper = buyer()
    created = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": 1}]).json()
    oid = created["orders"][0]["id"]
    refusing.add("paid")
    refused = pay(api, shopper, created["id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "refused_by_test")
    assert order_row(db_run, oid) == ("awaiting_payment", 0)
    assert transactions(db_run) == 0

    refusing.clear()
    assert pay(api, shopper, created["id"]).status_code == 200
    posted = transactions(db_run)
    refusing.add("refunded")
    seller = item["shop"]["owner"]
    no_refund = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                         json={"amount": 500, "reason": "dent"})
    assert (no_refund.status_code, no_refund.json()["error"]["code"]) == (409, "refused_by_test")
    assert order_row(db_run, oid) == ("paid", 0)
    assert transactions(db_run) == posted
