from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import get_settings
from mercato.ledger import service as ledger
from mercato.orders import lifecycle, refunds
from mercato.orders.models import Order, ReturnRequest
from tests.orders.conftest import checkout, key, pay
from tests.orders.test_checkout_api import trial_balance, variant_counts


@pytest.fixture
def paid_order(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
               buyer: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def create(price: int = 2000, quantity: int = 2, stock: int = 10) -> dict[str, Any]:
        item = stocked(price=price, stock=stock)
        shopper = buyer()
        created = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": quantity}]).json()
        paid = pay(api, shopper, created["id"])
        assert paid.status_code == 200, paid.text
        order = paid.json()["orders"][0]
        return {"item": item, "buyer": shopper, "seller": item["shop"]["owner"], "order": order}

    return create


def shift(db_run: Any, order_id: int, **deltas: timedelta) -> None:
    async def move(session: AsyncSession) -> None:
        order = await session.get(Order, order_id)
        assert order is not None
        await session.execute(update(Order).where(Order.id == order_id).values(
            **{name: getattr(order, name) - delta for name, delta in deltas.items()}))

    db_run(move)


def test_ship_deliver_review(api: httpx.Client, paid_order: Callable[..., dict[str, Any]], db_run: Any) -> None:
    ctx = paid_order()
    oid, seller, shopper = ctx["order"]["id"], ctx["seller"], ctx["buyer"]
    line = ctx["order"]["lines"][0]
    early = api.post(f"/api/v1/orders/{oid}/lines/{line['id']}/review", headers=shopper["headers"],
                     json={"rating": 5})
    assert early.status_code == 409
    assert api.post(f"/api/v1/seller/orders/{oid}/ship", headers=shopper["headers"],
                    json={"carrier": "UPS", "tracking_number": "1Z999"}).status_code == 404
    assert api.post(f"/api/v1/seller/orders/{oid}/deliver", headers=seller["headers"]).status_code == 409
    shipped = api.post(f"/api/v1/seller/orders/{oid}/ship", headers=seller["headers"],
                       json={"carrier": "UPS", "tracking_number": "1Z999"})
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    assert variant_counts(db_run, ctx["item"]["variant_id"]) == (8, 0, 0)
    delivered = api.post(f"/api/v1/seller/orders/{oid}/deliver", headers=seller["headers"])
    assert delivered.json()["status"] == "delivered"
    assert [h["status"] for h in delivered.json()["history"]] == ["awaiting_payment", "paid", "shipped", "delivered"]
    for rating in (0, 6):
        assert api.post(f"/api/v1/orders/{oid}/lines/{line['id']}/review", headers=shopper["headers"],
                        json={"rating": rating}).status_code == 422
    posted = api.post(f"/api/v1/orders/{oid}/lines/{line['id']}/review", headers=shopper["headers"],
                      json={"rating": 4, "text": "<b>Nice</b>"})
    assert posted.status_code == 201
    again = api.post(f"/api/v1/orders/{oid}/lines/{line['id']}/review", headers=shopper["headers"], json={"rating": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reviewed"
    product = api.get(f"/api/v1/products/{ctx['item']['product']['id']}").json()
    assert (product["rating"], product["rating_count"]) == (4.0, 1)
    page = api.get(f"/products/{ctx['item']['product']['id']}").text
    assert "&lt;b&gt;Nice&lt;/b&gt;" in page


def test_buyer_cancel_window(api: httpx.Client, paid_order: Callable[..., dict[str, Any]], db_run: Any) -> None:
    first = paid_order()
    oid = first["order"]["id"]
    cancelled = api.post(f"/api/v1/orders/{oid}/cancel", headers={**first["buyer"]["headers"], **key()})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["refunded"] == cancelled.json()["total"]
    assert variant_counts(db_run, first["item"]["variant_id"]) == (10, 0, 0)
    late = paid_order()
    shift(db_run, late["order"]["id"], paid_at=timedelta(hours=2))
    refused = api.post(f"/api/v1/orders/{late['order']['id']}/cancel", headers={**late["buyer"]["headers"], **key()})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "cancel_window_passed"
    assert api.post(f"/api/v1/orders/{oid}/cancel", headers={**late["buyer"]["headers"], **key()}).status_code == 404
    assert trial_balance(db_run) == {"USD": 0}


def test_partial_and_full_refunds(api: httpx.Client, paid_order: Callable[..., dict[str, Any]], db_run: Any) -> None:
    ctx = paid_order(price=3333, quantity=3)
    oid, seller = ctx["order"]["id"], ctx["seller"]
    total = ctx["order"]["total"]
    headers = {**seller["headers"], **key()}
    first = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers=headers, json={"amount": 1001, "reason": "dent"})
    replay = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers=headers, json={"amount": 1001, "reason": "dent"})
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()
    too_much = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                        json={"amount": total})
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "refund_too_large"
    rest = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                    json={"amount": total - 1001})
    assert rest.status_code == 201
    order = api.get(f"/api/v1/seller/orders/{oid}", headers=seller["headers"]).json()
    assert order["refunded"] == total and order["status"] == "cancelled"
    assert trial_balance(db_run) == {"USD": 0}

    async def shop_money(session: AsyncSession) -> dict[str, Any]:
        return await ledger.shop_balances(session, ctx["item"]["shop"]["id"])

    balances = db_run(shop_money)
    assert balances["USD"]["pending"] == 0 and balances["USD"]["available"] == 0
    other = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**ctx["buyer"]["headers"], **key()},
                     json={"amount": 1})
    assert other.status_code == 404


