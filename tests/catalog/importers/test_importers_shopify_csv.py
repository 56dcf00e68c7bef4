"""Shopify product CSV: the Help Center template (CRLF, scientific barcodes, image-only rows)."""

from __future__ import annotations

from pathlib import Path

from mercato.catalog.importers import ImportedProduct, ParsedCatalog, parse_catalog

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
TEMPLATE = DATA / "shopify" / "product_template.csv"


def _parse(data: bytes | None = None) -> ParsedCatalog:
    return parse_catalog(TEMPLATE.read_bytes() if data is None else data, "product_template.csv", "USD")


def _product(parsed: ParsedCatalog, handle: str) -> ImportedProduct:
    return next(p for p in parsed.products if p.external_id == handle)


def test_template_counts() -> None:
    parsed = _parse()
    assert parsed.format == "shopify_csv"
    assert [p.external_id for p in parsed.products] == ["example-shirt", "example-pants", "example-hat"]
    assert [len(p.variants) for p in parsed.products] == [12, 3, 1]
    assert parsed.rejected == []
    # 16 unrecoverable barcodes (one per variant) + 3 compare-at prices below the price (the jeans)
    assert len(parsed.warnings) == 19
    barcode = [w for w in parsed.warnings if "scientific notation" in w.reason]
    assert len(barcode) == 16
    assert barcode[0].row == 1
    assert "3.65275E+11" in barcode[0].reason
    assert all(v.barcode is None for p in parsed.products for v in p.variants)
    assert sum("compare-at price '64.95'" in w.reason for w in parsed.warnings) == 3


def test_crlf_is_handled() -> None:
    raw = TEMPLATE.read_bytes()
    assert b"\r\n" in raw
    parsed = _parse(raw)
    assert [p.status for p in parsed.products] == ["active", "draft", "archived"]
    for product in parsed.products:
        assert "\r" not in product.description + product.status + product.title
    assert _parse(b"\xef\xbb\xbf" + raw) == parsed  # and a BOM


def test_shirt() -> None:
    shirt = _product(_parse(), "example-shirt")
    assert shirt.title == "Example T-Shirt"
    assert shirt.brand == "Acme"
    assert shirt.category_path == ["Apparel & Accessories", "Clothing", "Clothing Tops", "T-Shirts"]
    assert shirt.tags == ["Made to Order", "Shirt Tag"]
    assert shirt.option_names == ["Color", "Size"]
    assert len(shirt.image_urls) == 6
    assert shirt.attributes["product_type"] == "Shirts"
    assert shirt.description.startswith("<p>This t-shirt")
    blue_m = next(v for v in shirt.variants if v.sku == "SRT_COT_222")
    assert blue_m.options == {"Color": "Blue", "Size": "M"}
    assert blue_m.title == "Blue / M"
    assert (blue_m.price, blue_m.compare_at_price, blue_m.stock, blue_m.weight_grams) == (2500, None, 0, 145)
    assert blue_m.external_id is None
    assert blue_m.image_url == "https://burst.shopifycdn.com/photos/cobalt-blue-t-shirt.jpg?width=1500"


def test_pants_with_image_only_row() -> None:
    pants = _product(_parse(), "example-pants")
    assert pants.option_names == ["Size"]
    assert pants.source_rows == [13, 14, 15, 16]  # row 16 carries only an image
    assert len(pants.image_urls) == 4
    assert pants.image_urls[-1].startswith("https://burst.shopifycdn.com/photos/female-fashion-model")
    assert [(v.title, v.price, v.compare_at_price, v.stock, v.weight_grams) for v in pants.variants] == [
        ("28", 9500, None, 20, 227),
        ("30", 9500, None, 15, 283),
        ("40", 9500, None, 10, 397),
    ]


def test_hat_default_title() -> None:
    hat = _product(_parse(), "example-hat")
    assert hat.option_names == []
    assert hat.category_path == ["Apparel & Accessories", "Clothing Accessories", "Hats", "Beanies"]
    (variant,) = hat.variants
    assert (variant.title, variant.options, variant.sku) == ("Default", {}, "HAT_GRY_275")
    assert (variant.price, variant.compare_at_price, variant.stock, variant.weight_grams) == (
        1799,
        2299,
        50,
        72,
    )
    assert len(hat.image_urls) == 1


def test_deterministic() -> None:
    assert _parse() == _parse()


HEADER = (
    "Handle,Title,Vendor,Type,Tags,Option1 Name,Option1 Value,Variant SKU,Variant Price,"
    "Variant Barcode,Image Src\r\n"
)


def test_inline_rows() -> None:
    body = (
        HEADER
        + 'cup,Cup,Co,Mugs,"a, b",Size,S,C-S,4.00,012345678905,http://i/1.jpg\r\n'
        + "cup,,,,,,M,C-M,abc,,\r\n"
        + "cup,,,,,,,C-X,5,,\r\n"
        + "cup,,,,,,S,C-S2,5,,\r\n"
        + "cup,,,,,,,,,,http://i/2.jpg\r\n"
        + ",,,,,,,,,,http://i/3.jpg\r\n"
        + "untitled,,,,,Title,Default Title,U,1,,\r\n"
    )
    parsed = parse_catalog(body.encode(), "x.csv", "USD")
    assert parsed.format == "shopify_csv"
    reasons = {i.row: i.reason for i in parsed.rejected}
    assert reasons == {
        2: "Variant Price 'abc' is not a number",
        3: "missing Option1 Value (for option 'Size')",
        4: "duplicate variant: same options (S) as row 1",
        6: "missing Handle",
        7: "missing Title: no row of handle 'untitled' has a Title",
    }
    (cup,) = parsed.products
    assert cup.category_path == ["Mugs"]  # no Product Category: Type
    assert cup.tags == ["a", "b"]
    assert cup.image_urls == ["http://i/1.jpg", "http://i/2.jpg"]
    assert cup.source_rows == [1, 5]
    assert cup.variants[0].barcode == "012345678905"
    assert cup.status == "active"
