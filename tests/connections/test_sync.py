"""Pulling a store's catalog: paginated, resumed from the stored cursor after a failure mid-way,
stock owned by the store without ever overselling, and the reconciliation job catching what a
missed webhook did not bring."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import mercato.app  # noqa: F401  (its import registers every domain's jobs, as in the running app)
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Product
from mercato.config import Settings
from mercato.connections import repository as repo
from mercato.connections import service
from mercato.inventory import service as inventory
from mercato.kit import jobs
from mercato.kit.db import Database
from tests.conftest import run_async
from tests.connections.conftest import FakeStore, load

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Any]], Any]


def connect(api: httpx.Client, shop: dict[str, Any], platform: str = "square", store_ref: str = "L1",
            secret: str = "sq-signature-key-7c1e") -> dict[str, Any]:
    response = api.post(f"/api/v1/shops/{shop['slug']}/connections", headers=shop["owner"]["headers"], json={
        "platform": platform, "store_ref": store_ref, "access_token": "EAAAtoken-0123456789", "signing_secret": secret})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class SquareCatalog:
    """Square's SearchCatalogObjects, one item a page, the docs' example items; counts per variation."""

    def __init__(self, store: FakeStore) -> None:
        self.objects = load("square/api_search_catalog_objects_response.json")["objects"]
        self.counts: dict[str, str] = {"5GSZPX6EU7MM75S57OONG3V5": "79", "XVLBN7DU6JTWHJTG5F265B43": "4",
                                       "FHYBVIA6NVBCSOVETA62WEA4": "12"}
        self.fail_cursor: str | None = None
        store.on("POST", "/v2/catalog/search", self.search)
        store.on("POST", "/v2/inventory/counts/batch-retrieve", self.batch_counts)

    def search(self, request: httpx.Request) -> httpx.Response:
        cursor = json.loads(request.content).get("cursor")
        if cursor is not None and cursor == self.fail_cursor:
            self.fail_cursor = None
            return httpx.Response(503, json={"errors": [{"code": "SERVICE_UNAVAILABLE"}]})
        index = int(cursor[1:]) if cursor else 0
        body: dict[str, Any] = {"objects": self.objects[index:index + 1]}
        if index + 1 < len(self.objects):
            body["cursor"] = f"c{index + 1}"
        return httpx.Response(200, json=body)

    def batch_counts(self, request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["catalog_object_ids"]
        return httpx.Response(200, json={"counts": [
            {"catalog_object_id": i, "catalog_object_type": "ITEM_VARIATION", "location_id": "L1",
             "quantity": self.counts[i], "state": "IN_STOCK", "calculated_at": "2026-12-06T00:00:00Z"}
            for i in ids if i in self.counts]})


def pull(db_url: str, connection_id: int, kind: str = "pull") -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        db = Database(db_url, pool=False)
        try:
            async with db.unit_of_work() as session:
                conn = await repo.connection(session, connection_id)
                assert conn is not None
                run = await service.pull(session, conn, kind=kind)
                return {"outcome": run.outcome, "counts": dict(run.counts), "cursor": conn.cursor,
                        "status": conn.status, "detail": run.detail}
        finally:
            await db.dispose()

    return run_async(go())


def shop_products(db_run: DbRun, shop: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The shop's products as stored: title -> status, min price, total stock, source."""

    async def read(session: AsyncSession) -> dict[str, dict[str, Any]]:
        rows = (await session.execute(select(Product).where(Product.shop_id == shop["id"]))).scalars()
        return {p.title: {"status": p.status, "min_price": p.min_price, "total_stock": p.total_stock,
                          "source": p.source} for p in rows}

    result: dict[str, dict[str, Any]] = db_run(read)
    return result


