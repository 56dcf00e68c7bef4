"""Error codes of promotions (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class PromotionsError(StrEnum):
    ADMIN_ONLY = "admin_only"
    AMOUNT_NOT_ALLOWED = "amount_not_allowed"
    AMOUNT_REQUIRED = "amount_required"
    COUPON_BUSY = "coupon_busy"
    COUPON_CODE_TAKEN = "coupon_code_taken"
    COUPON_EXHAUSTED = "coupon_exhausted"
    COUPON_LIMIT_REACHED = "coupon_limit_reached"
    COUPON_MIN_SPEND = "coupon_min_spend"
    COUPON_NOT_ACTIVE = "coupon_not_active"
    COUPON_NOT_FOUND = "coupon_not_found"
    COUPON_NOT_STACKABLE = "coupon_not_stackable"
    COUPON_WINDOW = "coupon_window"
    COUPON_WRONG_CURRENCY = "coupon_wrong_currency"
    CREDITS_AMOUNT_INVALID = "credits_amount_invalid"
    CREDITS_INSUFFICIENT = "credits_insufficient"
    CREDITS_REASON_REQUIRED = "credits_reason_required"
    CURRENCY_REQUIRED = "currency_required"
    INVALID_ACTION = "invalid_action"
    INVALID_INPUT = "invalid_input"
    INVALID_ORDERS = "invalid_orders"
    NOT_SHOP_MEMBER = "not_shop_member"
    PERCENT_NOT_ALLOWED = "percent_not_allowed"
    PERCENT_REQUIRED = "percent_required"
    TOTAL_LIMIT_BELOW_USED = "total_limit_below_used"
    WRONG_CURRENCY = "wrong_currency"
