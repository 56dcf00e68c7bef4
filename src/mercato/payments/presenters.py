"""Payment intents as API bodies (the API and pages share them)."""

from __future__ import annotations

from mercato.payments.models import PaymentIntent
from mercato.payments.schemas import PaymentIntentOut


def intent_out(intent: PaymentIntent) -> PaymentIntentOut:
    return PaymentIntentOut(
        id=intent.id, checkout_id=intent.checkout_id, status=intent.status, amount=intent.amount,
        currency=intent.currency, refunded=intent.refunded, provider=intent.provider, attempts=intent.attempts,
        card_brand=intent.card_brand, card_last4=intent.card_last4, next_action=intent.next_action,
        last_error_code=intent.last_error_code, last_error_message=intent.last_error_message,
    )
