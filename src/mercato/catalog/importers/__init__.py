"""Catalog file parsers: WooCommerce, Shopify (CSV/JSON), PrestaShop, Square, Wix, Magento 2, OpenCart and generic CSV.

Pure functions from bytes to :class:`ParsedCatalog`; nothing here touches the
database or the network (image URLs are recorded, never fetched). See
docs/catalog-import.md.
"""

from .detect import detect_format, parse_catalog
from .records import (
    FORMATS,
    CatalogFormatError,
    ImportedProduct,
    ImportedVariant,
    ParsedCatalog,
    RowIssue,
)

__all__ = [
    "FORMATS",
    "CatalogFormatError",
    "ImportedProduct",
    "ImportedVariant",
    "ParsedCatalog",
    "RowIssue",
    "detect_format",
    "parse_catalog",
]
