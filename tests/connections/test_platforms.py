"""The platforms' API bodies mapped to import records (the shared recorded bodies), and the clients'
paging and rate-limit handling against a transport-level fake of each platform."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from mercato.catalog.importers.records import RowError
from mercato.connections.platforms import ecwid, shopify, square, wix
from mercato.connections.platforms.base import StoreUnavailable
from tests.connections.conftest import FakeStore, load


def test_square_search_catalog_objects_body() -> None:
    page = square.map_objects(load("square/api_search_catalog_objects_response.json")["objects"], "USD")
    assert [(p.record.external_id, p.record.title, p.version) for p in page.products] == [
        ("X5DZ5NWWAQ44CKBLKIFQGOWK", "Tea - Black", 1509032492337),
        ("NNNEM3LA656Q46NXLWCNI7S5", "Tea - Green", 1509032483232)]
    black = page.products[0].record
    assert [(v.external_id, v.title, v.price, v.options) for v in black.variants] == [
        ("5GSZPX6EU7MM75S57OONG3V5", "Regular", 150, {"Option": "Regular"}),
        ("XVLBN7DU6JTWHJTG5F265B43", "Large", 225, {"Option": "Large"})]
    assert black.description == "A delicious blend of black tea."
    assert page.rejected == []


def test_square_list_catalog_mixes_types_and_has_no_item() -> None:
    page = square.map_objects(load("square/api_list_catalog_response.json")["objects"], "USD")
    assert page.products == [] and page.rejected == []


def test_square_variable_pricing_variation_is_rejected_with_its_reason() -> None:
    item = load("square/api_search_catalog_objects_response.json")["objects"][0]
    del item["item_data"]["variations"][1]["item_variation_data"]["price_money"]
    with pytest.raises(RowError, match="variable pricing"):
        square.map_item(item, "USD")


def test_square_counts_are_decimal_strings_per_location() -> None:
    page = square.map_objects(load("square/api_search_catalog_objects_response.json")["objects"], "USD")
    counts = [{"catalog_object_id": "5GSZPX6EU7MM75S57OONG3V5", "location_id": "L1", "quantity": "79",
               "state": "IN_STOCK"},
              {"catalog_object_id": "5GSZPX6EU7MM75S57OONG3V5", "location_id": "L2", "quantity": "5",
               "state": "IN_STOCK"},
              {"catalog_object_id": "XVLBN7DU6JTWHJTG5F265B43", "location_id": "L1", "quantity": "2.0",
               "state": "WASTE"}]
    square.apply_counts(page.products, counts, "L1")
    assert page.products[0].stock == {"5GSZPX6EU7MM75S57OONG3V5": 79}


def test_ecwid_products_search_body() -> None:
    page = ecwid.map_items(load("ecwid/products_search_response.json")["items"], "USD")
    assert len(page.products) == 5 and page.rejected == []
    first = page.products[0]
    assert first.record.title == "Book: Therapeutic Hand Splints: A Rational Approach"  # HTML dropped
    assert first.record.status == "draft"  # enabled: false
    assert [(v.external_id, v.sku, v.price) for v in first.record.variants] == [("41316136:0", "NC53090", 8095)]
    assert first.stock == {}  # unlimited: the store does not count it
    assert first.version == 1413388891000  # "2014-10-15 09:01:31 -0700"


def test_ecwid_combinations_become_variants() -> None:
    product = {"id": 42, "name": "Tee", "price": 10, "options": [{"name": "Size"}, {"name": "Color"}],
               "combinations": load("ecwid/product_combinations_response_doc.json"), "updateTimestamp": 1700000000}
    sp = ecwid.map_product(product, "USD")
    assert sp.record.option_names == ["Size", "Color"]
    assert len(sp.record.variants) == 4
    first = sp.record.variants[0]
    assert (first.external_id, first.sku, first.options, first.price) == (
        "42:7084071", "000076", {"Size": "Large", "Color": "White"}, 145)
    assert sp.stock["42:7084071"] == 21 and sp.version == 1700000000000


def test_ecwid_public_token_disabled_product_is_rejected() -> None:
    page = ecwid.map_items(load("ecwid/search_products_public_token_response_doc.json")["items"], "USD")
    assert len(page.products) == 1
    assert [r.reason for r in page.rejected] == [
        "the product has no name (a disabled product seen through a public token)"]


def test_wix_v1_query_products_body() -> None:
    page = wix.map_v1_items(load("wix/catalog_v1_query_products.json"), "EUR")
    assert len(page.products) == 119 and page.rejected == []
    first = page.products[0]
    assert first.record.external_id == "ca19670b-45e8-c904-f0b8-91565229ebef"  # the SDK's _id
    assert [(v.sku, v.price) for v in first.record.variants] == [("1-11-0001", 28900)]
    assert first.stock == {"ca19670b-45e8-c904-f0b8-91565229ebef:00000000-0000-0000-0000-000000000000": 24}
    assert first.record.image_urls[0].startswith("https://static.wixstatic.com/media/9e37b5_05b114")


def test_wix_v3_get_product_resolves_option_choice_ids() -> None:
    items = [i.get("product", i) for i in load("wix/catalog_v3_get_product.json")]
    products = [wix.map_v3_product(i, "ILS") for i in items]
    assert sum(len(p.record.variants) for p in products) == 30
    tote = next(p for p in products if p.record.title == "Minimalist Tote Bag")
    assert [(v.options, v.price) for v in tote.record.variants] == [({"Color": "White"}, 2000),
                                                                     ({"Color": "Purple"}, 2000)]
    assert sum(1 for p in products for v in p.record.variants if v.sku is None) == 11


def test_wix_v3_query_result_has_no_variants_and_is_refused() -> None:
    item = load("wix/catalog_v3_query_products.json")[0]
    with pytest.raises(RowError, match="getProduct"):
        wix.map_v3_product(item, "ILS")


def test_shopify_pages_follow_the_link_header(fake_store: FakeStore) -> None:
    products = load("shopify/products.json")

    def page(request: httpx.Request) -> httpx.Response:
        info = request.url.params.get("page_info")
        start = {None: 0, "p2": 2}[info]
        headers = {"Link": '<https://s.example/admin/api/2024-07/products.json?limit=250&page_info=p2>; rel="next"'}
        return httpx.Response(200, json={"products": products[start:start + 2]},
                              headers=headers if start == 0 else {})

    fake_store.on("GET", "/admin/api/2024-07/products.json", page)
    store = shopify.ShopifyStore("s.example", "shpat_1", "USD")
    first = asyncio.run(store.catalog_page(None))
    second = asyncio.run(store.catalog_page(first.next_cursor))
    assert [p.record.external_id for p in first.products] == ["1", "2"] and first.next_cursor == "p2"
    assert [p.record.external_id for p in second.products] == ["3", "4"] and second.next_cursor is None
    assert fake_store.requests[0].headers["X-Shopify-Access-Token"] == "shpat_1"


def test_429_waits_retry_after_then_succeeds(fake_store: FakeStore) -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(429, headers={"Retry-After": "7"}),
               httpx.Response(200, json=load("square/api_search_catalog_objects_response.json"))]
    fake_store.on("POST", "/v2/catalog/search", lambda request: answers.pop(0))
    fake_store.on("POST", "/v2/inventory/counts/batch-retrieve", lambda request: httpx.Response(200, json={}))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    page = asyncio.run(square.SquareStore("L1", "EAAA", "USD", sleep=sleep).catalog_page(None))
    assert waits == [2.0, 7.0]
    assert len(fake_store.calls("POST", "/v2/catalog/search")) == 3
    assert [p.record.title for p in page.products] == ["Tea - Black", "Tea - Green"]


def test_429_without_retry_after_backs_off_doubling_then_gives_up(fake_store: FakeStore) -> None:
    fake_store.on("GET", "/api/v3/1003/products", lambda request: httpx.Response(429))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with pytest.raises(StoreUnavailable, match="429"):
        asyncio.run(ecwid.EcwidStore("1003", "secret_t", "USD", sleep=sleep).catalog_page(None))
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_shopify_call_limit_header_slows_down_near_the_bucket_size(fake_store: FakeStore) -> None:
    body: dict[str, Any] = {"products": []}
    fake_store.on("GET", "/admin/api/2024-07/products.json", lambda request: httpx.Response(
        200, json=body, headers={"X-Shopify-Shop-Api-Call-Limit": "39/40"}))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    asyncio.run(shopify.ShopifyStore("s.example", "t", "USD", sleep=sleep).catalog_page(None))
    assert waits == [0.5]


def test_ecwid_pages_by_offset_until_total(fake_store: FakeStore) -> None:
    items = load("ecwid/products_search_response.json")["items"]

    def page(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        chunk = items[offset:offset + 3]
        return httpx.Response(200, content=json.dumps({"total": 5, "count": len(chunk), "offset": offset,
                                                        "limit": 3, "items": chunk}))

    fake_store.on("GET", "/api/v3/4881025/products", page)
    store = ecwid.EcwidStore("4881025", "secret_t", "USD")
    first = asyncio.run(store.catalog_page(None))
    second = asyncio.run(store.catalog_page(first.next_cursor))
    assert (len(first.products), first.next_cursor, len(second.products), second.next_cursor) == (3, "3", 2, None)