def variant_counts(db_run: DbRun, product_title: str) -> list[tuple[str | None, int, int, int]]:
    async def read(session: AsyncSession) -> list[tuple[str | None, int, int, int]]:
        out = []
        for link in await repo.links_of_connection(session, (await _only_connection(session)).id):
            product = await catalog_repo.product(session, link.product_id)
            if product is not None and product.title == product_title:
                counts = await inventory.counters(session, link.variant_id)
                assert counts is not None
                out.append((link.external_variant_id, *counts))
        return sorted(out, key=lambda row: row[0] or "")

    result: list[tuple[str | None, int, int, int]] = db_run(read)
    return result


async def _only_connection(session: AsyncSession) -> Any:
    rows = await repo.syncable_connections(session, 10)
    assert len(rows) == 1
    return rows[0]


def test_pull_pages_through_the_catalog_and_resumes_after_a_failure(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, clean_db: str, db_run: DbRun) -> None:
    shop = make_shop()
    catalog = SquareCatalog(fake_store)
    catalog.fail_cursor = "c1"
    conn = connect(api, shop)

    first = pull(clean_db, conn["id"])
    assert (first["outcome"], first["cursor"], first["status"]) == ("partial", "c1", "error")
    assert first["counts"]["created"] == 1 and first["counts"]["pages"] == 1
    assert "stopped at page 2" in first["detail"]
    assert list(shop_products(db_run, shop)) == ["Tea - Black"]  # the page done is kept
    listed = api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=shop["owner"]["headers"]).json()
    assert listed[0]["resumes_from_cursor"] is True and listed[0]["status"] == "error"

    fake_store.requests.clear()
    second = pull(clean_db, conn["id"])
    assert (second["outcome"], second["cursor"], second["status"]) == ("done", None, "active")
    searched = [json.loads(r.content).get("cursor") for r in fake_store.calls("POST", "/v2/catalog/search")]
    assert searched == ["c1"]  # resumed: page 1 was not asked for again
    assert second["counts"]["created"] == 1
    assert sorted(shop_products(db_run, shop)) == ["Tea - Black", "Tea - Green"]
    assert [r.headers["Authorization"] for r in fake_store.requests][:1] == ["Bearer EAAAtoken-0123456789"]


def test_store_counts_set_stock_and_a_pull_twice_changes_nothing(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, clean_db: str, db_run: DbRun) -> None:
    shop = make_shop()
    SquareCatalog(fake_store)
    conn = connect(api, shop)
    assert pull(clean_db, conn["id"])["outcome"] == "done"
    assert variant_counts(db_run, "Tea - Black") == [("5GSZPX6EU7MM75S57OONG3V5", 79, 0, 0),
                                                     ("XVLBN7DU6JTWHJTG5F265B43", 4, 0, 0)]
    products = shop_products(db_run, shop)
    assert products["Tea - Black"]["total_stock"] == 83
    again = pull(clean_db, conn["id"])
    assert again["counts"]["unchanged"] == 2 and again["counts"]["created"] == again["counts"]["updated"] == 0
    assert shop_products(db_run, shop) == products


def test_a_store_count_below_what_buyers_hold_leaves_zero_available_never_negative(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, clean_db: str, db_run: DbRun) -> None:
    shop = make_shop()
    catalog = SquareCatalog(fake_store)
    conn = connect(api, shop)
    pull(clean_db, conn["id"])
    [(_, _, _, _), (variation, stock, _, _)] = variant_counts(db_run, "Tea - Black")
    assert (variation, stock) == ("XVLBN7DU6JTWHJTG5F265B43", 4)

    async def hold(session: AsyncSession) -> bool:
        [link] = await repo.links_of_variant(session, conn["id"], variation)
        return await inventory.reserve(session, link.variant_id, 3)

    assert db_run(hold) is True
    catalog.counts[variation] = "1"  # the store sold 3 elsewhere: 1 left, 3 promised to Mercato buyers
    pull(clean_db, conn["id"])
    assert variant_counts(db_run, "Tea - Black")[1] == (variation, 3, 3, 0)  # stock = what is held: 0 available
    assert shop_products(db_run, shop)["Tea - Black"]["total_stock"] == 79

    async def buy_more(session: AsyncSession) -> bool:
        [link] = await repo.links_of_variant(session, conn["id"], variation)
        return await inventory.reserve(session, link.variant_id, 1)

    assert db_run(buy_more) is False  # nothing left to sell
    catalog.counts[variation] = "10"
    pull(clean_db, conn["id"])
    assert variant_counts(db_run, "Tea - Black")[1] == (variation, 10, 3, 0)
    assert shop_products(db_run, shop)["Tea - Black"]["total_stock"] == 79 + 7


