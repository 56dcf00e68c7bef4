"""WooCommerce CSV: the official sample catalog plus small inline files for each rejection."""

from __future__ import annotations

from pathlib import Path

from mercato.catalog.importers import ImportedProduct, ImportedVariant, ParsedCatalog, parse_catalog

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
WOO = DATA / "woocommerce" / "sample_products.csv"


def _parse(data: bytes | None = None) -> ParsedCatalog:
    return parse_catalog(WOO.read_bytes() if data is None else data, "sample_products.csv", "USD")


def _product(parsed: ParsedCatalog, external_id: str) -> ImportedProduct:
    return next(p for p in parsed.products if p.external_id == external_id)


def _variant(parsed: ParsedCatalog, sku: str) -> ImportedVariant:
    return next(v for p in parsed.products for v in p.variants if v.sku == sku)


def test_sample_counts() -> None:
    parsed = _parse()
    assert parsed.format == "woocommerce"
    # 12 simple + 2 "simple, downloadable, virtual" + 2 variable parents
    assert len(parsed.products) == 16
    # 14 single-variant products + 3 V-Neck variations + 4 Hoodie variations
    assert sum(len(p.variants) for p in parsed.products) == 21
    assert [(i.row, i.external_id) for i in parsed.rejected] == [(23, "logo-collection"), (24, "wp-pennant")]
    assert "grouped products are not supported" in parsed.rejected[0].reason
    assert "external" in parsed.rejected[1].reason
    assert parsed.warnings == []
    assert {p.status for p in parsed.products} == {"active"}
    assert all(p.brand is None for p in parsed.products)
    assert all(v.stock == 0 for p in parsed.products for v in p.variants)  # Stock column is empty


def test_variable_vneck_with_any_size() -> None:
    parsed = _parse()
    tee = _product(parsed, "woo-vneck-tee")
    assert tee.title == "Awesome V-Neck T-Shirt"
    assert tee.category_path == ["Clothing", "Tshirts"]
    assert tee.option_names == ["Color", "Size"]
    assert len(tee.image_urls) == 3
    assert tee.source_rows == [1, 15, 16, 17]
    assert [v.title for v in tee.variants] == ["Red / Any", "Green / Any", "Blue / Any"]
    red = _variant(parsed, "woo-vneck-tee-red")
    assert red.external_id == "76"
    assert red.options == {"Color": "Red", "Size": "Any"}
    assert red.price == 2000
    assert red.compare_at_price is None
    assert red.weight_grams == 227  # inherited from the parent: .5 lbs
    assert red.image_url is not None and red.image_url.endswith("/vneck-tee-2.jpg")
    assert _variant(parsed, "woo-vneck-tee-blue").price == 1500


def test_variable_hoodie_sale_price_and_options() -> None:
    parsed = _parse()
    hoodie = _product(parsed, "woo-hoodie")
    assert hoodie.option_names == ["Color", "Logo"]
    assert len(hoodie.variants) == 4
    assert len(hoodie.image_urls) == 4
    assert hoodie.source_rows == [2, 18, 19, 20, 25]
    red = _variant(parsed, "woo-hoodie-red")
    assert (red.price, red.compare_at_price) == (4200, 4500)
    assert red.weight_grams == 680  # 1.5 lbs
    logo = _variant(parsed, "woo-hoodie-blue-logo")
    assert logo.external_id == "90"
    assert logo.options == {"Color": "Blue", "Logo": "Yes"}
    assert logo.title == "Blue / Yes"


def test_simple_products() -> None:
    parsed = _parse()
    beanie = _product(parsed, "woo-beanie")
    assert beanie.option_names == []
    assert beanie.category_path == ["Clothing", "Accessories"]
    assert beanie.attributes["Color"] == "Red"  # a non-variation attribute
    (variant,) = beanie.variants
    assert (variant.title, variant.options, variant.external_id) == ("Default", {}, "48")
    assert (variant.price, variant.compare_at_price, variant.weight_grams) == (1800, 2000, 91)
    assert _product(parsed, "Woo-tshirt-logo").variants[0].price == 1800  # SKU case kept
    album = _product(parsed, "woo-album")
    assert album.category_path == ["Music"]
    assert album.attributes["downloadable"] == "yes"
    assert album.variants[0].weight_grams is None
    assert _variant(parsed, "woo-single").price == 200
    assert _product(parsed, "woo-hoodie-with-pocket").attributes["catalog_visibility"] == "hidden"


def test_bom_and_crlf_give_the_same_result() -> None:
    raw = WOO.read_bytes()
    assert b"\r" not in raw
    assert _parse(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")) == _parse(raw)


def test_deterministic() -> None:
    assert _parse() == _parse()


HEADER = (
    "ID,Type,SKU,Name,Published,Stock,Weight (kg),Sale price,Regular price,Categories,Images,Parent,"
    '"Attribute 1 name","Attribute 1 value(s)"\n'
)


def _mini(*rows: str) -> ParsedCatalog:
    return parse_catalog((HEADER + "\n".join(rows) + "\n").encode(), "woo.csv", "USD", "woocommerce")


def test_parent_by_id_and_kg_weight() -> None:
    parsed = _mini(
        '10,variable,,Mug,-1,,0.35,,,"Home > Kitchen, Sale",a.jpg,,Size,"S, L"',
        "11,variation,MUG-S,Mug S,1,7,,,9.50,,b.jpg,id:10,Size,S",
        "12,variation,MUG-L,Mug L,1,3,0.5,,10,,,id:10,Size,L",
    )
    assert parsed.rejected == []
    (mug,) = parsed.products
    assert mug.external_id == "woo:10"  # no SKU: woo:+ID
    assert mug.status == "draft"
    assert mug.category_path == ["Home", "Kitchen"]
    assert mug.image_urls == ["a.jpg", "b.jpg"]
    assert [(v.sku, v.price, v.stock, v.weight_grams) for v in mug.variants] == [
        ("MUG-S", 950, 7, 350),
        ("MUG-L", 1000, 3, 500),
    ]


def test_rejections() -> None:
    parsed = _mini(
        "1,simple,A,Alpha,1,,,,abc,,,,,",
        "2,simple,B,,1,,,,5,,,,,",
        "3,simple,C,Gamma,1,,,,,,,,,",
        "4,variation,D,Delta,1,,,,5,,,nope,,",
        "5,variation,E,Eps,1,,,,5,,,G,,",
        "6,simple,G,Gee,1,,,,5,,,,,",
        "7,variable,V,Vee,1,,,,,,,,Size,S",
        "8,simple,H,Aitch,1,many,,,5,,,,,",
        "9,simple,I,Eye,1,,,6,5,,,,,",
    )
    reasons = {i.row: i.reason for i in parsed.rejected}
    assert reasons[1] == "Regular price 'abc' is not a number"
    assert reasons[2] == "missing Name"
    assert reasons[3].startswith("missing price")
    assert reasons[4] == "parent 'nope' of this variation is not in the file"
    assert "is a simple product, not a variable product" in reasons[5]
    assert reasons[7] == "variable product has no importable variations"
    assert reasons[8] == "Stock 'many' is not a number"
    assert sorted(reasons) == [1, 2, 3, 4, 5, 7, 8]
    assert [p.external_id for p in parsed.products] == ["G", "I"]
    eye = parsed.products[1].variants[0]
    assert (eye.price, eye.compare_at_price) == (600, None)  # sale above regular: compare-at dropped
    assert [w.row for w in parsed.warnings] == [9]
