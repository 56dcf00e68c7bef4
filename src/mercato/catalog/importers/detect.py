"""Which catalog format a file is, and the one entry point that parses any of them."""

from __future__ import annotations

import csv
import io
from pathlib import PurePath

from mercato.kit.money import exponent

from .generic_csv import parse_generic_csv
from .magento import parse_magento
from .opencart import parse_opencart, table_prefix
from .prestashop import COMBINATIONS_PREFIX, parse_prestashop
from .records import (
    FORMATS,
    CatalogFormatError,
    ImportedProduct,
    ParsedCatalog,
    RowIssue,
    decode,
    norm_header,
    sniff_delimiter,
)
from .shopify_csv import parse_shopify_csv
from .shopify_json import load_products, parse_shopify_json
from .square import parse_square
from .wix import parse_wix
from .woocommerce import parse_woocommerce

_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers", ".zip")
_TEXT_EXTENSIONS = ("", ".csv", ".txt", ".tsv", ".json", ".sql")
_SQL_STARTS = ("--", "/*", "#", "create ", "insert ", "set ", "drop ", "lock ", "start ", "use ")


def detect_format(data: bytes, filename: str) -> str:
    """One of :data:`FORMATS`, judged by the extension and the header; else CatalogFormatError."""
    extension = PurePath(filename).suffix.lower()
    if extension in _SPREADSHEETS:
        raise CatalogFormatError(
            f"'{filename}' is a spreadsheet/archive: export the catalog as CSV (UTF-8) or JSON "
            "and upload that"
        )
    if extension not in _TEXT_EXTENSIONS:
        raise CatalogFormatError(
            f"'{filename}': unsupported file type '{extension}' (expected .csv, .json or .sql)"
        )
    text = decode(data)
    looks_sql = text.lstrip()[:8].lower().startswith(_SQL_STARTS)
    if extension == ".sql" or looks_sql:
        if table_prefix(text) is not None:
            return "opencart"
        if extension == ".sql":
            raise CatalogFormatError(
                "unrecognised SQL dump: expected an OpenCart database dump (with INSERT INTO `oc_product_description`)"
            )
    if extension == ".json" or text.lstrip()[:1] in ("[", "{"):
        _check_json(text)
        return "shopify_json"
    return _csv_format(text)


def _check_json(text: str) -> None:
    products = load_products(text)
    if products and not any(isinstance(p, dict) and ("variants" in p or "title" in p) for p in products[:20]):
        raise CatalogFormatError(
            "the JSON does not contain Shopify products (objects with 'title' and 'variants')"
        )


def _csv_format(text: str) -> str:
    delimiter = sniff_delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise CatalogFormatError(f"the file is not readable CSV: {exc}") from None
    names = {norm_header(h) for h in header}
    raw = {h.strip().lower().replace(" ", "_") for h in header}
    if "handle" in names and ("variantprice" in names or "title" in names):
        return "shopify_csv"
    if {"type", "sku", "name"} <= names and ("regularprice" in names or "parent" in names):
        return "woocommerce"
    if {"itemname", "variationname"} <= names and ("token" in names or "price" in names):
        return "square"
    if {"handleid", "fieldtype"} <= names:
        return "wix"
    if {"sku", "producttype"} <= names and ("storeviewcode" in names or "attributesetcode" in names):
        return "magento"
    if "productid" in names and "attribute" in names and "value" in names:
        raise CatalogFormatError(
            "this is a PrestaShop combinations file: upload the products file and pass this one "
            "as its combinations"
        )
    has_price = "pricetaxexcluded" in names or "pricetaxincluded" in names
    if "productid" in names and "name" in names and has_price:
        return "prestashop"
    if {"product_id", "title", "price"} <= raw:
        return "generic_csv"
    shown = ", ".join(h.strip() for h in header[:8] if h.strip()) or "(nothing readable)"
    raise CatalogFormatError(
        "unrecognised catalog file: expected a WooCommerce, Shopify (CSV or JSON), PrestaShop, Square (Item "
        "Library CSV), Wix Stores (catalog_products.csv) or Magento 2 product export, an OpenCart database dump "
        "(.sql), or "
        f"Mercato's generic CSV (product_id, title, price, ...); the header starts with: {shown}"
    )


