"""Store webhooks over real HTTP: each platform's signature verified over the exact bytes, stale
timestamps refused, deliveries deduplicated and applied once, an older state arriving late never
applied, and nothing written for a refused delivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Product, Variant
from mercato.config import Settings
from mercato.connections import signatures as sig
from mercato.connections.models import WebhookDelivery
from tests.connections.conftest import WIX_PUBLIC_KEY, FakeStore, load, raw, sign_wix_jwt
from tests.connections.test_sync import SquareCatalog, connect, pull, shop_products

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Any]], Any]
SECRET = "shpss_test_secret_41a"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shopify_product(title: str, updated_at: str, stock: int = 5) -> dict[str, Any]:
    product = load("shopify/products.json")[0]
    product.update(title=title, updated_at=updated_at)
    product["variants"][0]["inventory_quantity"] = stock
    return product


def post_shopify(api: httpx.Client, conn: dict[str, Any], topic: str, body: bytes, delivery_id: str, *,
                 triggered_at: datetime | None = None, secret: str = SECRET) -> httpx.Response:
    return api.post(f"/api/v1/webhooks/stores/shopify/{conn['id']}", content=body, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": delivery_id,
        "X-Shopify-Triggered-At": iso(triggered_at or datetime.now(UTC)),
        "X-Shopify-Hmac-Sha256": sig.hmac_sha256_b64(secret, body)})


def deliveries(db_run: DbRun) -> list[tuple[str, str, str]]:
    async def read(session: AsyncSession) -> list[tuple[str, str, str]]:
        rows = (await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))).scalars()
        return [(r.delivery_id, r.topic, r.outcome) for r in rows]

    result: list[tuple[str, str, str]] = db_run(read)
    return result


def catalog_state(db_run: DbRun) -> tuple[int, int, list[tuple[str, str]], list[int]]:
    async def read(session: AsyncSession) -> tuple[int, int, list[tuple[str, str]], list[int]]:
        products = list((await session.execute(select(Product).order_by(Product.id))).scalars())
        stocks = list((await session.execute(select(Variant.stock).order_by(Variant.id))).scalars())
        count = (await session.execute(select(func.count()).select_from(WebhookDelivery))).scalar_one()
        return len(products), int(count), [(p.title, p.status) for p in products], stocks

    result: tuple[int, int, list[tuple[str, str]], list[int]] = db_run(read)
    return result


def test_shopify_update_applied_once_though_delivered_three_times_and_out_of_order(
        api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    older = json.dumps(shopify_product("iPod Nano (first)", "2026-12-06T09:00:00-00:00", stock=8)).encode()
    newer = json.dumps(shopify_product("iPod Nano (second)", "2026-12-06T09:05:00-00:00", stock=3)).encode()
    outcomes = []
    for body, delivery_id in ((newer, "wh-2"), (older, "wh-1"), (newer, "wh-2"), (older, "wh-1"), (newer, "wh-2")):
        response = post_shopify(api, conn, "products/update", body, delivery_id)
        assert response.status_code == 200, response.text
        outcomes.append(response.json()["outcome"])
    assert outcomes == ["applied", "stale", "duplicate", "duplicate", "duplicate"]
    assert deliveries(db_run) == [("wh-2", "products/update", "applied"), ("wh-1", "products/update", "stale")]
    products = shop_products(db_run, shop)
    assert list(products) == ["iPod Nano (second)"]
    assert products["iPod Nano (second)"]["total_stock"] == 3  # the newer state's count, not the older one's
    history = api.get(f"/api/v1/shops/{shop['slug']}/connections/{conn['id']}/history",
                      headers=shop["owner"]["headers"]).json()
    assert [(w["delivery_id"], w["outcome"], w["object_id"]) for w in history["webhooks"]] == [
        ("wh-1", "stale", "1"), ("wh-2", "applied", "1")]


def test_bad_signature_is_refused_and_nothing_changes(api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    body = json.dumps(shopify_product("Forged", "2026-12-06T09:00:00Z")).encode()
    before = catalog_state(db_run)
    for response in (post_shopify(api, conn, "products/create", body, "wh-9", secret="not-the-secret"),
                     api.post(f"/api/v1/webhooks/stores/shopify/{conn['id']}", content=body, headers={
                         "X-Shopify-Topic": "products/create", "X-Shopify-Webhook-Id": "wh-9",
                         "X-Shopify-Triggered-At": iso(datetime.now(UTC))})):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "webhook_signature_invalid"
    assert catalog_state(db_run) == before == (0, 0, [], [])
    # Signed for a body, sent with another: refused too.
    signed = sig.hmac_sha256_b64(SECRET, body)
    tampered = api.post(f"/api/v1/webhooks/stores/shopify/{conn['id']}", content=body.replace(b"Forged", b"Forgee"),
                        headers={"X-Shopify-Topic": "products/create", "X-Shopify-Webhook-Id": "wh-9",
                                 "X-Shopify-Triggered-At": iso(datetime.now(UTC)), "X-Shopify-Hmac-Sha256": signed})
    assert tampered.status_code == 401 and catalog_state(db_run) == before


def test_stale_timestamp_is_refused_and_nothing_changes(api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    body = json.dumps(shopify_product("Replayed", "2026-12-06T09:00:00Z")).encode()
    for moment in (datetime.now(UTC) - timedelta(minutes=6), datetime.now(UTC) + timedelta(minutes=6)):
        response = post_shopify(api, conn, "products/create", body, "wh-old", triggered_at=moment)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "webhook_timestamp_invalid"
    assert catalog_state(db_run) == (0, 0, [], [])
    # The same delivery, fresh, is accepted: only the timestamp was wrong.
    assert post_shopify(api, conn, "products/create", body, "wh-old").json()["outcome"] == "applied"


def test_unknown_connection_or_platform_is_404(api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    body = b"{}"
    for url in (f"/api/v1/webhooks/stores/shopify/{conn['id'] + 1}", f"/api/v1/webhooks/stores/ecwid/{conn['id']}"):
        response = api.post(url, content=body, headers={"X-Shopify-Hmac-Sha256": sig.hmac_sha256_b64(SECRET, body)})
        assert response.status_code == 404 and response.json()["error"]["code"] == "connection_not_found"
    assert catalog_state(db_run) == (0, 0, [], [])


def square_event(counts: list[tuple[str, str, datetime]], event_id: str) -> bytes:
    """The docs' ``inventory.count.updated`` example with fresh times and our variations."""
    event = load("square/webhook_inventory_count_updated.json")
    event["event_id"] = event_id
    event["created_at"] = iso(datetime.now(UTC))
    template = event["data"]["object"]["inventory_counts"][0]
    event["data"]["object"]["inventory_counts"] = [
        {**template, "catalog_object_id": variation, "location_id": "L1", "quantity": quantity,
         "calculated_at": iso(moment)} for variation, quantity, moment in counts]
    return json.dumps(event, indent=2).encode()


