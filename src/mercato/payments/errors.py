"""Error codes of payments (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class PaymentsError(StrEnum):
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_CARD = "invalid_card"
    INVALID_WEBHOOK = "invalid_webhook"
    INVALID_WEBHOOK_SIGNATURE = "invalid_webhook_signature"
    PAYMENT_IN_PROGRESS = "payment_in_progress"
    PAYMENT_NOT_CONFIRMABLE = "payment_not_confirmable"
    PAYMENT_NOT_REFUNDABLE = "payment_not_refundable"
    PAYMENT_PROVIDER_ERROR = "payment_provider_error"
    PAYMENT_PROVIDER_MISMATCH = "payment_provider_mismatch"
    REFUND_FAILED = "refund_failed"
    REFUND_TOO_LARGE = "refund_too_large"
    WEBHOOK_TIMESTAMP_OUT_OF_RANGE = "webhook_timestamp_out_of_range"
    WEBHOOKS_NOT_CONFIGURED = "webhooks_not_configured"
