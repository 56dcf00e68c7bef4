"""Square Item Library CSV: the real export, counted independently, plus small inline files for each refusal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from mercato.catalog.importers import ImportedProduct, ParsedCatalog, parse_catalog
from mercato.catalog.importers.square import parse_catalog_objects

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
SQUARE = DATA / "square" / "item_library_export.csv"
HEADER = (
    "Token,Item Name,Variation Name,SKU,Description,Category,GTIN,Square Online Item Visibility,Weight (lb),Price,"
    "Sellable,Stockable,Option Name 1,Option Value 1,Option Name 2,Option Value 2,Current Quantity Main St,"
    "Current Quantity Pier 39,Tax - Sales Tax (8%)\n"
)


def _parse(text: str) -> ParsedCatalog:
    return parse_catalog((HEADER + text).encode(), "square.csv", "USD")


def _product(parsed: ParsedCatalog, external_id: str) -> ImportedProduct:
    return next(p for p in parsed.products if p.external_id == external_id)


def test_real_export_counts_match_the_file() -> None:
    rows = list(csv.DictReader(io.StringIO(SQUARE.read_text(encoding="utf-8"), newline="")))
    parsed = parse_catalog(SQUARE.read_bytes(), SQUARE.name, "USD")
    assert parsed.format == "square"
    assert [p.external_id for p in parsed.products] == list(dict.fromkeys(r["Item Name"] for r in rows))
    assert len(parsed.products) == 5
    assert sum(len(p.variants) for p in parsed.products) == len(rows) == 14
    assert [v.external_id for p in parsed.products for v in p.variants] == [r["Token"] for r in rows]
    assert parsed.rejected == [] and parsed.warnings == []


def test_real_export_item_with_two_option_sets() -> None:
    parsed = parse_catalog(SQUARE.read_bytes(), SQUARE.name, "USD")
    pants = _product(parsed, "Tahiti Cargo Pants")
    assert pants.title == "Tahiti Cargo Pants"
    assert pants.option_names == ["camo", "XS-XL"]  # Square's option-set names, as the seller named them
    assert pants.category_path == ["CLOTHING"]
    assert pants.status == "active"
    assert pants.description.startswith("<p>The coolest way to cargo")  # only on the first variation
    assert pants.source_rows == [1, 2, 3, 4, 5, 6, 7, 8]
    first = pants.variants[0]
    assert (first.external_id, first.sku, first.title, first.options) == (
        "J4CDZY6CJWDXILD5F3L2QQOS", "J259005", "washed black / Small", {"camo": "washed black", "XS-XL": "Small"})
    assert (first.price, first.compare_at_price, first.stock, first.weight_grams, first.barcode) == (
        13800, None, 0, None, None)
    assert [v.sku for v in pants.variants].count(None) == 0
    hat = _product(parsed, "Evil Eye Seed Bead Rhinestone Striped Cap")
    assert hat.description.startswith("- Rhinestone\n- Seed bead\n")  # multi-line plain text kept
    assert [(v.title, v.price) for v in hat.variants] == [("Black", 2400)]


def test_quantities_flags_and_mangled_values() -> None:
    parsed = _parse(
        "T1,Mug,Large,MUG-L,Stoneware,Kitchen,0012345678905,visible,1.5,12.00,Y,Y,Size,Large,,,3,2.0,Y\n"
        "T2,Mug,Small,6.71253E+11,,Kitchen,3.65275E+11,visible,,10.00,TRUE,FALSE,Size,Small,,,7,,N\n"
        "T3,Mug,Huge,MUG-H,,Kitchen,,visible,,abc,Y,Y,Size,Huge,,,,,N\n"
        "T4,Mug,Tiny,MUG-T,,Kitchen,,visible,,9.00,N,Y,Size,Tiny,,,,,N\n"
        "T5,Mug,Mini,MUG-M,,Kitchen,,visible,,9.00,Y,Y,Size,Mini,,,2.5,,N\n"
        "T6,Mug,Odd,MUG-O,,Kitchen,,visible,,9.00,maybe,Y,Size,Odd,,,,,N\n"
        "T7,Mug,Large,MUG-L2,,Kitchen,,visible,,12.00,Y,Y,Size,Large,,,,,N\n"
        "T8,,Lonely,LONE,,,,visible,,1.00,Y,Y,,,,,,,N\n"
        "T9,Secret Tea,Regular,TEA,,Drinks,,hidden,,4.50,Y,Y,,,,,-2,,N\n"
        "T10,Mug,Wide,MUG-W,,Kitchen,,visible,,9.00,Y,Y,Size,Wide,Color,Blue,,,N\n"
    )
    assert [(i.row, i.external_id, i.reason) for i in parsed.rejected] == [
        (3, "Mug", "Price 'abc' is not a number"),
        (4, "Mug", "variation is not sellable in Square (Sellable = N)"),
        (5, "Mug", "Current Quantity '2.5' is not a whole number"),
        (6, "Mug", "Sellable 'maybe' is not yes/no (Y/N, TRUE/FALSE or 1/0)"),
        (7, "Mug", "duplicate variation: same options (Large) as row 1"),
        (8, "T8", "missing Item Name"),
        (10, "Mug", "options (Size, Color) differ from this item's (Size, set on row 1)"),
    ]
    mug = _product(parsed, "Mug")
    assert [(v.external_id, v.sku, v.title, v.price, v.stock, v.weight_grams, v.barcode) for v in mug.variants] == [
        ("T1", "MUG-L", "Large", 1200, 5, 680, "0012345678905"),  # 3 + 2.0 units in two locations
        ("T2", None, "Small", 1000, 0, None, None),  # not stockable: 0; Excel-mangled SKU and GTIN dropped
    ]
    assert mug.source_rows == [1, 2]
    assert mug.description == "Stoneware"
    tea = _product(parsed, "Secret Tea")
    assert (tea.status, tea.option_names, tea.variants[0].title, tea.variants[0].stock) == ("draft", [], "Default", 0)
    assert [(i.row, i.reason.split(" ")[0]) for i in parsed.warnings] == [(2, "SKU"), (2, "barcode"), (9, "Current")]
    assert parsed.warnings[2].reason == "Current Quantity '-2' is negative; imported as 0"


def test_variations_without_item_options_are_named_by_variation() -> None:
    parsed = _parse(
        "A1,Candle,Small,C-S,,Home,,visible,,8.00,,,,,,,1,,N\n"
        "A2,Candle,Large,C-L,,Home,,visible,,14.00,,,,,,,1,,N\n"
    )
    candle = parsed.products[0]
    assert candle.option_names == ["Variation"]
    assert [(v.title, v.options, v.price) for v in candle.variants] == [
        ("Small", {"Variation": "Small"}, 800), ("Large", {"Variation": "Large"}, 1400)]


def _api(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "square" / name).read_text(encoding="utf-8"))
    return body


def test_catalog_api_objects_map_like_the_export() -> None:
    counts = _api("api_batch_retrieve_inventory_counts_response.json")["counts"]
    body = _api("api_batch_retrieve_catalog_objects_response.json")
    parsed = parse_catalog_objects(body["objects"], "USD", related=body["related_objects"], counts=counts)
    assert parsed.format == "square"
    assert [(p.external_id, p.title, p.category_path, p.option_names) for p in parsed.products] == [
        ("W62UWFY35CWMYGVWK6TWJDNI", "Tea", ["Beverages"], []),
        ("AA27W3M2GGTF3H6AVPNB77CK", "Coffee", ["Beverages"], ["Variation"]),
    ]
    tea, coffee = parsed.products
    # the example's count is filed under the Tea *item* id: it counts for its only variation
    assert [(v.external_id, v.title, v.price, v.stock) for v in tea.variants] == [
        ("2TZFAOHWGG7PAK2QEXWYPZSP", "Default", 150, 79)]
    assert [(v.title, v.options, v.price, v.stock) for v in coffee.variants] == [
        ("Regular", {"Variation": "Regular"}, 250, 0), ("Large", {"Variation": "Large"}, 350, 0)]

    listed = _api("api_list_catalog_response.json")  # a CATEGORY and a TAX, no ITEM
    assert parse_catalog_objects(listed["objects"], "USD").products == []


def test_catalog_api_variable_price_and_other_currency_are_rejected() -> None:
    upsert = _api("api_upsert_catalog_object_response.json")["catalog_object"]
    parsed = parse_catalog_objects([upsert], "USD")
    assert [(i.row, i.external_id, i.reason) for i in parsed.rejected] == [
        (1, "R2TA2FOBUGCJZNIWJSOSNAI4", "missing Price (a variable-price variation has no price to sell at)")]
    assert [(v.title, v.price) for v in parsed.products[0].variants] == [("Large", 400)]
    search = _api("api_search_catalog_objects_response.json")
    euros = parse_catalog_objects(search["objects"], "EUR")
    assert euros.products == []
    assert {i.reason for i in euros.rejected} == {"price is in USD but this shop sells in EUR"}
    assert len(euros.rejected) == 3