def post_square(api: httpx.Client, conn: dict[str, Any], body: bytes, settings: Settings,
                key: str = "sq-signature-key-7c1e") -> httpx.Response:
    url = f"{settings.public_base_url.rstrip('/')}/api/v1/webhooks/stores/square/{conn['id']}"
    return api.post(f"/api/v1/webhooks/stores/square/{conn['id']}", content=body, headers={
        "Content-Type": "application/json",
        "x-square-hmacsha256-signature": sig.hmac_sha256_b64(key, url.encode() + body)})


def test_square_inventory_counts_apply_in_time_order(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, clean_db: str, db_run: DbRun,
        settings: Settings) -> None:
    shop = make_shop()
    SquareCatalog(fake_store)
    conn = connect(api, shop)
    pull(clean_db, conn["id"])
    assert shop_products(db_run, shop)["Tea - Black"]["total_stock"] == 83  # 79 + 4
    now = datetime.now(UTC)
    later = square_event([("5GSZPX6EU7MM75S57OONG3V5", "10", now)], "evt-later")
    earlier = square_event([("5GSZPX6EU7MM75S57OONG3V5", "50", now - timedelta(seconds=30))], "evt-earlier")
    assert [post_square(api, conn, body, settings).json()["outcome"] for body in (later, earlier, later)] == [
        "applied", "stale", "duplicate"]
    assert shop_products(db_run, shop)["Tea - Black"]["total_stock"] == 14  # 10 + 4
    # The docs' own example body: correctly signed, but sent in 2019: refused, nothing recorded.
    example = raw("square/webhook_inventory_count_updated.json")
    response = post_square(api, conn, example, settings)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "webhook_timestamp_invalid")
    assert post_square(api, conn, later.replace(b"evt-later", b"evt-x"), settings, key="wrong").status_code == 401
    assert [d[0] for d in deliveries(db_run)] == ["evt-later", "evt-earlier"]


