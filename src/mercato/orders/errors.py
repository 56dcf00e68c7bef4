"""Error codes the orders domain answers with (documented in docs/api.md, "Error codes").

The values are what clients see in ``error.code``; they never change.
"""

from __future__ import annotations

from enum import StrEnum


class OrdersError(StrEnum):
    # cart and checkout
    PRODUCT_UNAVAILABLE = "product_unavailable"
    QUANTITY_TOO_LARGE = "quantity_too_large"
    OUT_OF_STOCK = "out_of_stock"
    NOT_ENOUGH_STOCK = "not_enough_stock"
    CART_EMPTY = "cart_empty"
    ADDRESS_NOT_FOUND = "address_not_found"
    ADDRESS_REQUIRED = "address_required"
    PRICES_CHANGED = "prices_changed"
    CREDITS_ONE_CURRENCY = "credits_one_currency"
    # payment
    CHECKOUT_EXPIRED = "checkout_expired"
    CHECKOUT_CLOSED = "checkout_closed"
    # order life
    INVALID_STATUS = "invalid_status"
    CANCEL_WINDOW_PASSED = "cancel_window_passed"
    REASON_REQUIRED = "reason_required"
    TRACKING_REQUIRED = "tracking_required"
    # refunds and returns
    INVALID_AMOUNT = "invalid_amount"
    NOT_PAID = "not_paid"
    REFUND_TOO_LARGE = "refund_too_large"
    REFUND_CONFLICT = "refund_conflict"
    NOT_DELIVERED = "not_delivered"
    RETURN_WINDOW_PASSED = "return_window_passed"
    RETURN_PENDING = "return_pending"
    RETURN_ANSWERED = "return_answered"
    UNKNOWN_LINE = "unknown_line"
    NO_ITEMS = "no_items"
    # reviews
    REVIEW_WINDOW_PASSED = "review_window_passed"
    ALREADY_REVIEWED = "already_reviewed"
    # web forms
    INVALID_NUMBER = "invalid_number"
    UNKNOWN_ACTION = "unknown_action"