def test_reconciliation_job_catches_a_missed_update_and_a_missed_delete(
        api: httpx.Client, make_shop: Maker, fake_store: FakeStore, clean_db: str, settings: Settings,
        db_run: DbRun) -> None:
    shop = make_shop()
    catalog = SquareCatalog(fake_store)
    conn = connect(api, shop)
    pull(clean_db, conn["id"])
    # The store changes: a price and a name (no webhook reached Mercato), and one item is deleted.
    changed = copy.deepcopy(catalog.objects[0])
    changed["item_data"]["name"] = "Tea - Black (loose leaf)"
    changed["item_data"]["variations"][0]["item_variation_data"]["price_money"]["amount"] = 175
    changed["version"] += 1000
    catalog.objects = [changed]

    async def run() -> int:
        db = Database(clean_db, pool=False)
        try:
            return await jobs.run_job(db, settings, "reconcile_connections")
        finally:
            await db.dispose()

    assert asyncio.run(run()) == 1
    products = shop_products(db_run, shop)
    assert products["Tea - Black (loose leaf)"]["min_price"] == 175
    assert products["Tea - Green"]["status"] == "archived"
    history = api.get(f"/api/v1/shops/{shop['slug']}/connections/{conn['id']}/history",
                      headers=shop["owner"]["headers"]).json()
    assert next((s["kind"], s["outcome"], s["counts"]["updated"], s["counts"]["archived"])
            for s in history["syncs"]) == ("reconcile", "done", 1, 1)


@pytest.mark.parametrize("platform", ["shopify", "ecwid", "wix"])
def test_other_platforms_pull_their_recorded_catalogs(
        platform: str, api: httpx.Client, make_shop: Maker, fake_store: FakeStore, clean_db: str) -> None:
    if platform == "shopify":
        fake_store.on("GET", "/admin/api/2024-07/products.json",
                      lambda r: httpx.Response(200, json={"products": load("shopify/products.json")}))
        shop, expected = make_shop(), 1
    elif platform == "ecwid":
        fake_store.on("GET", "/api/v3/4881025/products",
                      lambda r: httpx.Response(200, json=load("ecwid/products_search_response.json")))
        shop, expected = make_shop(), 5
    else:
        products = load("wix/catalog_v1_query_products.json")
        fake_store.on("POST", "/stores/v1/products/query", lambda r: httpx.Response(200, json={
            "products": products[json.loads(r.content)["query"]["paging"]["offset"]:][:100],
            "totalResults": len(products)}))
        shop, expected = make_shop(currency="EUR"), 119
    conn = connect(api, shop, platform, {"shopify": "demo.myshopify.com", "ecwid": "4881025", "wix": "site-1"}[
        platform], "secret")
    run = pull(clean_db, conn["id"])
    assert (run["outcome"], run["counts"]["created"]) == ("done", expected)
    if platform == "shopify":  # the fixture's products 2-4 reuse product 1's variant and its SKU
        assert run["counts"]["rejected"] == 3
        assert "2: SKU 'IPOD2008PINK' belongs to another product of this shop." in run["detail"]
    again = pull(clean_db, conn["id"])["counts"]
    assert (again["unchanged"], again["created"], again["updated"]) == (expected, 0, 0)