def test_square_catalog_version_updated_reads_the_catalog_again(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, clean_db: str, db_run: DbRun,
        settings: Settings) -> None:
    shop = make_shop()
    catalog = SquareCatalog(fake_store)
    conn = connect(api, shop)
    pull(clean_db, conn["id"])
    catalog.objects[1]["item_data"]["name"] = "Tea - Green (organic)"
    catalog.objects[1]["version"] += 1
    event = load("square/webhook_catalog_version_updated.json")
    event["created_at"] = iso(datetime.now(UTC))
    response = post_square(api, conn, json.dumps(event).encode(), settings)
    assert response.json() == {"outcome": "applied"}
    assert sorted(shop_products(db_run, shop)) == ["Tea - Black", "Tea - Green (organic)"]


def ecwid_event(kind: str, entity_id: int, event_id: str) -> tuple[bytes, str]:
    event = load(f"ecwid/webhook_product_{kind}_doc.jsonc")
    event.update(entityId=entity_id, eventId=event_id, eventCreated=int(datetime.now(UTC).timestamp()))
    return json.dumps(event).encode(), sig.ecwid_signature("ecwid-secret", event["eventCreated"], event_id)


def test_ecwid_product_webhooks_read_the_product_back(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, db_run: DbRun) -> None:
    shop = make_shop()
    conn = connect(api, shop, "ecwid", "1003", "ecwid-secret")
    item = load("ecwid/products_search_response.json")["items"][1]
    item.update(quantity=6, unlimited=False, updateTimestamp=1765000000)
    fake_store.on("GET", f"/api/v3/1003/products/{item['id']}", lambda r: httpx.Response(200, json=item))
    url = f"/api/v1/webhooks/stores/ecwid/{conn['id']}"
    body, signature = ecwid_event("updated", item["id"], "2d5b2a1e-0c0b-4e58-9b1a-1f0c9d1e2a01")
    for _ in range(3):
        response = api.post(url, content=body, headers={"X-Ecwid-Webhook-Signature": signature})
        assert response.status_code == 200
    assert deliveries(db_run) == [("2d5b2a1e-0c0b-4e58-9b1a-1f0c9d1e2a01", "product.updated", "applied")]
    assert len(fake_store.calls("GET", f"/api/v3/1003/products/{item['id']}")) == 1
    assert shop_products(db_run, shop)[item["name"]]["total_stock"] == 6
    bad = api.post(url, content=body.replace(b"2d5b", b"3d5b"), headers={"X-Ecwid-Webhook-Signature": signature})
    assert bad.status_code == 401
    deleted, deleted_signature = ecwid_event("deleted", item["id"], "9e6b4c2d-1a2b-4c3d-8e9f-123456789012")
    assert api.post(url, content=deleted, headers={"X-Ecwid-Webhook-Signature": deleted_signature}).json() == {
        "outcome": "applied"}
    assert shop_products(db_run, shop)[item["name"]]["status"] == "archived"


def wix_token(event_type: str, entity_id: str, event_id: str, sent: datetime) -> str:
    inner = {"id": event_id, "entityFqdn": "wix.stores.catalog.v1.product", "slug": "updated",
             "entityId": entity_id, "eventTime": iso(sent)}
    envelope = {"eventType": event_type, "instanceId": "inst-1", "data": json.dumps(inner)}
    return sign_wix_jwt({"data": json.dumps(envelope), "iat": int(sent.timestamp())})


