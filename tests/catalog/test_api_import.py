"""Catalog import over the API with every real sample file: counts, per-row outcomes, idempotency."""

from __future__ import annotations

import csv
import io
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SHARED_DATA

Maker = Callable[..., dict[str, Any]]
CATALOG = SHARED_DATA / "catalog"
WOO = CATALOG / "woocommerce" / "sample_products.csv"
PRESTA_PRODUCTS = CATALOG / "prestashop" / "products_import.csv"
PRESTA_COMBINATIONS = CATALOG / "prestashop" / "combinations_import.csv"
MAGENTO = Path(__file__).resolve().parent / "importers" / "data" / "magento_products.csv"


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


def _import(api: httpx.Client, shop: dict[str, Any], data: bytes, filename: str, *,
            headers: dict[str, str] | None = None, fmt: str | None = None,
            combinations: bytes | None = None) -> httpx.Response:
    files: dict[str, tuple[str, bytes, str]] = {"file": (filename, data, "text/csv")}
    if combinations is not None:
        files["combinations"] = ("combinations_import.csv", combinations, "text/csv")
    return api.post(f"/api/v1/shops/{shop['slug']}/imports", headers=shop["owner"]["headers"] if headers is None
                    else headers, files=files, data={"format": fmt} if fmt else {})


