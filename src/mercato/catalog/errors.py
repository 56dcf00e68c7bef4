"""Error codes of catalog (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class CatalogError(StrEnum):
    ALREADY_MEMBER = "already_member"
    COMPARE_AT_NOT_HIGHER = "compare_at_not_higher"
    DUPLICATE_OPTIONS = "duplicate_options"
    IMAGE_TOO_LARGE = "image_too_large"
    INCOMPLETE_OPTION = "incomplete_option"
    INVALID_FORMAT = "invalid_format"
    INVALID_NUMBER = "invalid_number"
    INVALID_PRICE = "invalid_price"
    INVALID_PRICE_RANGE = "invalid_price_range"
    INVALID_SORT = "invalid_sort"
    LAST_VARIANT = "last_variant"
    MISSING_PRICE = "missing_price"
    NO_VARIANTS = "no_variants"
    NOT_SHOP_MEMBER = "not_shop_member"
    OWNER_CANNOT_LEAVE = "owner_cannot_leave"
    OWNER_ONLY = "owner_only"
    SKU_TAKEN = "sku_taken"
    SLUG_TAKEN = "slug_taken"
    STOCK_BELOW_HELD = "stock_below_held"
    TOO_MANY_IMAGES = "too_many_images"
    TOO_MANY_VARIANTS = "too_many_variants"
    UNKNOWN_USER = "unknown_user"
    UNREADABLE_CATALOG = "unreadable_catalog"
    WRONG_SHOP = "wrong_shop"