def test_wix_jwt_webhook_verified_with_the_app_public_key(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, db_run: DbRun) -> None:
    shop = make_shop(currency="EUR")
    conn = connect(api, shop, "wix", "site-1", WIX_PUBLIC_KEY)
    item = load("wix/catalog_v1_query_products.json")[0]
    fake_store.on("GET", f"/stores/v1/products/{item['_id']}", lambda r: httpx.Response(200, json={"product": item}))
    url = f"/api/v1/webhooks/stores/wix/{conn['id']}"
    token = wix_token("wix.stores.v1.product_updated", item["_id"], "evt-wix-1", datetime.now(UTC))
    assert [api.post(url, content=token, headers={"Content-Type": "text/plain"}).json()["outcome"]
            for _ in range(3)] == ["applied", "duplicate", "duplicate"]
    assert shop_products(db_run, shop)[item["name"]]["total_stock"] == 24
    header, _payload, signature = token.split(".")
    other = wix_token("wix.stores.v1.product_updated", "another", "evt-wix-2", datetime.now(UTC)).split(".")[1]
    forged = api.post(url, content=f"{header}.{other}.{signature}")
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "webhook_signature_invalid")
    old = wix_token("wix.stores.v1.product_updated", item["_id"], "evt-wix-3", datetime.now(UTC) - timedelta(hours=1))
    assert api.post(url, content=old).status_code == 401
    assert [d[0] for d in deliveries(db_run)] == ["evt-wix-1"]


def test_shopify_inventory_level_and_delete_webhooks(api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    product = shopify_product("iPod Nano", iso(datetime.now(UTC) - timedelta(hours=1)), stock=5)
    product["variants"][0]["inventory_item_id"] = 39072856
    assert post_shopify(api, conn, "products/create", json.dumps(product).encode(), "c-1").json() == {
        "outcome": "applied"}
    now = datetime.now(UTC)
    level = {"inventory_item_id": 39072856, "location_id": 655441491, "available": 2, "updated_at": iso(now)}
    older = {**level, "available": 9, "updated_at": iso(now - timedelta(seconds=5))}
    unknown = {**level, "inventory_item_id": 1}
    assert [post_shopify(api, conn, "inventory_levels/update", json.dumps(body).encode(), delivery).json()["outcome"]
            for body, delivery in ((level, "i-1"), (older, "i-2"), (unknown, "i-3"))] == [
        "applied", "stale", "ignored"]
    assert shop_products(db_run, shop)["iPod Nano"]["total_stock"] == 2
    gone = post_shopify(api, conn, "products/delete", json.dumps({"id": product["id"]}).encode(), "d-1")
    assert gone.json() == {"outcome": "applied"}
    assert shop_products(db_run, shop)["iPod Nano"]["status"] == "archived"
    assert post_shopify(api, conn, "orders/create", b"{}", "o-1").json() == {"outcome": "ignored"}


def test_a_product_the_catalog_refuses_is_recorded_failed_and_nothing_is_written(
        api: httpx.Client, make_shop: Maker, make_product: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    make_product(shop, title="Own Pink iPod", variants=[{"sku": "IPOD2008PINK", "price": 100, "stock": 1}])
    conn = connect(api, shop, "shopify", "demo.myshopify.com", SECRET)
    body = json.dumps(shopify_product("Store iPod", iso(datetime.now(UTC) - timedelta(hours=1)))).encode()
    response = post_shopify(api, conn, "products/create", body, "clash-1")
    assert response.status_code == 200 and response.json() == {"outcome": "failed"}
    assert deliveries(db_run) == [("clash-1", "products/create", "failed")]
    assert list(shop_products(db_run, shop)) == ["Own Pink iPod"]
    history = api.get(f"/api/v1/shops/{shop['slug']}/connections/{conn['id']}/history",
                      headers=shop["owner"]["headers"]).json()
    assert history["webhooks"][0]["detail"] == "SKU 'IPOD2008PINK' belongs to another product of this shop."


def test_an_unreadable_ecwid_body_cannot_be_verified_and_is_refused(
        api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    conn = connect(api, shop, "ecwid", "1003", "ecwid-secret")
    for body in (b"\xf3\x81not json", b"[1, 2]"):
        response = api.post(f"/api/v1/webhooks/stores/ecwid/{conn['id']}", content=body,
                            headers={"Content-Type": "text/plain", "X-Ecwid-Webhook-Signature": "x"})
        assert (response.status_code, response.json()["error"]["code"]) == (401, "webhook_signature_invalid")
    assert deliveries(db_run) == []
