"""Mercato's generic CSV: one row per variant, grouped by product_id."""

from __future__ import annotations

import pytest

from mercato.catalog.importers import CatalogFormatError, ParsedCatalog, parse_catalog

HEADER = (
    "product_id,title,description,status,category,brand,tags,image_urls,variant_sku,"
    "option1_name,option1_value,option2_name,option2_value,price,compare_at_price,stock,weight_grams,barcode"
)


def _parse(*rows: str, header: str = HEADER, currency: str = "USD") -> ParsedCatalog:
    return parse_catalog(("\n".join((header, *rows)) + "\n").encode(), "catalog.csv", currency)


def test_happy_path_with_bom_crlf_and_quoted_fields() -> None:
    body = "\r\n".join(
        (
            HEADER,
            'TEE,Tee,"Soft,\r\nwarm",,Clothing > Tshirts,Acme,"summer, cotton",http://i/1.jpg|http://i/2.jpg,'
            "TEE-BS,Color,Blue,Size,S,19.99,24.99,5,180,0012345678905",
            "TEE,,,,,,,http://i/2.jpg http://i/3.jpg,TEE-BM,Color,Blue,Size,M,19.99,,7,,",
            "MUG,Mug,,draft,Home,,,,MUG-1,,,,,8,,,,",
        )
    )
    parsed = parse_catalog(b"\xef\xbb\xbf" + body.encode(), "catalog.csv", "USD")
    assert parsed.format == "generic_csv"
    assert parsed.rejected == []
    assert parsed.warnings == []
    tee, mug = parsed.products
    assert tee.external_id == "TEE"
    assert tee.description == "Soft,\r\nwarm"
    assert tee.status == "active"
    assert tee.category_path == ["Clothing", "Tshirts"]
    assert tee.brand == "Acme"
    assert tee.tags == ["summer", "cotton"]
    assert tee.image_urls == ["http://i/1.jpg", "http://i/2.jpg", "http://i/3.jpg"]
    assert tee.option_names == ["Color", "Size"]
    assert tee.source_rows == [1, 2]
    small, medium = tee.variants
    assert (small.sku, small.title, small.options) == ("TEE-BS", "Blue / S", {"Color": "Blue", "Size": "S"})
    assert (small.price, small.compare_at_price, small.stock, small.weight_grams) == (1999, 2499, 5, 180)
    assert small.barcode == "0012345678905"
    assert small.external_id is None
    assert medium.options == {"Color": "Blue", "Size": "M"}  # option names inherited from the first row
    assert mug.status == "draft"
    assert mug.option_names == []
    assert (mug.variants[0].title, mug.variants[0].price, mug.variants[0].stock) == ("Default", 800, 0)


def test_minimal_columns_and_semicolons() -> None:
    body = b'Product_ID;Title;Price\nA;Alpha;"1,299.50"\nB;Beta;1,5\n'
    parsed = parse_catalog(body, "x.csv", "USD", "generic_csv")
    assert parsed.products[0].variants[0].price == 129_950  # ',' as a thousands separator is fine
    assert [(i.row, i.reason) for i in parsed.rejected] == [
        (2, "price '1,5' has a comma that is not a thousands separator; use '.' for decimals")
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",Tee,,,,,,,,,,,,10,,,,", "missing product_id"),
        ("A,,,,,,,,,,,,,10,,,,", "missing title (no row of product 'A' has one)"),
        ("A,Tee,,,,,,,,,,,,,,,,", "missing price"),
        ("A,Tee,,,,,,,,,,,,abc,,,,", "price 'abc' is not a number"),
        ("A,Tee,,,,,,,,,,,,-1,,,,", "price '-1' is negative"),
        ("A,Tee,,,,,,,,,,,,1.999,,,,", "price '1.999' has more decimals than USD allows"),
        ("A,Tee,,,,,,,,,,,,10,n/a,,,", "compare_at_price 'n/a' is not a number"),
        ("A,Tee,,,,,,,,,,,,10,,lots,,", "stock 'lots' is not a number"),
        ("A,Tee,,,,,,,,,,,,10,,2.5,,", "stock '2.5' is not a whole number"),
        ("A,Tee,,,,,,,,,,,,10,,,heavy,", "weight_grams 'heavy' is not a number"),
        ("A,Tee,,,,,,,,,Blue,,,10,,,,", "option1_value 'Blue' has no option1_name"),
        ("A,Tee,,,,,,,,Color,,,,10,,,,", "missing option1_value (for option 'Color')"),
    ],
)
def test_each_rejection(row: str, reason: str) -> None:
    parsed = _parse(row)
    assert parsed.products == []
    assert [(i.row, i.reason) for i in parsed.rejected] == [(1, reason)]


def test_group_level_rejections() -> None:
    parsed = _parse(
        "A,Tee,,,,,,,A-1,Color,Blue,,,10,,,,",
        "A,,,,,,,,A-2,Size,S,,,10,,,,",
        "A,,,,,,,,A-3,,Blue,,,11,,,,",
        "A,,,,,,,,A-4,,Red,,,11,,,,",
    )
    (product,) = parsed.products
    assert [v.sku for v in product.variants] == ["A-1", "A-4"]
    assert [(i.row, i.reason) for i in parsed.rejected] == [
        (2, "option names (Size) differ from this product's (Color, set on row 1)"),
        (3, "duplicate variant: same options (Blue) as row 1"),
    ]


def test_warnings() -> None:
    parsed = _parse(
        "A,Tee,,published,,,,,A-1,,,,,10,9,-3,,1.23457E+11",
        header=HEADER + ",colour_code",
    )
    (product,) = parsed.products
    assert product.status == "draft"
    (variant,) = product.variants
    assert (variant.compare_at_price, variant.stock, variant.barcode) == (None, 0, None)
    reasons = [(w.row, w.reason) for w in parsed.warnings]
    assert reasons[0] == (0, "unknown column(s) ignored: colour_code")
    assert [row for row, _ in reasons] == [0, 1, 1, 1, 1]
    text = " ".join(r for _, r in reasons)
    assert "status 'published'" in text
    assert "compare-at price '9' is lower" in text
    assert "stock '-3' is negative" in text
    assert "scientific notation" in text


def test_zero_decimal_currency() -> None:
    assert _parse("A,Tee,,,,,,,,,,,,1200,,,,", currency="JPY").products[0].variants[0].price == 1200
    assert _parse("A,Tee,,,,,,,,,,,,12.5,,,,", currency="JPY").rejected[0].reason == (
        "price '12.5' has more decimals than JPY allows"
    )


def test_missing_required_column() -> None:
    with pytest.raises(CatalogFormatError, match="price"):
        parse_catalog(b"product_id,title\nA,Tee\n", "x.csv", "USD", "generic_csv")


def test_deterministic() -> None:
    rows = ("B,Bee,,,,,,,,,,,,3,,,,", "A,Tee,,,,,,,,Size,S,,,10,,,,", "A,,,,,,,,,Size,M,,,10,,,,")
    assert _parse(*rows) == _parse(*rows)
    assert [p.external_id for p in _parse(*rows).products] == ["B", "A"]


def test_ragged_rows() -> None:
    body = b"product_id,title,price\nA,Alpha,1,,\nB,Beta,2,surprise\nC,Gamma\n"
    parsed = parse_catalog(body, "x.csv", "USD")
    assert [p.external_id for p in parsed.products] == ["A", "B"]  # trailing empty fields are harmless
    assert [(w.row, "'surprise'" in w.reason) for w in parsed.warnings] == [(2, True)]
    assert [(i.row, i.reason) for i in parsed.rejected] == [(3, "missing price")]