def test_returns_approve_refuse_and_auto_approve(api: httpx.Client, paid_order: Callable[..., dict[str, Any]],
                                                 db_run: Any) -> None:
    ctx = paid_order(price=1500, quantity=2)
    oid, seller, shopper = ctx["order"]["id"], ctx["seller"], ctx["buyer"]
    line = ctx["order"]["lines"][0]
    assert api.post(f"/api/v1/orders/{oid}/returns", headers=shopper["headers"],
                    json={"reason": "too small", "lines": [{"line_id": line["id"], "quantity": 1}]}).status_code == 409
    api.post(f"/api/v1/seller/orders/{oid}/ship", headers=seller["headers"], json={"carrier": "DHL",
                                                                                 "tracking_number": "JD01"})
    api.post(f"/api/v1/seller/orders/{oid}/deliver", headers=seller["headers"])
    too_many = api.post(f"/api/v1/orders/{oid}/returns", headers=shopper["headers"],
                        json={"reason": "too small", "lines": [{"line_id": line["id"], "quantity": 3}]})
    assert too_many.status_code == 422
    requested = api.post(f"/api/v1/orders/{oid}/returns", headers=shopper["headers"],
                         json={"reason": "too small", "lines": [{"line_id": line["id"], "quantity": 1}]})
    assert requested.status_code == 201, requested.text
    rid = requested.json()["id"]
    assert requested.json()["amount"] == 1500
    assert api.post(f"/api/v1/returns/{rid}/approve", headers=shopper["headers"], json={}).status_code == 404
    refused = api.post(f"/api/v1/returns/{rid}/refuse", headers=seller["headers"], json={"note": "worn"})
    assert refused.json()["status"] == "refused"
    assert api.post(f"/api/v1/returns/{rid}/approve", headers=seller["headers"], json={}).status_code == 409
    second = api.post(f"/api/v1/orders/{oid}/returns", headers=shopper["headers"],
                      json={"reason": "changed my mind", "lines": [{"line_id": line["id"], "quantity": 2}]}).json()

    async def age_and_run(session: AsyncSession) -> int:
        await session.execute(update(ReturnRequest).where(ReturnRequest.id == second["id"])
                              .values(created_at=datetime.now(UTC) - timedelta(hours=49)))
        await session.flush()
        return await refunds.auto_approve_due(session, get_settings())

    assert db_run(age_and_run) == 1
    order = api.get(f"/api/v1/orders/{oid}", headers=shopper["headers"]).json()
    assert order["refunded"] == 3000
    assert [line["refunded_quantity"] for line in order["lines"]] == [2]
    assert variant_counts(db_run, ctx["item"]["variant_id"]) == (10, 0, 0)  # 2 shipped, 2 back
    assert trial_balance(db_run) == {"USD": 0}
    shift(db_run, oid, delivered_at=timedelta(days=31))
    late = api.post(f"/api/v1/orders/{oid}/returns", headers=shopper["headers"],
                    json={"reason": "late", "lines": [{"line_id": line["id"], "quantity": 1}]})
    assert late.status_code == 409


def test_settlement_then_clawback(api: httpx.Client, paid_order: Callable[..., dict[str, Any]], db_run: Any) -> None:
    ctx = paid_order(price=10000, quantity=1)
    oid, seller = ctx["order"]["id"], ctx["seller"]
    api.post(f"/api/v1/seller/orders/{oid}/ship", headers=seller["headers"], json={"carrier": "UPS",
                                                                                 "tracking_number": "1Z1"})
    api.post(f"/api/v1/seller/orders/{oid}/deliver", headers=seller["headers"])

    async def settle(session: AsyncSession) -> int:
        return await lifecycle.settle_due(session, get_settings())

    assert db_run(settle) == 0  # not yet 7 days
    shift(db_run, oid, delivered_at=timedelta(days=8))
    assert db_run(settle) == 1
    assert db_run(settle) == 0

    async def shop_money(session: AsyncSession) -> dict[str, Any]:
        return await ledger.shop_balances(session, ctx["item"]["shop"]["id"])

    settled = db_run(shop_money)["USD"]
    fee = 600  # 6 % of 100.00
    assert settled["pending"] == 0 and settled["available"] == 10000 - fee
    refund = api.post(f"/api/v1/seller/orders/{oid}/refunds", headers={**seller["headers"], **key()},
                      json={"amount": 10000})
    assert refund.status_code == 201
    after = db_run(shop_money)["USD"]
    assert after["available"] == 0
    assert trial_balance(db_run) == {"USD": 0}
