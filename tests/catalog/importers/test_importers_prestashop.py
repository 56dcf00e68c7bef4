"""PrestaShop products + combinations CSV (semicolons, ragged first row, EAN-13 leading zeros)."""

from __future__ import annotations

from pathlib import Path

from mercato.catalog.importers import ImportedProduct, ParsedCatalog, parse_catalog

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
PRODUCTS = DATA / "prestashop" / "products_import.csv"
COMBINATIONS = DATA / "prestashop" / "combinations_import.csv"


def _parse(with_combinations: bool = True) -> ParsedCatalog:
    combinations = COMBINATIONS.read_bytes() if with_combinations else None
    return parse_catalog(PRODUCTS.read_bytes(), "products_import.csv", "USD", combinations=combinations)


def _product(parsed: ParsedCatalog, external_id: str) -> ImportedProduct:
    return next(p for p in parsed.products if p.external_id == external_id)


def test_products_only() -> None:
    parsed = _parse(with_combinations=False)
    assert parsed.format == "prestashop"
    assert [p.external_id for p in parsed.products] == ["1", "2", "3", "4", "5", "6", "7"]
    assert all(len(p.variants) == 1 and p.option_names == [] for p in parsed.products)
    assert parsed.rejected == []
    # the discounts of products 1 (5.5 %) and 3 (100) are not turned into prices
    assert [(w.row, w.external_id) for w in parsed.warnings] == [(1, "1"), (3, "3")]
    nano = _product(parsed, "1")
    assert nano.title == "iPod Nano"
    assert nano.category_path == ["iPods"]
    assert nano.brand == "Apple"
    assert nano.tags == ["apple", "ipod", "nano"]
    assert len(nano.image_urls) == 2
    assert nano.attributes["discount_percent"] == "5.5"
    (variant,) = nano.variants
    assert (variant.sku, variant.price, variant.stock, variant.weight_grams) == ("RP-demo_1", 10000, 160, 68)
    assert variant.barcode == "1234567890123"


def test_with_combinations_counts() -> None:
    parsed = _parse()
    assert len(parsed.products) == 7
    assert [len(p.variants) for p in parsed.products] == [16, 4, 3, 1, 3, 1, 1]
    assert sum(len(p.variants) for p in parsed.products) == 29
    # MacBook Air combinations rows 23 and 24 have the very same options
    (issue,) = parsed.rejected
    assert (issue.row, issue.external_id) == (24, "3")
    assert issue.reason.startswith("(combinations file) duplicate combination")
    # 2 discounts + rows 21/22 sharing the Reference RP-MacBookAir80GB-1.6MHz
    assert len(parsed.warnings) == 3
    assert "RP-MacBookAir80GB-1.6MHz" in parsed.warnings[-1].reason


def test_combination_values() -> None:
    parsed = _parse()
    nano = _product(parsed, "1")
    assert nano.option_names == ["Color", "Disk space"]
    first = nano.variants[0]  # the ragged (25-field) first combinations row
    assert first.sku == "RP-Nano-Blue-16GB"
    assert first.options == {"Color": "Blue", "Disk space": "16GB"}
    assert first.title == "Blue / 16GB"
    assert first.price == 14000  # 100 + impact 40
    assert first.barcode == "0000080446392"  # EAN-13 leading zeros kept
    assert (first.stock, first.weight_grams, first.image_url) == (10, 68, "http://youdomain.com/img.jpg")
    assert nano.variants[1].price == 10000
    assert len(nano.image_urls) == 3
    air = _product(parsed, "3")
    assert air.option_names == ["Color", "Disk space", "ICU"]
    assert [v.price for v in air.variants] == [225000, 150000, 172500]
    assert air.variants[1].sku is None  # duplicate Reference
    touch = _product(parsed, "5")
    assert [(v.title, v.price) for v in touch.variants] == [("8GB", 24000), ("16GB", 31500), ("32GB", 39000)]
    single = _product(parsed, "4")
    (variant,) = single.variants
    assert (variant.sku, variant.price, variant.stock, variant.weight_grams) == (
        "RP-demo_4",
        115000,
        75,
        4454,
    )
    assert _product(parsed, "6").brand == "Belkin"


def test_deterministic() -> None:
    assert _parse() == _parse()


def test_inline_decimal_comma_and_orphans() -> None:
    products = (
        "Product ID;Active (0/1);Name *;Categories (x,y,z...);Price tax excluded;Weight;Quantity;"
        "Reference #\n"
        "1;0;Lamp;Home,Deco;12,50;1,5;3;LAMP\n"
        "2;1;;Home;5;;;\n"
        "3;1;Chair;Home;x;;;\n"
    )
    combinations = (
        "Product ID*;Attribute (Name:Type:Position)*;Value (Value:Position)*;Reference;Impact on price;"
        "Quantity\n"
        "1;Color:color:0;Red:0;LAMP-R;-2,50;4\n"
        "1;Color:color:0, Size:select:1;Blue:0, XL:1;LAMP-B;0;1\n"
        "9;Color:color:0;Red:0;X;0;1\n"
        "2;Color:color:0;Red:0;Y;0;1\n"
        "1;Color:color:0;Green:0;LAMP-G;-20;1\n"
    )
    parsed = parse_catalog(products.encode(), "p.csv", "EUR", combinations=combinations.encode())
    (lamp,) = parsed.products
    assert lamp.status == "draft"
    assert lamp.category_path == ["Home"]
    assert [(v.sku, v.price, v.stock, v.weight_grams) for v in lamp.variants] == [("LAMP-R", 1000, 4, 1500)]
    # products-file issues first, then the combinations file's (each by its own row numbers)
    assert [(i.row, i.reason) for i in parsed.rejected] == [
        (2, "missing Name"),
        (3, "Price tax excluded 'x' is not a number"),
        (
            2,
            "(combinations file) attributes (Color, Size) differ from this product's "
            "(Color, combinations row 1)",
        ),
        (3, "(combinations file) product 9 is not in the products file"),
        (4, "(combinations file) product 2 was rejected (products file row 2)"),
        (5, "(combinations file) Impact on price '-20' makes the price negative"),
    ]
