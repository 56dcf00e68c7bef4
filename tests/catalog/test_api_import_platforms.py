"""Square, Wix, Magento and OpenCart imports over the API: what lands, what a mangled row leaves behind
(nothing), the upload page, and refusals that change nothing. Counts and re-imports of every real file are in
``test_api_import.py`` (``SAMPLES``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import httpx

from tests.catalog.test_api_import import CATALOG, MAGENTO, _assert_error, _by_external, _counts, _import, _snapshot

Maker = Callable[..., dict[str, Any]]
SQUARE = CATALOG / "square" / "item_library_export.csv"
WIX = CATALOG / "wix" / "catalog_products.csv"
OC3 = CATALOG / "opencart" / "opencart-3.0.5.0.sql"


def _rejected(report: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(r["row"], r["external_id"], r["reason"]) for r in report["rows"] if r["outcome"] == "rejected"]


def test_square_mangled_variation_is_reported_and_not_written(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("square-shop")
    rows = list(csv.reader(io.StringIO(SQUARE.read_text(encoding="utf-8"), newline="")))
    header = rows[0]
    token, price = header.index("Token"), header.index("Price")
    assert rows[2][token] == "YW25HT3WGA5X5XWQKPNAX76B"
    rows[2][price] = "138,0O"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)

    report = _import(api, shop, out.getvalue().encode(), SQUARE.name).json()
    assert _counts(report) == (5, 0, 0, 1)
    assert _rejected(report) == [(2, "Tahiti Cargo Pants", "Price '138,0O' is not a number")]
    products = _by_external(_snapshot(api, shop))
    pants = products["Tahiti Cargo Pants"]
    assert len(pants["variants"]) == 7
    assert "washed black / Medium" not in {v["title"] for v in pants["variants"]}
    assert "Q310092" not in {v["sku"] for p in products.values() for v in p["variants"]}
    assert pants["option_names"] == ["camo", "XS-XL"]
    assert (pants["price"], pants["price_display"], pants["category"]["path"]) == (13800, "$138.00", "CLOTHING")

    fixed = _import(api, shop, SQUARE.read_bytes(), SQUARE.name).json()  # the seller fixes the row
    assert _counts(fixed) == (0, 1, 4, 0)
    assert len(_by_external(_snapshot(api, shop))["Tahiti Cargo Pants"]["variants"]) == 8


def test_wix_products_and_media_urls(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("wix-shop")
    report = _import(api, shop, WIX.read_bytes(), WIX.name).json()
    assert _counts(report) == (23, 0, 0, 0)
    products = _by_external(_snapshot(api, shop))
    table = products["product_3fb6a3c8-988b-8755-04bd-5c59ae0b18ea"]
    assert [(v["title"], v["price"], v["sku"]) for v in table["variants"]] == [
        ('30" Glass Top Inches', 59500, None), ('36" Glass Top Inches', 67500, None)]
    assert table["images"][0]["url"] == (
        "https://static.wixstatic.com/media/112834_b2bda05cca2440f19baab2293be83fbc~mv2.jpg")
    assert all(image["remote"] for p in products.values() for image in p["images"])
    warnings = [(r["row"], r["reason"]) for r in report["rows"] if r["outcome"] == "warning"]
    assert warnings[1] == (21, "SKU '6.71253E+11' is in spreadsheet scientific notation and its digits are lost; "
                               "it was imported without a SKU (re-export the file without opening it in Excel)")


def test_magento_store_views_and_children_are_not_products(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("magento-shop")
    report = _import(api, shop, MAGENTO.read_bytes(), MAGENTO.name).json()
    assert _counts(report) == (5, 0, 0, 2)
    products = _by_external(_snapshot(api, shop))
    assert sorted(products) == ["24-MB01", "24-UG06", "24-WG085", "MH01", "VIRT-WARRANTY"]
    hoodie = products["MH01"]
    assert hoodie["title"] == "Chaz Kangeroo Hoodie"
    assert hoodie["option_names"] == ["Size", "Color"]
    assert [(v["sku"], v["options"], v["price"], v["stock"]) for v in hoodie["variants"]] == [
        ("MH01-XS-Black", {"Size": "XS", "Color": "Black"}, 5200, 100),
        ("MH01-XS-Gray", {"Size": "XS", "Color": "Gray"}, 5200, 98),
        ("MH01-XS-Orange", {"Size": "XS", "Color": "Orange"}, 5200, 0),
        ("MH01-S-Black", {"Size": "S", "Color": "Black"}, 5200, 100),
        ("MH01-S-Gray", {"Size": "S", "Color": "Gray"}, 5200, 12),
        ("MH01-S-Orange", {"Size": "S", "Color": "Orange"}, 4500, 7),
    ]
    assert hoodie["category"]["path"] == "Men > Tops > Hoodies & Sweatshirts"
    assert hoodie["brand"]["name"] == "Chaz"
    assert api.get("/api/v1/shops/magento-shop").json()["product_count"] == 4  # the draft is not counted


def test_opencart_mangled_product_is_reported_and_not_written(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("opencart-shop")
    dump = OC3.read_text(encoding="utf-8").replace(
        "(29, 'Product 2', '', '', '', '', '', '', '', 999,", "(29, 'Product 2', '', '', '', '', '', '', '', 'lots',")
    report = _import(api, shop, dump.encode(), OC3.name).json()
    assert _counts(report) == (18, 0, 0, 1)
    assert _rejected(report) == [(2, "opencart:29", "quantity 'lots' is not a number")]
    products = _by_external(_snapshot(api, shop))
    assert len(products) == 18 and "opencart:29" not in products
    assert "Palm Treo Pro" not in {p["title"] for p in products.values()}
    cinema = products["opencart:42"]
    assert (cinema["title"], len(cinema["variants"]), cinema["brand"]["name"]) == ('Apple Cinema 30"', 12, "Apple")
    assert (cinema["variants"][0]["title"], cinema["variants"][0]["price"],
            cinema["variants"][0]["compare_at_price"]) == ("Green / Small", 10100, 11100)
    assert products["opencart:41"]["category"]["path"] == "Desktops > Mac"


def test_opencart_in_another_currency_is_refused_and_changes_nothing(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("euro-shop", currency="EUR")
    body = _assert_error(_import(api, shop, OC3.read_bytes(), OC3.name), 422, "unreadable_catalog")
    assert body["error"]["message"] == ("the OpenCart store's prices are in USD but this shop sells in EUR: import "
                                        "it into a shop with that currency")
    assert _snapshot(api, shop) == []
    assert api.get("/api/v1/shops/euro-shop/imports", headers=shop["owner"]["headers"]).json() == []


def test_upload_page_takes_the_new_formats(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("page-shop")
    headers = shop["owner"]["headers"]
    page = api.get("/seller/page-shop/import", headers=headers)
    assert page.status_code == 200
    for value in ("square", "wix", "magento", "opencart"):
        assert f'<option value="{value}">' in page.text
    assert 'accept=".csv,.json,.sql,' in page.text

    answer = api.post("/seller/page-shop/import", headers=headers, data={"format": "opencart"},
                      files={"file": (OC3.name, OC3.read_bytes(), "application/sql")})
    assert answer.status_code == 200, answer.text
    assert "Report: opencart-3.0.5.0.sql" in answer.text
    assert '<strong id="count-created">19</strong>' in answer.text
    detected = api.post("/seller/page-shop/import", headers=headers,
                        files={"file": (WIX.name, WIX.read_bytes(), "text/csv")})
    assert detected.status_code == 200, detected.text
    assert "(wix)" in detected.text
    runs = api.get("/api/v1/shops/page-shop/imports", headers=headers).json()
    assert [(r["format"], r["created"]) for r in runs] == [("wix", 23), ("opencart", 19)]