def parse_catalog(
    data: bytes,
    filename: str,
    currency: str,
    fmt: str | None = None,
    *,
    combinations: bytes | None = None,
) -> ParsedCatalog:
    """Parse a catalog export into products, rejected rows and warnings.

    ``fmt`` skips detection (the file must still have that format's required
    columns). ``combinations`` is PrestaShop's combinations CSV. Raises
    :class:`CatalogFormatError` when the file as a whole cannot be read and
    :class:`mercato.kit.money.MoneyError` for an unsupported ``currency``.
    """
    exponent(currency)  # unsupported currency -> MoneyError, before reading anything
    if fmt is None:
        fmt = detect_format(data, filename)
    elif fmt not in FORMATS:
        raise CatalogFormatError(f"unknown format '{fmt}' (expected one of: {', '.join(FORMATS)})")
    if combinations is not None and fmt != "prestashop":
        raise CatalogFormatError("a combinations file only goes with a PrestaShop products file")
    text = decode(data)
    if fmt == "woocommerce":
        parsed = parse_woocommerce(text, currency)
    elif fmt == "shopify_csv":
        parsed = parse_shopify_csv(text, currency)
    elif fmt == "shopify_json":
        parsed = parse_shopify_json(text, currency)
    elif fmt == "generic_csv":
        parsed = parse_generic_csv(text, currency)
    elif fmt == "square":
        parsed = parse_square(text, currency)
    elif fmt == "wix":
        parsed = parse_wix(text, currency)
    elif fmt == "magento":
        parsed = parse_magento(text, currency)
    elif fmt == "opencart":
        parsed = parse_opencart(text, currency)
    else:
        combos = decode(combinations, "the combinations file") if combinations is not None else None
        parsed = parse_prestashop(text, currency, combos)
    return _finish(parsed)


def _finish(parsed: ParsedCatalog) -> ParsedCatalog:
    """File-wide checks shared by every format, then a stable order for the report.

    * a product external id seen twice: the later product is rejected (every row of it);
    * a SKU used by two variants anywhere in the file: the later variant keeps no SKU (warning).
    """
    products: list[ImportedProduct] = []
    first_row: dict[str, int] = {}
    for product in parsed.products:
        ext = product.external_id
        if ext in first_row:
            parsed.rejected.extend(
                RowIssue(row, ext, f"duplicate product '{ext}': already defined on row {first_row[ext]}")
                for row in product.source_rows
            )
            continue
        first_row[ext] = product.source_rows[0] if product.source_rows else 0
        products.append(product)
    sku_owner: dict[str, tuple[str, int]] = {}
    for product in products:
        row = product.source_rows[0] if product.source_rows else 0
        for variant in product.variants:
            if variant.sku is None:
                continue
            owner = sku_owner.get(variant.sku)
            if owner is None:
                sku_owner[variant.sku] = (product.external_id, row)
                continue
            parsed.warnings.append(
                RowIssue(
                    row,
                    product.external_id,
                    f"SKU '{variant.sku}' of variant '{variant.title}' is already used by product "
                    f"'{owner[0]}' (row {owner[1]}); this variant was imported without a SKU",
                )
            )
            variant.sku = None
    parsed.products = products
    parsed.rejected.sort(key=_issue_order)
    parsed.warnings.sort(key=_issue_order)
    return parsed


def _issue_order(issue: RowIssue) -> tuple[bool, int]:
    """By row; PrestaShop combinations-file issues after the products file's (other file, other rows)."""
    return issue.reason.startswith(COMBINATIONS_PREFIX), issue.row


__all__ = ["FORMATS", "detect_format", "parse_catalog"]