def _counts(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["created"], report["updated"], report["unchanged"], report["rejected"]


def _outcomes(report: dict[str, Any], *kinds: str) -> list[tuple[int, str | None, str]]:
    return [(r["row"], r["external_id"], r["outcome"]) for r in report["rows"] if r["outcome"] in kinds]


def _snapshot(api: httpx.Client, shop: dict[str, Any]) -> list[dict[str, Any]]:
    """Every product of the shop (all statuses) with its full detail, variants and images."""
    headers = shop["owner"]["headers"]
    ids: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = api.get(f"/api/v1/shops/{shop['slug']}/products", headers=headers, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    details = []
    for product_id in sorted(ids):
        response = api.get(f"/api/v1/products/{product_id}", headers=headers)
        assert response.status_code == 200, response.text
        details.append(response.json())
    return details


def _by_external(snapshot: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["external_id"]: p for p in snapshot}


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    combinations: Path | None
    fmt: str
    created: int
    rejected: list[tuple[int, str]]  # (row, external id)
    warnings: int
    variants: int
    statuses: dict[str, int]


SAMPLES = [
    Sample("woocommerce", WOO, None, "woocommerce", 16, [(23, "logo-collection"), (24, "wp-pennant")], 0, 21,
           {"active": 16}),
    Sample("shopify_csv", CATALOG / "shopify" / "product_template.csv", None, "shopify_csv", 3, [], 19, 16,
           {"active": 1, "draft": 1, "archived": 1}),
    Sample("shopify_json", CATALOG / "shopify" / "products.json", None, "shopify_json", 4, [], 8, 4, {"active": 4}),
    Sample("prestashop", PRESTA_PRODUCTS, None, "prestashop", 7, [], 2, 7, {"active": 7}),
    Sample("prestashop_combinations", PRESTA_PRODUCTS, PRESTA_COMBINATIONS, "prestashop", 7, [(24, "3")], 3, 29,
           {"active": 7}),
    Sample("square", CATALOG / "square" / "item_library_export.csv", None, "square", 5, [], 0, 14, {"active": 5}),
    Sample("wix", CATALOG / "wix" / "catalog_products.csv", None, "wix", 23, [], 4, 43, {"active": 23}),
    Sample("magento", MAGENTO, None, "magento", 5, [(15, "24-WG080"), (16, "24-UB02")], 2, 10,
           {"active": 4, "draft": 1}),
    Sample("opencart_3", CATALOG / "opencart" / "opencart-3.0.5.0.sql", None, "opencart", 19, [], 6, 33,
           {"active": 19}),
    Sample("opencart_4", CATALOG / "opencart" / "opencart-4.1.0.4-en-gb.sql", None, "opencart", 19, [], 6, 33,
           {"active": 19}),
]


def _run(api: httpx.Client, shop: dict[str, Any], sample: Sample) -> httpx.Response:
    combinations = sample.combinations.read_bytes() if sample.combinations else None
    return _import(api, shop, sample.path.read_bytes(), sample.path.name, combinations=combinations)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_real_file_imports_then_reimports_as_unchanged(
    api: httpx.Client, make_shop: Maker, sample: Sample
) -> None:
    shop = make_shop("importer")
    first = _run(api, shop, sample)
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["format"], report["filename"]) == (sample.fmt, sample.path.name)
    assert _counts(report) == (sample.created, 0, 0, len(sample.rejected))
    assert [(row, ext) for row, ext, _ in _outcomes(report, "rejected")] == sample.rejected
    assert len(_outcomes(report, "warning")) == sample.warnings
    assert len(_outcomes(report, "created")) == sample.created
    assert [r["row"] for r in report["rows"]] == sorted(r["row"] for r in report["rows"])
    assert all(r["reason"] is None and r["title"] for r in report["rows"] if r["outcome"] == "created")
    assert all(r["reason"] for r in report["rows"] if r["outcome"] in ("rejected", "warning"))

    before = _snapshot(api, shop)
    assert len(before) == sample.created
    assert sum(len(p["variants"]) for p in before) == sample.variants
    statuses: dict[str, int] = {}
    for product in before:
        statuses[product["status"]] = statuses.get(product["status"], 0) + 1
        assert product["source"] == sample.fmt
        assert product["currency"] == "USD"
        assert all(image["remote"] and image["url"].startswith("http") for image in product["images"])
    assert statuses == sample.statuses
    assert api.get(f"/api/v1/shops/{shop['slug']}").json()["product_count"] == sample.statuses.get("active", 0)

    again = _run(api, shop, sample)
    assert again.status_code == 201, again.text
    second = again.json()
    assert second["id"] != report["id"]
    assert _counts(second) == (0, 0, sample.created, len(sample.rejected))
    assert _outcomes(second, "rejected") == _outcomes(report, "rejected")
    assert [r["external_id"] for r in second["rows"] if r["outcome"] == "unchanged"] == [
        r["external_id"] for r in report["rows"] if r["outcome"] == "created"]
    assert _snapshot(api, shop) == before


def test_woocommerce_rows_in_detail(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("woo")
    report = _import(api, shop, WOO.read_bytes(), "sample_products.csv").json()
    rows = {r["external_id"]: r for r in report["rows"]}
    assert rows["logo-collection"] == {
        "row": 23, "external_id": "logo-collection", "title": None, "outcome": "rejected",
        "reason": "grouped products are not supported: import their child products instead"}
    assert rows["wp-pennant"]["row"] == 24 and rows["wp-pennant"]["outcome"] == "rejected"
    assert rows["wp-pennant"]["reason"].startswith("external/affiliate products are not supported")
    assert rows["woo-vneck-tee"] == {"row": 1, "external_id": "woo-vneck-tee", "title": "Awesome V-Neck T-Shirt",
                                     "outcome": "created", "reason": None}

    products = _by_external(_snapshot(api, shop))
    tee = products["woo-vneck-tee"]
    assert tee["category"]["path"] == "Clothing > Tshirts"
    assert tee["option_names"] == ["Color", "Size"]
    assert [(v["sku"], v["options"], v["price"]) for v in tee["variants"]] == [
        ("woo-vneck-tee-red", {"Color": "Red", "Size": "Any"}, 2000),
        ("woo-vneck-tee-green", {"Color": "Green", "Size": "Any"}, 2000),
        ("woo-vneck-tee-blue", {"Color": "Blue", "Size": "Any"}, 1500),
    ]
    assert (tee["price"], tee["price_display"], tee["in_stock"]) == (1500, "$15.00", False)
    assert len(tee["images"]) == 3
    assert tee["images"][0] == {
        "id": tee["images"][0]["id"],
        "url": "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/vneck-tee-2.jpg",
        "thumb_url": "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/vneck-tee-2.jpg",
        "width": None, "height": None, "alt": "Awesome V-Neck T-Shirt", "remote": True,
    }
    assert tee["thumb_url"] is None  # remote images are never served as our thumbnails
    belt = products["woo-belt"]
    assert [(v["price"], v["compare_at_price"], v["title"]) for v in belt["variants"]] == [(5500, 6500, "Default")]
    assert belt["price_display"] == "$55.00"


def test_prestashop_combinations_detail(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("presta", currency="EUR")
    response = _import(api, shop, PRESTA_PRODUCTS.read_bytes(), "products_import.csv", fmt="prestashop",
                       combinations=PRESTA_COMBINATIONS.read_bytes())
    assert response.status_code == 201, response.text
    products = _by_external(_snapshot(api, shop))
    assert [len(products[str(i)]["variants"]) for i in range(1, 8)] == [16, 4, 3, 1, 3, 1, 1]
    nano = products["1"]
    assert nano["option_names"] == ["Color", "Disk space"]
    assert nano["currency"] == "EUR"
    assert nano["variants"][0]["options"] == {"Color": "Blue", "Disk space": "16GB"}
    assert nano["variants"][0]["sku"] == "RP-Nano-Blue-16GB"
    assert nano["brand"]["name"] == "Apple"
    air_skus = [v["sku"] for v in products["3"]["variants"]]
    assert air_skus.count(None) == 1  # the repeated reference was dropped from the later variant


def test_a_modified_file_updates_exactly_one_product(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("woo")
    assert _counts(_import(api, shop, WOO.read_bytes(), "sample_products.csv").json()) == (16, 0, 0, 2)
    before = _by_external(_snapshot(api, shop))

    rows = list(csv.reader(io.StringIO(WOO.read_bytes().decode("utf-8-sig"))))
    header = rows[0]
    sku, price = header.index("SKU"), header.index("Regular price")
    (target,) = [row for row in rows if row[sku] == "woo-sunglasses"]
    assert target[price] == "90"
    target[price] = "95.50"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)

    report = _import(api, shop, out.getvalue().encode(), "sample_products.csv").json()
    assert _counts(report) == (0, 1, 15, 2)
    assert _outcomes(report, "updated") == [(8, "woo-sunglasses", "updated")]
    after = _by_external(_snapshot(api, shop))
    assert set(after) == set(before)
    for external_id, product in after.items():
        if external_id != "woo-sunglasses":
            assert product == before[external_id]
    glasses = after["woo-sunglasses"]
    assert (glasses["price"], glasses["price_display"]) == (9550, "$95.50")
    assert glasses["variants"][0]["id"] == before["woo-sunglasses"]["variants"][0]["id"]
    assert glasses["variants"][0]["price"] == 9550
    assert glasses["id"] == before["woo-sunglasses"]["id"]
    assert api.get("/api/v1/products", params={"shop": "woo", "min_price": 9500}).json()["items"][0]["id"] == (
        glasses["id"])


def test_imported_products_are_searchable(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("woo")
    _import(api, shop, WOO.read_bytes(), "sample_products.csv")

    def titles(**params: Any) -> list[str]:
        response = api.get("/api/v1/products", params={"limit": 100, **params})
        assert response.status_code == 200
        return sorted(item["title"] for item in response.json()["items"])

    assert len(titles()) == 16
    assert titles(q="hoodie") == ["Hoodie", "Hoodie with Logo", "Hoodie with Pocket", "Hoodie with Zipper"]
    assert titles(q="sunglasses") == ["Sunglasses"]
    assert titles(q="woo-belt") == ["Belt"]  # SKU
    assert titles(q="accessories") == ["Beanie", "Beanie with Logo", "Belt", "Cap", "Sunglasses"]  # category
    assert titles(q="music") == ["Album", "Single"]
    categories = {c["path"]: c["slug"] for c in api.get("/api/v1/categories").json()}
    assert len(titles(category=categories["Clothing"])) == 14


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        self.wfile.write(b"\xff\xd8\xff")

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def image_host() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request: imported image URLs point at it."""
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_image_urls_are_recorded_never_fetched(
    api: httpx.Client, make_shop: Maker, image_host: tuple[str, list[str]]
) -> None:
    base, hits = image_host
    assert httpx.get(f"{base}/probe.jpg").status_code == 200 and hits == ["/probe.jpg"]  # the recorder works
    hits.clear()
    shop = make_shop("remote")
    csv_text = (
        "product_id,title,price,stock,image_urls,variant_sku,option1_name,option1_value,variant_image_url\n"
        f"TEE,Remote Tee,10.00,3,{base}/a.jpg|{base}/b.jpg,TEE-S,Size,S,{base}/s.jpg\n"
        f"TEE,,10.00,3,,TEE-M,,M,{base}/m.jpg\n"
    )
    report = _import(api, shop, csv_text.encode(), "remote.csv").json()
    assert _counts(report) == (1, 0, 0, 0)
    (product,) = _snapshot(api, shop)
    assert [(i["url"], i["remote"]) for i in product["images"]] == [
        (f"{base}/a.jpg", True), (f"{base}/b.jpg", True), (f"{base}/s.jpg", True), (f"{base}/m.jpg", True)]
    assert api.get(f"/api/v1/products/{product['id']}").status_code == 200
    assert _counts(_import(api, shop, csv_text.encode(), "remote.csv").json()) == (0, 0, 1, 0)
    assert hits == []


def test_another_user_cannot_import_into_my_shop(api: httpx.Client, make_shop: Maker, make_user: Maker) -> None:
    shop = make_shop("mine")
    intruder = make_user("intruder")
    response = _import(api, shop, WOO.read_bytes(), "sample_products.csv", headers=intruder["headers"])
    _assert_error(response, 403, "not_shop_member")
    _assert_error(_import(api, shop, WOO.read_bytes(), "sample_products.csv", headers={}), 401, "not_authenticated")
    assert _snapshot(api, shop) == []
    assert api.get("/api/v1/shops/mine/imports", headers=shop["owner"]["headers"]).json() == []
    assert api.get("/api/v1/products").json() == {"items": [], "next_cursor": None}
    assert api.get("/api/v1/categories").json() == []
    _assert_error(api.get("/api/v1/shops/mine/imports", headers=intruder["headers"]), 403, "not_shop_member")


@pytest.mark.parametrize(
    ("data", "filename", "fmt"),
    [
        (random.Random(7).randbytes(4096), "products.csv", None),
        (random.Random(8).randbytes(4096), "products.json", None),
        (b"PK\x03\x04" + random.Random(9).randbytes(500), "products.xlsx", None),
        (b"", "empty.csv", None),
        (b"name,colour\nshirt,blue\n", "unknown.csv", None),
        (b"{not json", "broken.json", None),
        ("Handle,Title\n".encode("utf-16"), "utf16.csv", None),
        (PRESTA_COMBINATIONS.read_bytes(), "combinations_import.csv", None),  # combinations alone
        (WOO.read_bytes(), "sample_products.csv", "shopify_csv"),  # forced format without its columns
    ],
)
def test_unreadable_files_are_refused_and_change_nothing(
    api: httpx.Client, make_shop: Maker, data: bytes, filename: str, fmt: str | None
) -> None:
    shop = make_shop("careful")
    body = _assert_error(_import(api, shop, data, filename, fmt=fmt), 422, "unreadable_catalog")
    assert body["error"]["message"]
    assert _snapshot(api, shop) == []
    assert api.get("/api/v1/shops/careful/imports", headers=shop["owner"]["headers"]).json() == []


def test_bad_format_field_and_oversized_file(api: httpx.Client, make_shop: Maker, settings: Any) -> None:
    shop = make_shop("limits")
    _assert_error(_import(api, shop, WOO.read_bytes(), "sample_products.csv", fmt="excel"), 422, "validation_error")
    big = b"product_id,title,price\n" + b"P,T,1.00\n" * (settings.max_import_bytes // 9 + 1)
    assert len(big) > settings.max_import_bytes
    _assert_error(_import(api, shop, big, "big.csv"), 413, "file_too_large")
    assert _snapshot(api, shop) == []


def test_import_runs_list_and_detail(api: httpx.Client, make_shop: Maker, make_user: Maker) -> None:
    shop = make_shop("history")
    first = _import(api, shop, WOO.read_bytes(), "sample_products.csv").json()
    second = _import(api, shop, (CATALOG / "shopify" / "products.json").read_bytes(), "products.json").json()
    listed = api.get("/api/v1/shops/history/imports", headers=shop["owner"]["headers"])
    assert listed.status_code == 200
    assert listed.json() == [second, first]  # newest first

    detail = api.get(f"/api/v1/imports/{first['id']}", headers=shop["owner"]["headers"])
    assert detail.status_code == 200
    assert detail.json() == first

    staff = make_user("staff")
    api.post("/api/v1/shops/history/members", headers=shop["owner"]["headers"], json={"email": "staff@example.com"})
    assert api.get(f"/api/v1/imports/{first['id']}", headers=staff["headers"]).json() == first

    other = make_shop("other")
    for headers in (make_user()["headers"], other["owner"]["headers"]):
        _assert_error(api.get(f"/api/v1/imports/{first['id']}", headers=headers), 404, "not_found")
    _assert_error(api.get(f"/api/v1/imports/{first['id']}"), 401, "not_authenticated")
    _assert_error(api.get("/api/v1/imports/999999", headers=shop["owner"]["headers"]), 404, "not_found")


def test_imports_are_limited_per_shop_for_its_members_only(
    set_rates: Callable[..., None], api: httpx.Client, make_shop: Callable[..., dict[str, Any]],
    make_user: Callable[..., dict[str, Any]],
) -> None:
    """Rate limit ``shop_import`` (issue 18): counted per shop once the caller is a member, so a
    stranger's refused attempts never spend the shop's budget."""
    set_rates(shop_import="2/hour")
    shop, other = make_shop("limited"), make_shop("unlimited")
    intruder = make_user()
    for _ in range(3):
        _assert_error(_import(api, shop, b"product_id,title,price\nP1,Tote,1.00\n", "p.csv",
                              headers=intruder["headers"]), 403, "not_shop_member")
    for n in range(2):
        assert _import(api, shop, f"product_id,title,price\nP{n},Tote,1.00\n".encode(), "p.csv").status_code == 201
    refused = _import(api, shop, b"product_id,title,price\nP9,Tote,1.00\n", "p.csv")
    error = _assert_error(refused, 429, "rate_limited")["error"]
    assert error["details"]["rule"] == "shop_import" and int(refused.headers["Retry-After"]) >= 1
    assert len(api.get("/api/v1/shops/limited/imports", headers=shop["owner"]["headers"]).json()) == 2
    listed = api.get("/api/v1/shops/limited/products", headers=shop["owner"]["headers"]).json()["items"]
    assert sorted(p["title"] for p in listed) == ["Tote", "Tote"]  # P0 and P1; P9 never landed
    assert _import(api, other, b"product_id,title,price\nP1,Tote,1.00\n", "p.csv").status_code == 201
