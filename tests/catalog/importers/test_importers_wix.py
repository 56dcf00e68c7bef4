"""Wix Stores ``catalog_products.csv``: the real export, plus inline files for each refusal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from mercato.catalog.importers import ImportedProduct, ParsedCatalog, parse_catalog
from mercato.catalog.importers.wix import choice_label, parse_v1_products, parse_v3_products

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
WIX = DATA / "wix" / "catalog_products.csv"
HEADER = (
    "handleId,fieldType,name,description,productImageUrl,collection,sku,ribbon,price,surcharge,visible,discountMode,"
    "discountValue,inventory,weight,productOptionName1,productOptionType1,productOptionDescription1,brand\n"
)


def _parse(text: str) -> ParsedCatalog:
    return parse_catalog((HEADER + text).encode(), "catalog_products.csv", "USD")


def _product(parsed: ParsedCatalog, suffix: str) -> ImportedProduct:
    return next(p for p in parsed.products if p.external_id.endswith(suffix))


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(WIX.read_text(encoding="utf-8-sig"), newline="")))


def test_real_export_counts() -> None:
    rows = _rows()
    parsed = parse_catalog(WIX.read_bytes(), WIX.name, "USD")
    assert parsed.format == "wix"
    products = [r["handleId"] for r in rows if r["fieldType"] == "Product"]
    assert [p.external_id for p in parsed.products] == products
    assert len(products) == 23
    # Counted by hand: 15 products without options (1 variant each); 4 with Variant rows (2 + 3 + 3 + 2 rows);
    # 4 with options but no Variant rows, one variant per combination of choices (3, 2, 1 and 6 sizes x 2 colours).
    variant_rows = sum(1 for r in rows if r["fieldType"] == "Variant")
    assert variant_rows == 10
    assert sum(len(p.variants) for p in parsed.products) == 15 + variant_rows + 3 + 2 + 1 + 12 == 43
    assert parsed.rejected == []
    assert [(w.row, w.reason.split(" ")[0]) for w in parsed.warnings] == [(11, "Wix"), (21, "SKU"), (22, "SKU"),
                                                                          (30, "SKU")]


def test_real_export_products_and_variants() -> None:
    parsed = parse_catalog(WIX.read_bytes(), WIX.name, "USD")
    john = parsed.products[0]
    assert john.title.startswith("John 3;16 God so loved")  # ';' inside a name is not a separator
    assert john.description.startswith("<p>This barrel head with the Bible verse")
    assert john.image_urls[0] == "https://static.wixstatic.com/media/112834_17b255e668e44d02b05bfbb28b08d237~mv2.jpg"
    assert len(john.image_urls) == 4
    assert john.attributes["ribbon"] == "New Arrival"
    assert john.attributes["Shipping"].startswith("<p>We offer free shipping")
    assert (john.status, john.option_names, john.variants[0].title, john.variants[0].price) == (
        "active", [], "Default", 8900)

    table = _product(parsed, "3fb6a3c8-988b-8755-04bd-5c59ae0b18ea")  # price 0, the variants carry surcharges
    assert table.option_names == ["Size"]
    assert [(v.title, v.price, v.sku) for v in table.variants] == [
        ('30" Glass Top Inches', 59500, None), ('36" Glass Top Inches', 67500, None)]
    assert table.source_rows == [30, 31, 32]

    smoker = _product(parsed, "c8539b66-7a44-fe18-affc-afec4be8562a")  # COLOR choices as '#000:Black;rgb(...):White'
    assert [v.options for v in smoker.variants] == [{"Color": "Black"}, {"Color": "White"}]

    board = _product(parsed, "0c81b2f3-5691-e0f0-ae29-e73a5dfefa33")  # inventory 2 for the product as a whole
    assert [(v.title, v.stock) for v in board.variants] == [("Natural", 0), ("Golden Oak", 0), ("Dark Walnut", 0)]
    chips = _product(parsed, "cd59cd36-b6d2-2cf3-9d48-81793a7bdbbd")
    assert (chips.category_path, chips.variants[0].stock) == (["Bourbon Smoking Chips"], 10)

    feeder = _product(parsed, "52b0658f-3b3d-796e-9532-87cd79468363")
    assert feeder.option_names == ["Size", "Color"]
    assert len(feeder.variants) == 12
    assert feeder.variants[-1].options == {"Size": '14"+ 2 bowl', "Color": "Wine Barrel"}
    assert all(v.sku is None for v in feeder.variants)  # '6.71253E+11' lost its digits


def test_choice_labels() -> None:
    assert choice_label("#000000:Natural", "COLOR") == "Natural"
    assert choice_label("rgb(255, 255, 255):White", "COLOR") == "White"
    assert choice_label("whiskey barrel:Whiskey Barrel", "COLOR") == "Whiskey Barrel"
    assert choice_label('30" Glass Top', "DROP_DOWN") == '30" Glass Top'


def test_variant_rows_discounts_and_refusals() -> None:
    parsed = _parse(
        "p1,Product,Tee,<p>Soft</p>,a~mv2.jpg;https://cdn.example/b.jpg,Shirts;Sale,TEE,,20,,TRUE,PERCENT,10,,0,"
        "Size,DROP_DOWN,S;M;L;XL,Acme\n"
        "p1,Variant,,,,,TEE-S,,,0,TRUE,,,4,,,,S,\n"
        "p1,Variant,,,,,TEE-M,,,2.5,FALSE,,,InStock,,,,M,\n"
        "p1,Variant,,,,,TEE-L,,,abc,TRUE,,,1,,,,L,\n"
        "p1,Variant,,,,,TEE-X,,,0,TRUE,,,1.5,,,,XL,\n"
        "p1,Variant,,,,,TEE-S2,,,0,TRUE,,,1,,,,S,\n"
        "p2,Product,Mug,,,,,,,,TRUE,,,,,,,,\n"
        "p2,Variant,,,,,MUG-1,,,0,TRUE,,,1,,,,,\n"
        "p3,Variant,,,,,ORPHAN,,,0,TRUE,,,1,,,,,\n"
        "p4,Product,Cap,,,,CAP,,12,,maybe,,,,,,,,\n"
        "p5,Bundle,Kit,,,,,,12,,TRUE,,,,,,,,\n"
        "p6,Product,Pin,,,,PIN,,5,,FALSE,AMOUNT,1.50,7,,,,,\n"
    )
    assert [(i.row, i.external_id, i.reason) for i in parsed.rejected] == [
        (4, "p1", "surcharge 'abc' is not a number"),
        (5, "p1", "inventory '1.5' is not a whole number"),
        (6, "p1", "duplicate variant: same choices (S) as row 2"),
        (7, "p2", "missing price"),
        (8, "p2", "its product (row 7) was rejected"),
        (9, "p3", "variant row without its Product row"),
        (10, "p4", "visible 'maybe' is not yes/no (Y/N, TRUE/FALSE or 1/0)"),
        (11, "p5", "fieldType 'Bundle' is not Product or Variant"),
    ]
    tee = _product(parsed, "p1")
    assert (tee.category_path, tee.tags, tee.brand) == (["Shirts"], ["Sale"], "Acme")
    assert tee.image_urls == ["https://static.wixstatic.com/media/a~mv2.jpg", "https://cdn.example/b.jpg"]
    assert [(v.sku, v.title, v.price, v.compare_at_price, v.stock) for v in tee.variants] == [
        ("TEE-S", "S", 1800, 2000, 4),  # 10 % off 20.00
        ("TEE-M", "M", 2025, 2250, 0),  # 20.00 + 2.50 surcharge, 10 % off; InStock says no number
    ]
    assert tee.source_rows == [1, 2, 3]
    assert tee.attributes == {"sku": "TEE"}
    assert [(w.row, w.reason) for w in parsed.warnings] == [
        (3, "variant is hidden in Wix (visible = FALSE); imported as an ordinary variant")]
    pin = _product(parsed, "p6")
    assert (pin.status, pin.variants[0].price, pin.variants[0].compare_at_price, pin.variants[0].sku) == (
        "draft", 350, 500, "PIN")
    assert [p.external_id for p in parsed.products] == ["p1", "p6"]


def test_catalog_v1_api_products() -> None:
    products = json.loads((DATA / "wix" / "catalog_v1_query_products.json").read_text(encoding="utf-8"))
    parsed = parse_v1_products(products, "EUR")
    assert parsed.format == "wix"
    assert len(parsed.products) == len(products) == 119
    assert sum(len(p.variants) for p in parsed.products) == 119  # manageVariants is false everywhere
    assert parsed.rejected == [] and parsed.warnings == []
    beast = parsed.products[0]
    assert (beast.external_id, beast.title, beast.status) == (
        "ca19670b-45e8-c904-f0b8-91565229ebef", "Peat's Beast- PX finish- 54.1%", "active")
    assert [(v.sku, v.price, v.compare_at_price, v.stock) for v in beast.variants] == [("1-11-0001", 28900, None, 24)]
    assert beast.image_urls[0].startswith("https://static.wixstatic.com/media/9e37b5_05b114a6943d4aa8b02d9875bf05eec8")
    discounted = [(p.title, p.variants[0].price, p.variants[0].compare_at_price) for p in parsed.products
                  if p.variants[0].compare_at_price]
    assert discounted == [("Indian Summer Gin- 46%", 11000, 14000),  # AMOUNT 30 off 140
                          ("Indian Summer Gin- Ex-Highland Sherry cask 48.1%", 16000, 22000),
                          ("Indian Summer Gin- Ex-Speyside Sherry cask 50.2%", 16000, 22000)]
    wrong = parse_v1_products(products[:1], "USD")
    assert [(i.row, i.reason) for i in wrong.rejected] == [(1, "price is in EUR but this shop sells in USD")]


def test_catalog_v1_managed_variants_become_variant_rows() -> None:
    product = {
        "_id": "p-1", "name": "Tee", "visible": True, "manageVariants": True,
        "priceData": {"currency": "USD", "price": 20},
        "stock": {"trackInventory": False, "inStock": True},
        "productOptions": [{"optionType": "color", "name": "Color",
                            "choices": [{"value": "#000", "description": "Black"},
                                        {"value": "#fff", "description": "White"}]}],
        "variants": [
            {"choices": {"Color": "Black"}, "variant": {"priceData": {"price": 20}, "sku": "TEE-B", "visible": True},
             "stock": {"trackQuantity": True, "quantity": 4}},
            {"choices": {"Color": "White"}, "variant": {"priceData": {"price": 22.5}, "sku": "TEE-W",
                                                        "visible": False},
             "stock": {"trackQuantity": False, "inStock": False}},
        ],
    }
    parsed = parse_v1_products([product], "USD")
    (tee,) = parsed.products
    assert tee.option_names == ["Color"]
    assert [(v.sku, v.options, v.price, v.stock) for v in tee.variants] == [
        ("TEE-B", {"Color": "Black"}, 2000, 4), ("TEE-W", {"Color": "White"}, 2250, 0)]
    assert [(w.row, w.reason) for w in parsed.warnings] == [
        (1, "variant is hidden in Wix (visible = FALSE); imported as an ordinary variant")]


def test_catalog_v3_get_product_results() -> None:
    fetched = json.loads((DATA / "wix" / "catalog_v3_get_product.json").read_text(encoding="utf-8"))
    parsed = parse_v3_products(fetched, "ILS")
    assert len(parsed.products) == len(fetched) == 12
    assert sum(len(p.variants) for p in parsed.products) == sum(
        len(item.get("product", item)["variantsInfo"]["variants"]) for item in fetched) == 30
    assert parsed.rejected == []
    tote = next(p for p in parsed.products if p.title == "Minimalist Tote Bag")
    assert tote.option_names == ["Color"]
    assert [(v.title, v.sku, v.price, v.stock) for v in tote.variants] == [
        ("White", "364215375135191", 2000, 0), ("Purple", "364215375135192", 2000, 0)]
    assert tote.variants[0].image_url == (
        "https://static.wixstatic.com/media/22e53e_403950cd77974f9887339264944d760e~mv2.jpg")
    sweater = next(p for p in parsed.products if p.title == "Knitted Golf Sweater")
    assert sweater.option_names == ["Size", "Color"]
    assert [(v.title, v.sku, v.price) for v in sweater.variants[:2]] == [
        ("Small / White", "217537123517253", 28000), ("Small / Dark Green", None, 27500)]  # variants without sku
    cap = next(p for p in parsed.products if p.title == "Baseball Cap")
    assert (cap.variants[0].price, cap.variants[0].compare_at_price, cap.attributes) == (6800, 12900,
                                                                                         {"ribbon": "Sale"})

    queried = json.loads((DATA / "wix" / "catalog_v3_query_products.json").read_text(encoding="utf-8"))
    summary_only = parse_v3_products(queried, "ILS")  # a query returns only variantSummary
    assert summary_only.products == []
    assert {i.reason for i in summary_only.rejected} == {
        "no variantsInfo: read the product with getProduct (a query returns only a summary)"}
