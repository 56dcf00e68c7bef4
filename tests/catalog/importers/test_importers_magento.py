"""Magento 2 product CSV: a fixture written from Magento's documented export format (configurable with its
simple children, store-view rows, simple/virtual products), plus inline files for each refusal."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mercato.catalog.importers import ImportedProduct, ParsedCatalog, parse_catalog
from mercato.catalog.importers.magento import pairs, variations

FIXTURE = Path(__file__).resolve().parent / "data" / "magento_products.csv"
HEADER = ("sku,store_view_code,product_type,name,price,qty,is_in_stock,configurable_variations,"
          "configurable_variation_labels\n")


def _parse(text: str) -> ParsedCatalog:
    return parse_catalog((HEADER + text).encode(), "export_catalog_product.csv", "USD")


def _product(parsed: ParsedCatalog, sku: str) -> ImportedProduct:
    return next(p for p in parsed.products if p.external_id == sku)


def test_fixture_configurable_with_six_variations_is_one_product() -> None:
    rows = list(csv.DictReader(io.StringIO(FIXTURE.read_text(encoding="utf-8"), newline="")))
    hoodie_row = next(r for r in rows if r["sku"] == "MH01" and not r["store_view_code"])
    listed = [v["sku"] for v in variations(hoodie_row["configurable_variations"])]
    assert len(listed) == 6

    parsed = parse_catalog(FIXTURE.read_bytes(), FIXTURE.name, "USD")
    assert parsed.format == "magento"
    assert [p.external_id for p in parsed.products] == ["MH01", "24-MB01", "24-WG085", "VIRT-WARRANTY", "24-UG06"]
    hoodie = _product(parsed, "MH01")
    assert [v.sku for v in hoodie.variants] == listed  # the simple children are variants, not products
    assert not {p.external_id for p in parsed.products} & set(listed)
    assert hoodie.title == "Chaz Kangeroo Hoodie"  # the default row, not the 'fr' store view's
    assert hoodie.description.startswith("<p>Ideal for cold-weather training")
    assert hoodie.option_names == ["Size", "Color"]  # configurable_variation_labels
    assert hoodie.category_path == ["Men", "Tops", "Hoodies & Sweatshirts"]  # first category, root dropped
    assert hoodie.brand == "Chaz"
    assert hoodie.attributes["material"] == "Cotton,Polyester"  # a comma inside an additional attribute value
    assert [(v.title, v.price, v.compare_at_price, v.stock) for v in hoodie.variants] == [
        ("XS / Black", 5200, None, 100),
        ("XS / Gray", 5200, None, 98),
        ("XS / Orange", 5200, None, 0),  # is_in_stock = 0
        ("S / Black", 5200, None, 100),
        ("S / Gray", 5200, None, 12),
        ("S / Orange", 4500, 5200, 7),  # special_price without dates
    ]
    assert hoodie.source_rows == [1, 2, 3, 4, 5, 6, 7]
    assert hoodie.image_urls == []  # '/m/h/…' paths live on the Magento server
    assert hoodie.status == "active"


def test_fixture_simple_virtual_and_refused_rows() -> None:
    parsed = parse_catalog(FIXTURE.read_bytes(), FIXTURE.name, "USD")
    bag = _product(parsed, "24-MB01")
    assert (bag.title, bag.category_path, bag.source_rows) == ("Joust Duffle Bag", ["Gear", "Bags"], [10])
    assert bag.image_urls == ["https://shop.example.com/media/catalog/product/m/b/mb01-blue-0.jpg",
                              "https://shop.example.com/media/catalog/product/m/b/mb01-blue-1.jpg"]
    assert [(v.sku, v.title, v.price, v.stock, v.barcode) for v in bag.variants] == [
        ("24-MB01", "Default", 3400, 100, "0840056417139")]
    assert bag.attributes == {"short_description": "Sporty duffle", "url_key": "joust-duffle-bag", "weight": "1",
                              "activity": "Gym|Hiking|Trail|Urban"}
    strap = _product(parsed, "24-WG085")
    assert (strap.variants[0].price, strap.variants[0].compare_at_price) == (1400, None)  # dated special: not applied
    assert strap.attributes == {"special_price": "10.000000", "special_price_dates": "12/1/26 - 12/31/26"}
    warranty = _product(parsed, "VIRT-WARRANTY")
    assert (warranty.category_path, warranty.attributes, warranty.variants[0].stock) == ([], {"virtual": "yes"}, 0)
    assert _product(parsed, "24-UG06").status == "draft"  # product_online = 2
    assert [(i.row, i.external_id, i.reason) for i in parsed.rejected] == [
        (15, "24-WG080", "grouped products are not supported: import their simple products instead"),
        (16, "24-UB02", "price '74.00 USD' is not a number"),
    ]
    assert [(i.row, i.external_id) for i in parsed.warnings] == [(7, "MH01"), (12, "24-WG085")]
    assert parsed.warnings[0].reason.startswith("3 image(s) are paths on the Magento server")


def test_broken_configurables_and_store_views() -> None:
    parsed = _parse(
        "A-S,,simple,A small,10,5,1,,\n"
        "A-M,,simple,A medium,abc,5,1,,\n"
        "A,,configurable,Shirt A,,,,\"sku=A-S,size=S|sku=A-M,size=M|sku=A-L,size=L|sku=A-S2,size=S\",\n"
        "B-1,,simple,B one,5,1,1,,\n"
        "B,,configurable,Shirt B,,,,sku=B-1|sku=B-9,\n"
        "C,fr,simple,Chemise C,,,,,\n"
        "D,,bundle,Kit D,10,,,,\n"
        "E,,simple,Thing E,3,2.5,1,,\n"
        "F,,simple,Thing F,3,4,1,,\n"
        "F,,simple,Thing F again,3,4,1,,\n"
        "A-S2,,simple,A small again,10,5,1,,\n"
    )
    shirt = _product(parsed, "A")
    assert shirt.option_names == ["Size"]
    assert [(v.sku, v.options) for v in shirt.variants] == [("A-S", {"Size": "S"})]
    assert shirt.source_rows == [1, 3]
    assert [(i.row, i.external_id, i.reason) for i in parsed.rejected] == [
        (2, "A", "price 'abc' is not a number"),
        (3, "A", "variation 'A-L' is not a simple product row of this file"),
        (4, "B-1", "its configurable product 'B' (row 5) was rejected"),
        (5, "B", "configurable_variations names no attributes (expected sku=…,size=…|…)"),
        (6, "C", "store-view row without the product's default row (empty store_view_code)"),
        (7, "D", "bundle products are not supported: import their simple products instead"),
        (8, "E", "qty '2.5' is not a whole number"),
        (10, "F", "duplicate sku 'F': already on row 9"),
        (11, "A", "variation 'A-S2' has the same options (S) as 'A-S'"),
    ]
    assert [p.external_id for p in parsed.products] == ["A", "F"]


def test_attribute_pairs() -> None:
    assert pairs("color=Black,size=XS") == {"color": "Black", "size": "XS"}
    assert pairs("material=Cotton, Polyester,eco_collection=1") == {"material": "Cotton, Polyester",
                                                                    "eco_collection": "1"}
    assert pairs("") == {}
    assert variations("sku=X-1,color=Red|sku=X-2,color=Blue") == [{"sku": "X-1", "color": "Red"},
                                                                  {"sku": "X-2", "color": "Blue"}]
