"""Error codes of coins and gifts (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class GiftsError(StrEnum):
    CANNOT_GIFT_YOURSELF = "cannot_gift_yourself"
    COIN_PACK_NOT_FOUND = "coin_pack_not_found"
    COIN_PURCHASE_NOT_FOUND = "coin_purchase_not_found"
    COIN_PURCHASE_NOT_REFUNDABLE = "coin_purchase_not_refundable"
    GIFT_NAME_TAKEN = "gift_name_taken"
    GIFT_NOT_FOUND = "gift_not_found"
    INSUFFICIENT_COINS = "insufficient_coins"
