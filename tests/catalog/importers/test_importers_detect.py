"""Format detection, whole-file errors and determinism across every real sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from mercato.catalog.importers import FORMATS, CatalogFormatError, detect_format, parse_catalog
from mercato.kit.money import MoneyError

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
SAMPLES = {
    "woocommerce/sample_products.csv": "woocommerce",
    "shopify/product_template.csv": "shopify_csv",
    "shopify/products.json": "shopify_json",
    "prestashop/products_import.csv": "prestashop",
    "square/item_library_export.csv": "square",
    "wix/catalog_products.csv": "wix",
    "opencart/opencart-3.0.5.0.sql": "opencart",
    "opencart/opencart-4.1.0.4-en-gb.sql": "opencart",
}
MAGENTO = Path(__file__).resolve().parent / "data" / "magento_products.csv"


def test_formats_constant() -> None:
    assert FORMATS == ("woocommerce", "shopify_csv", "shopify_json", "generic_csv", "prestashop",
                       "square", "wix", "magento", "opencart")


@pytest.mark.parametrize(("name", "fmt"), sorted(SAMPLES.items()))
def test_detect_real_files(name: str, fmt: str) -> None:
    path = DATA / name
    assert detect_format(path.read_bytes(), path.name) == fmt
    assert detect_format(b"\xef\xbb\xbf" + path.read_bytes(), "upload") == fmt  # no extension, BOM


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_files_parse_deterministically(name: str) -> None:
    data = (DATA / name).read_bytes()
    assert parse_catalog(data, name, "USD") == parse_catalog(data, name, "USD")


def test_detect_magento_fixture() -> None:
    assert detect_format(MAGENTO.read_bytes(), MAGENTO.name) == "magento"
    assert parse_catalog(MAGENTO.read_bytes(), "m.csv", "USD") == parse_catalog(MAGENTO.read_bytes(), "m.csv", "USD")


def test_sql_dump_without_opencart_tables_is_refused() -> None:
    dump = b"-- MySQL dump\nCREATE TABLE `wp_posts` (`ID` int);\nINSERT INTO `wp_posts` VALUES (1);\n"
    with pytest.raises(CatalogFormatError, match="unrecognised SQL dump: expected an OpenCart database dump"):
        detect_format(dump, "shop.sql")
    with pytest.raises(CatalogFormatError, match="unrecognised catalog file"):
        detect_format(dump, "shop.txt")  # not a .sql file, so it is judged as a CSV, and is none


def test_unrecognised_file_names_every_format() -> None:
    with pytest.raises(CatalogFormatError) as caught:
        detect_format(b"name,colour\nx,y\n", "a.csv")
    message = str(caught.value)
    for platform in ("WooCommerce", "Shopify", "PrestaShop", "Square", "Wix", "Magento 2", "OpenCart"):
        assert platform in message
    assert message.endswith("the header starts with: name, colour")


def test_detect_generic() -> None:
    assert detect_format(b"product_id,title,price\nA,B,1\n", "c.csv") == "generic_csv"
    assert detect_format(b"Product ID;Title;Price\nA;B;1\n", "c.txt") == "generic_csv"


def test_combinations_file_alone_is_refused() -> None:
    path = DATA / "prestashop" / "combinations_import.csv"
    with pytest.raises(CatalogFormatError, match="combinations file"):
        detect_format(path.read_bytes(), path.name)


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.csv", "empty"),
        (b"hello world\nthis is not a catalog\n", "a.csv", "unrecognised catalog file"),
        (b"name,colour\nx,y\n", "a.csv", "unrecognised catalog file"),
        (bytes(range(256)) * 4, "a.csv", "binary"),
        (b"PK\x03\x04rest-of-zip", "a.csv", "spreadsheet"),
        (b"product_id,title,price\n", "catalog.xlsx", "spreadsheet"),
        (b"product_id,title,price\n", "catalog.pdf",
         r"unsupported file type '\.pdf' \(expected \.csv, \.json or \.sql\)"),
        ("product_id,title,price\nA,Caf\u00e9,1\n".encode("latin-1"), "a.csv", "not UTF-8"),
        ("product_id,title\n".encode("utf-16"), "a.csv", "UTF-16"),
        (b'{"products": [', "p.json", "not valid JSON"),
        (b"product_id,title,price\n", "p.json", "not valid JSON"),
        (b'{"orders": []}', "p.json", "not a Shopify product export"),
        (b'[{"name": "x"}]', "p.json", "does not contain Shopify products"),
    ],
)
def test_unreadable_files(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(CatalogFormatError, match=message):
        detect_format(data, filename)
    with pytest.raises(CatalogFormatError):
        parse_catalog(data, filename, "USD")


def test_forced_format_needs_its_columns() -> None:
    shopify = (DATA / "shopify" / "product_template.csv").read_bytes()
    with pytest.raises(CatalogFormatError, match="WooCommerce CSV: required column"):
        parse_catalog(shopify, "x.csv", "USD", "woocommerce")
    with pytest.raises(CatalogFormatError, match="not valid JSON"):
        parse_catalog(shopify, "x.csv", "USD", "shopify_json")
    with pytest.raises(CatalogFormatError, match="unknown format"):
        parse_catalog(shopify, "x.csv", "USD", "bigcommerce")
    with pytest.raises(CatalogFormatError,
                       match=r"Magento product CSV: required column\(s\) missing: sku, product_type, "):
        parse_catalog(shopify, "x.csv", "USD", "magento")
    with pytest.raises(CatalogFormatError, match=r"Square Item Library CSV: required column\(s\) missing: Item Name"):
        parse_catalog(shopify, "x.csv", "USD", "square")
    with pytest.raises(CatalogFormatError, match=r"Wix Stores CSV: required column\(s\) missing: handleId, fieldType"):
        parse_catalog(shopify, "x.csv", "USD", "wix")
    with pytest.raises(CatalogFormatError, match="the SQL dump has no OpenCart product data"):
        parse_catalog(shopify, "x.csv", "USD", "opencart")


def test_combinations_only_with_prestashop() -> None:
    shopify = (DATA / "shopify" / "product_template.csv").read_bytes()
    with pytest.raises(CatalogFormatError, match="PrestaShop"):
        parse_catalog(shopify, "x.csv", "USD", combinations=b"Product ID*;Attribute;Value\n")
    products = (DATA / "prestashop" / "products_import.csv").read_bytes()
    with pytest.raises(CatalogFormatError, match="combinations CSV: required column"):
        parse_catalog(products, "p.csv", "USD", combinations=b"foo;bar\n1;2\n")


def test_unsupported_currency() -> None:
    with pytest.raises(MoneyError):
        parse_catalog(b"product_id,title,price\nA,B,1\n", "c.csv", "XYZ")


def test_header_only_file_is_empty_not_an_error() -> None:
    parsed = parse_catalog(b"product_id,title,price\r\n", "c.csv", "USD")
    assert (parsed.products, parsed.rejected, parsed.warnings) == ([], [], [])


def test_duplicate_products_and_skus_across_the_file() -> None:
    body = (
        "ID,Type,SKU,Name,Regular price\n"
        "1,simple,A,Alpha,1\n"
        "2,simple,A,Alpha again,2\n"
        "3,variable,V,Vee,\n"
        "4,variation,B,V1,1,\n"
    )
    parsed = parse_catalog(body.encode(), "woo.csv", "USD")
    assert [p.external_id for p in parsed.products] == ["A"]
    assert [(i.row, i.reason) for i in parsed.rejected] == [
        (2, "duplicate product 'A': already defined on row 1"),
        (3, "variable product has no importable variations"),
        (4, "variation has no Parent (it must name the parent's SKU or id:NN)"),
    ]
