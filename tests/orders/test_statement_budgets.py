"""Statement budgets of the buying loop (tests/budgets.py): cart add, checkout, pay — each
measured on a warm server (a first buyer went through the loop before), as the benchmark runs
them: add one item, check the cart out with an address and an ``Idempotency-Key``, pay with a
card that succeeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.budgets import assert_budget, measure
from tests.orders.conftest import ADDRESS, add, card, key

#: database → (statements, transactions) of each request. Analytics (kit/events.py) adds to each
#: its event's insert and queueing for the fold (one statement on PostgreSQL, two on SQLite;
#: analytics/repository.py); to the cart add and the pay, the look-up of the
#: product-card click that led to it (attribution); to the pay, the order's lines and the
#: buyer's age band. Affiliate attribution adds to the pay one probe for the buyer's touchpoints
#: (an order bought outside a LIVE by a buyer with none stores no decision).
CART_ADD = {"sqlite": (9, 1), "postgresql": (8, 1)}
# PostgreSQL: one more statement, the idempotency key's advisory lock (kit/idempotency.py).
CHECKOUT = {"sqlite": (16, 1), "postgresql": (16, 1)}
# PostgreSQL: the sandbox provider records its charge in a transaction of its own (payments/sandbox.py).
PAY = {"sqlite": (37, 1), "postgresql": (37, 2)}


def _buy(api: httpx.Client, who: dict[str, Any], variant_id: int) -> tuple[Any, ...]:
    added, cart_add = measure(lambda: add(api, who, variant_id))
    assert added.status_code == 201, added.text
    made, checkout = measure(lambda: api.post("/api/v1/checkouts", headers={**who["headers"], **key()},
                                              json={"address": ADDRESS}))
    assert made.status_code == 201, made.text
    paid, pay = measure(lambda: api.post(f"/api/v1/checkouts/{made.json()['id']}/pay",
                                         headers={**who["headers"], **key()}, json=card()))
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    return cart_add, checkout, pay


def test_the_buying_loop_keeps_its_statement_budgets(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                                     buyer: Callable[..., dict[str, Any]]) -> None:
    item = stocked(stock=100)
    _buy(api, buyer(), item["variant_id"])  # warms the server's caches
    cart_add, checkout, pay = _buy(api, buyer(), item["variant_id"])
    assert_budget("POST /api/v1/cart/items", cart_add, CART_ADD)
    assert_budget("POST /api/v1/checkouts", checkout, CHECKOUT)
    assert_budget("POST /api/v1/checkouts/{id}/pay", pay, PAY)
