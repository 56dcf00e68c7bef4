"""Orders for connected products are pushed to the seller's store with an idempotency key, retried
with back-off when the store fails, their outcome shown on the Seller Center order page; the
store's fulfilment comes back and marks the Mercato order shipped with its tracking."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.connections import repository as repo
from mercato.connections import service
from tests.connections.conftest import FakeStore, load
from tests.connections.test_sync import SquareCatalog, connect, pull
from tests.connections.test_webhooks import SECRET, iso, post_shopify, post_square
from tests.orders.conftest import ADDRESS, checkout, pay

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Any]], Any]


def buy(api: httpx.Client, make_user: Maker, variant_id: int, quantity: int = 2) -> dict[str, Any]:
    shopper = make_user()
    assert api.post("/api/v1/me/addresses", headers=shopper["headers"],
                    json={**ADDRESS, "is_default": True}).status_code == 201
    created = checkout(api, shopper, items=[{"variant_id": variant_id, "quantity": quantity}])
    assert created.status_code == 201, created.text
    paid = pay(api, shopper, created.json()["id"])
    assert paid.status_code == 200, paid.text
    order: dict[str, Any] = paid.json()["orders"][0]
    return order


def linked_variant(db_run: DbRun, connection_id: int, external_variant_id: str) -> int:
    async def read(session: AsyncSession) -> int:
        [link] = await repo.links_of_variant(session, connection_id, external_variant_id)
        return link.variant_id

    result: int = db_run(read)
    return result


def push_at(db_run: DbRun, moment: datetime) -> int:
    async def run(session: AsyncSession) -> int:
        return await service.push_due(session, moment)

    result: int = db_run(run)
    return result


def push_rows(db_run: DbRun, order_id: int) -> list[dict[str, Any]]:
    async def read(session: AsyncSession) -> list[dict[str, Any]]:
        return [{"status": p.status, "attempts": p.attempts, "key": p.idempotency_key,
                 "external": p.external_order_id, "next": p.next_attempt_at, "error": p.last_error}
                for p, _ in await service.pushes_of_order(session, order_id)]

    result: list[dict[str, Any]] = db_run(read)
    return result


def test_square_push_retried_with_back_off_then_shown_on_the_order_page_and_shipped_back(
        api: httpx.Client, make_shop: Maker, make_user: Maker, fake_store: FakeStore, clean_db: str,
        db_run: DbRun, settings: Settings) -> None:
    shop = make_shop()
    SquareCatalog(fake_store)
    conn = connect(api, shop)
    pull(clean_db, conn["id"])
    order = buy(api, make_user, linked_variant(db_run, conn["id"], "XVLBN7DU6JTWHJTG5F265B43"))
    fake_store.fail[("POST", "/v2/orders")] = 1
    fake_store.on("POST", "/v2/orders", lambda r: httpx.Response(200, json={"order": {
        "id": "CAISENgvlJ6jLWAzERDzjyHVybY", "location_id": "L1", "state": "OPEN"}}))
    start = datetime.now(UTC)

    assert push_at(db_run, start) == 2  # recorded, then attempted
    key = f"mercato-order-{order['id']}-c{conn['id']}"
    [first] = push_rows(db_run, order["id"])
    assert (first["status"], first["attempts"], first["key"], first["external"]) == ("pending", 1, key, None)
    assert first["next"] == start + timedelta(seconds=30)
    assert "503" in first["error"] or "500" in first["error"]

    assert push_at(db_run, start + timedelta(seconds=29)) == 0  # not due yet: nothing sent
    assert len(fake_store.calls("POST", "/v2/orders")) == 1

    assert push_at(db_run, start + timedelta(seconds=30)) == 1
    [done] = push_rows(db_run, order["id"])
    assert (done["status"], done["attempts"], done["external"], done["next"]) == (
        "pushed", 2, "CAISENgvlJ6jLWAzERDzjyHVybY", None)
    sent = [json.loads(r.content) for r in fake_store.calls("POST", "/v2/orders")]
    assert [s["idempotency_key"] for s in sent] == [key, key]  # the same key on the retry
    assert sent[1]["order"]["line_items"] == [{"catalog_object_id": "XVLBN7DU6JTWHJTG5F265B43", "quantity": "2",
                                               "base_price_money": {"amount": 225, "currency": "USD"}}]
    assert sent[1]["order"]["reference_id"] == order["number"]
    assert push_at(db_run, start + timedelta(hours=1)) == 0  # pushed once, never again

    page = api.get(f"/seller/{shop['slug']}/orders/{order['id']}", headers=shop["owner"]["headers"])
    assert page.status_code == 200
    panel = page.text[page.text.index("Sent to Square"):]
    for text in ("pushed (accepted by the store)", "<dd>2</dd>", key, "CAISENgvlJ6jLWAzERDzjyHVybY"):
        assert text in panel, text

    # The store ships it: Square says the fulfilment changed; its tracking is read from the order.
    fake_store.on("GET", "/v2/orders/CAISENgvlJ6jLWAzERDzjyHVybY", lambda r: httpx.Response(200, json={"order": {
        "id": "CAISENgvlJ6jLWAzERDzjyHVybY", "fulfillments": [{"type": "SHIPMENT", "state": "COMPLETED",
                                                               "shipment_details": {"carrier": "USPS",
                                                                                    "tracking_number": "9400111"}}]}}))
    event = {"merchant_id": "6SSW7HV8K2ST5", "type": "order.fulfillment.updated", "event_id": "evt-ful-1",
             "created_at": iso(datetime.now(UTC)), "data": {"type": "order_fulfillment_updated",
                                                            "id": "CAISENgvlJ6jLWAzERDzjyHVybY", "object": {
                 "order_fulfillment_updated": {"order_id": "CAISENgvlJ6jLWAzERDzjyHVybY", "state": "OPEN",
                                               "fulfillment_update": [{"old_state": "PROPOSED",
                                                                       "new_state": "COMPLETED"}]}}}}
    body = json.dumps(event).encode()
    assert [post_square(api, conn, body, settings).json()["outcome"] for _ in range(2)] == ["applied", "duplicate"]
    shipped = api.get(f"/api/v1/seller/orders/{order['id']}", headers=shop["owner"]["headers"]).json()
    assert (shipped["status"], shipped["carrier"], shipped["tracking_number"]) == ("shipped", "USPS", "9400111")


def test_shopify_push_sends_the_idempotency_key_and_gives_up_after_the_last_attempt(
        api: httpx.Client, make_shop: Maker, make_user: Maker, fake_store: FakeStore, clean_db: str,
        db_run: DbRun) -> None:
    shop = make_shop()
    product = load("shopify/products.json")[0]
    fake_store.on("GET", "/admin/api/2024-07/products.json", lambda r: httpx.Response(200, json={
        "products": [product]}))
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    pull(clean_db, conn["id"])
    order = buy(api, make_user, linked_variant(db_run, conn["id"], "808950810"), quantity=1)
    fake_store.fail[("POST", "/admin/api/2024-07/orders.json")] = service.PUSH_MAX_ATTEMPTS
    moment = datetime.now(UTC)
    delays = []
    for _ in range(service.PUSH_MAX_ATTEMPTS):
        push_at(db_run, moment)
        [row] = push_rows(db_run, order["id"])
        if row["next"] is not None:
            delays.append(int((row["next"] - moment).total_seconds()))
            moment = row["next"]
    assert delays == [30, 60, 120, 240, 480, 960, 1920]
    [row] = push_rows(db_run, order["id"])
    assert (row["status"], row["attempts"], row["next"]) == ("failed", service.PUSH_MAX_ATTEMPTS, None)
    calls = fake_store.calls("POST", "/admin/api/2024-07/orders.json")
    assert len(calls) == service.PUSH_MAX_ATTEMPTS
    key = f"mercato-order-{order['id']}-c{conn['id']}"
    assert {c.headers["Idempotency-Key"] for c in calls} == {key}
    sent = json.loads(calls[0].content)["order"]
    assert sent["line_items"] == [{"variant_id": 808950810, "quantity": 1, "price": "199.00"}]
    page = api.get(f"/seller/{shop['slug']}/orders/{order['id']}", headers=shop["owner"]["headers"]).text
    assert "Sent to Shopify" in page and "failed (gave up)" in page


def test_shopify_fulfilment_webhook_marks_the_pushed_order_shipped(
        api: httpx.Client, make_shop: Maker, make_user: Maker, fake_store: FakeStore, clean_db: str,
        db_run: DbRun) -> None:
    shop = make_shop()
    fake_store.on("GET", "/admin/api/2024-07/products.json", lambda r: httpx.Response(200, json={
        "products": [load("shopify/products.json")[0]]}))
    fake_store.on("POST", "/admin/api/2024-07/orders.json", lambda r: httpx.Response(201, json={"order": {
        "id": 450789469, "name": "#1001"}}))
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    pull(clean_db, conn["id"])
    order = buy(api, make_user, linked_variant(db_run, conn["id"], "808950810"), quantity=1)
    push_at(db_run, datetime.now(UTC))
    assert push_rows(db_run, order["id"])[0]["external"] == "450789469"
    no_tracking = json.dumps({"id": 1, "order_id": 450789469, "status": "pending"}).encode()
    assert post_shopify(api, conn, "fulfillments/create", no_tracking, "f-0").json() == {"outcome": "ignored"}
    body = json.dumps({"id": 255858046, "order_id": 450789469, "status": "success", "tracking_company": "UPS",
                       "tracking_number": "1Z2345", "tracking_numbers": ["1Z2345"]}).encode()
    assert post_shopify(api, conn, "fulfillments/create", body, "f-1").json() == {"outcome": "applied"}
    assert post_shopify(api, conn, "fulfillments/update", body, "f-2").json() == {"outcome": "ignored"}
    shipped = api.get(f"/api/v1/seller/orders/{order['id']}", headers=shop["owner"]["headers"]).json()
    assert (shipped["status"], shipped["carrier"], shipped["tracking_number"]) == ("shipped", "UPS", "1Z2345")


def test_orders_without_connected_products_are_not_pushed(
        api: httpx.Client, make_shop: Maker, make_user: Maker, make_product: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    connect(api, shop)
    product = make_product(shop, variants=[{"sku": None, "price": 500, "stock": 3}])
    order = buy(api, make_user, product["variants"][0]["id"], quantity=1)
    assert push_at(db_run, datetime.now(UTC)) == 0
    assert push_rows(db_run, order["id"]) == []
    page = api.get(f"/seller/{shop['slug']}/orders/{order['id']}", headers=shop["owner"]["headers"]).text
    assert "Sent to" not in page
