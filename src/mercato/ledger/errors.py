"""Error codes the ledger domain answers with (documented in docs/api.md, "Error codes").

The values are what clients see in ``error.code``; they never change.
"""

from __future__ import annotations

from enum import StrEnum


class LedgerError(StrEnum):
    UNKNOWN_LEDGER_ACCOUNT = "unknown_ledger_account"
    UNBALANCED_TRANSACTION = "unbalanced_transaction"
    INVALID_SPLIT = "invalid_split"
    INVALID_REFUND_AMOUNT = "invalid_refund_amount"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    INVALID_CURRENCY = "invalid_currency"
    NOTHING_TO_PAY_OUT = "nothing_to_pay_out"
    NO_PAYOUT_METHOD = "no_payout_method"
    INVALID_ACCOUNT_HOLDER = "invalid_account_holder"
    INVALID_ACCOUNT_NUMBER = "invalid_account_number"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    INVALID_RELEASE_AMOUNT = "invalid_release_amount"
    BELOW_PAYOUT_MINIMUM = "below_payout_minimum"
