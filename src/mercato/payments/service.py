"""Payment use cases: create an intent, confirm it with a card, take provider webhooks, refund.

Every function works in the caller's unit of work and only flushes (docs/architecture.md);
the one thing committed on its own is the provider's side (the sandbox's charges, or
Stripe's servers). Each step appends to the intent's event log (``payment_events``), which
is never updated.

Crash safety (docs/payments.md): ``confirm`` claims attempt *n* in the caller's transaction
and charges with the key ``pi_<intent>_a<n>``. If the process dies before the commit, the
claim is rolled back, the retry claims the same *n* again and the provider answers with
the charge it already made — one charge, however often it is retried.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from mercato.config import Settings
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.money import format_money, is_supported
from mercato.kit.sql.transaction import snapshot
from mercato.payments import hooks, sandbox
from mercato.payments import repository as repo
from mercato.payments.errors import PaymentsError
from mercato.payments.models import PaymentIntent
from mercato.payments.provider import (
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    PAYMENT_SUCCEEDED,
    CardInput,
    ChargeResult,
    PaymentDeclined,
    PaymentProvider,
    PaymentProviderError,
    RefundResult,
    WebhookEvent,
)

#: An intent can be confirmed from these states (``failed`` = the last card was declined).
CONFIRMABLE = ("requires_payment_method", "failed")
#: States in which the outcome is still to come from the provider (by webhook).
AWAITING = ("requires_action", "processing")

DECLINE_MESSAGES = {
    "card_declined": "Your card was declined. Try another card.",
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
}


def idempotency_key_for(intent_id: int, attempt: int) -> str:
    """The provider idempotency key of attempt ``attempt`` (1-based) of an intent."""
    return f"pi_{intent_id}_a{attempt}"


def reference_for(intent_id: int) -> str:
    return f"pi_{intent_id}"


def intent_id_from_reference(reference: Any) -> int | None:
    if isinstance(reference, str) and reference.startswith("pi_"):
        tail = reference[3:]
        if tail.isascii() and tail.isdigit():
            return int(tail)
    return None


async def create_intent(db: AsyncSession, *, checkout_id: int | None, buyer_id: int, currency: str, amount: int,
                        provider_name: str) -> PaymentIntent:
    """A new intent in ``requires_payment_method`` (event ``created``)."""
    currency = currency.upper()
    if amount < 0:
        raise ValidationFailed("The amount cannot be negative.", details={"field": "amount"})
    if not is_supported(currency):
        raise ValidationFailed(f"Unsupported currency {currency}.", details={"field": "currency"})
    now = utcnow()
    values: dict[str, Any] = dict(checkout_id=checkout_id, buyer_id=buyer_id, currency=currency, amount=amount,
                                  status="requires_payment_method", provider=provider_name, attempts=0, refunded=0,
                                  created_at=now, updated_at=now)
    # One plain statement (every checkout makes one); the answer is a detached snapshot.
    intent_id = await repo.insert_intent(db, values)
    intent = snapshot(PaymentIntent, {"id": int(intent_id), "provider_ref": None, "last_error_code": None,
                                      "last_error_message": None, "card_brand": None, "card_last4": None,
                                      "next_action": None, **values})
    await repo.add_event(db, intent.id, "created", {"amount": amount, "currency": currency, "provider": provider_name})
    return intent


async def get_for_buyer(db: AsyncSession, intent_id: int, buyer_id: int) -> PaymentIntent:
    """The intent if ``buyer_id`` owns it; anyone else gets ``404`` (no leak)."""
    intent = await repo.get_intent(db, intent_id)
    if intent is None or intent.buyer_id != buyer_id:
        raise NotFound("No such payment.")
    return intent


def decline_error(intent: PaymentIntent) -> PaymentDeclined:
    """The ``402`` answer for a failed intent (``card_declined`` / ``insufficient_funds``)."""
    code = intent.last_error_code or "card_declined"
    message = intent.last_error_message or DECLINE_MESSAGES.get(code, DECLINE_MESSAGES["card_declined"])
    return PaymentDeclined(message, code=code, details={"payment_intent_id": intent.id})


async def confirm(db: AsyncSession, intent: PaymentIntent, card: CardInput, *, provider: PaymentProvider,
                  settings: Settings) -> PaymentIntent:
    """Charge the card for ``intent`` and record the outcome; returns the intent.

    - ``succeeded`` → hooks' ``dispatch_succeeded`` runs in this transaction;
    - declined / insufficient funds → status ``failed`` with ``last_error_code`` /
      ``last_error_message`` (not an exception: the attempt must be committed so that the next
      card gets a new key; answer ``402`` with :func:`decline_error`);
    - ``requires_action`` → ``next_action = {"type": "redirect", "url": …}``; the outcome
      arrives by webhook (:func:`handle_webhook`).

    Raises ``Conflict`` (409) unless the intent is ``requires_payment_method`` or ``failed``
    or when another request is confirming it right now, ``CardInvalid`` (422, with the field)
    for an impossible card, ``PaymentProviderError`` (502) when the provider cannot answer —
    the caller's rollback then makes a retry reuse the same key.
    """
    if intent.provider != provider.name:
        raise Conflict(f"This payment was set up with {intent.provider}, not {provider.name}.",
                       code=PaymentsError.PAYMENT_PROVIDER_MISMATCH)
    if intent.status not in CONFIRMABLE:
        raise Conflict(_not_confirmable_message(intent.status), code=PaymentsError.PAYMENT_NOT_CONFIRMABLE,
                       details={"status": intent.status})
    await db.flush()
    attempt = intent.attempts + 1
    now = utcnow()
    if not await repo.claim_attempt(db, intent.id, attempts=intent.attempts, from_statuses=CONFIRMABLE, now=now):
        await db.refresh(intent)
        raise Conflict("This payment is being confirmed by another request.", code=PaymentsError.PAYMENT_IN_PROGRESS,
                       details={"status": intent.status})
    # The guarded update matched the row as we hold it, so we know what it now says: set it
    # on the object instead of reading the row back.
    set_committed_value(intent, "attempts", attempt)
    set_committed_value(intent, "status", "processing")
    set_committed_value(intent, "updated_at", now)
    key = idempotency_key_for(intent.id, attempt)
    await repo.add_event(db, intent.id, "attempted", {"attempt": attempt, "idempotency_key": key,
                                                "card_brand": card.brand if card.digits else None,
                                                "card_last4": card.last4 or None})
    if intent.amount == 0:
        result = ChargeResult(status="succeeded", card_last4=card.last4 or None)
    else:
        with sandbox.caller_session(db):
            result = await provider.charge(idempotency_key=key, reference=reference_for(intent.id),
                                           amount=intent.amount, currency=intent.currency, card=card)
    await _record_charge(db, intent, result, card, attempt)
    return intent


def _not_confirmable_message(status: str) -> str:
    return {
        "succeeded": "This payment has already gone through.",
        "requires_action": "This payment is waiting for your confirmation with the card issuer.",
        "processing": "This payment is being processed.",
        "cancelled": "This payment was cancelled.",
    }.get(status, "This payment cannot be confirmed now.")


async def _record_charge(db: AsyncSession, intent: PaymentIntent, result: ChargeResult, card: CardInput,
                         attempt: int) -> None:
    if result.status == "error":
        raise PaymentProviderError(
            result.error_message or "The payment provider did not answer. Try again in a moment.",
            details={"provider_code": result.error_code},
        )
    values: dict[str, Any] = {
        "provider_ref": result.provider_ref,
        "card_brand": result.card_brand or (card.brand if card.digits else None),
        "card_last4": result.card_last4 or card.last4 or None,
        "next_action": None, "last_error_code": None, "last_error_message": None,
    }
    event: dict[str, Any] = {"attempt": attempt, "provider_ref": result.provider_ref}
    if result.status == "succeeded":
        values["status"], event_type = "succeeded", "succeeded"
    elif result.status in ("declined", "insufficient_funds"):
        code = "insufficient_funds" if result.status == "insufficient_funds" else (result.error_code or "card_declined")
        values.update(status="failed", last_error_code=code[:60],
                      last_error_message=(result.error_message or DECLINE_MESSAGES.get(code)
                                          or DECLINE_MESSAGES["card_declined"])[:300])
        event_type, event["code"] = "declined", code
    elif result.status == "requires_action":
        values.update(status="requires_action", next_action=result.next_action)
        event_type, event["next_action"] = "requires_action", result.next_action
    else:  # processing: the provider will tell us by webhook
        values["status"], event_type = "processing", "processing"
        for kept in ("next_action", "last_error_code", "last_error_message"):
            values.pop(kept)
    # One plain UPDATE (the attempt was claimed by this transaction); the intent object is told.
    values["updated_at"] = utcnow()
    await repo.update_intent_columns(db, intent.id, values)
    for key, value in values.items():
        set_committed_value(intent, key, value)
    await repo.add_event(db, intent.id, event_type, event)
    if values["status"] == "succeeded":
        await hooks.dispatch_succeeded(db, intent)
    elif values["status"] == "failed":
        await hooks.dispatch_failed(db, intent)


async def handle_webhook(db: AsyncSession, source: str, event: WebhookEvent) -> bool:
    """Take a verified provider event; ``False`` for a duplicate (answer ``2xx`` all the same).

    The inbox row (insert-if-absent by ``(source, event.id)``) makes a redelivery a no-op;
    guarded status updates make two *different* events about one charge apply once.
    """
    inbox_id = await repo.insert_inbox_event(db, source=source, external_id=event.id, type_=event.type,
                                             payload={"provider_ref": event.provider_ref, "data": event.data})
    if inbox_id is None:
        return False
    intent = await _intent_for(db, source, event)
    if intent is not None:
        await repo.add_event(db, intent.id, "webhook_received",
                       {"source": source, "event_id": event.id, "type": event.type,
                        "provider_ref": event.provider_ref})
        await db.flush()
        if event.type == PAYMENT_SUCCEEDED:
            await _settle(db, intent, event, succeeded=True)
        elif event.type == PAYMENT_FAILED:
            await _settle(db, intent, event, succeeded=False)
        elif event.type == PAYMENT_REFUNDED:
            await repo.add_event(db, intent.id, "refund_reported", {"event_id": event.id, **event.data})
    await repo.mark_inbox_processed(db, inbox_id)
    await db.flush()
    return True


async def _intent_for(db: AsyncSession, source: str, event: WebhookEvent) -> PaymentIntent | None:
    if event.provider_ref:
        found = await repo.intent_by_provider_ref(db, source, event.provider_ref)
        if found is not None:
            return found
    # The event may overtake the commit that stores provider_ref: fall back on our reference.
    intent_id = intent_id_from_reference(event.data.get("reference"))
    intent = await repo.get_intent(db, intent_id) if intent_id is not None else None
    if intent is None or intent.provider != source:
        return None
    if intent.provider_ref is not None and intent.provider_ref != event.provider_ref:
        return None
    return intent


async def _settle(db: AsyncSession, intent: PaymentIntent, event: WebhookEvent, *, succeeded: bool) -> None:
    if succeeded:
        moved = await repo.move_status(db, intent.id, from_statuses=AWAITING, to="succeeded",
                                       provider_ref=event.provider_ref or intent.provider_ref,
                                       next_action=null(), last_error_code=None, last_error_message=None)
    else:
        code = str(event.data.get("error_code") or "card_declined")[:60]
        message = str(event.data.get("error_message") or DECLINE_MESSAGES.get(code)
                      or DECLINE_MESSAGES["card_declined"])[:300]
        moved = await repo.move_status(db, intent.id, from_statuses=AWAITING, to="failed",
                                       provider_ref=event.provider_ref or intent.provider_ref,
                                       next_action=null(), last_error_code=code, last_error_message=message)
    if not moved:
        return
    await db.refresh(intent)
    await repo.add_event(db, intent.id, "succeeded" if succeeded else "declined",
                   {"via": "webhook", "event_id": event.id, "provider_ref": intent.provider_ref,
                    **({} if succeeded else {"code": intent.last_error_code})})
    await db.flush()
    if succeeded:
        await hooks.dispatch_succeeded(db, intent)
    else:
        await hooks.dispatch_failed(db, intent)


async def refund(db: AsyncSession, intent: PaymentIntent, amount: int, *, provider: PaymentProvider,
                 idempotency_key: str) -> RefundResult:
    """Refund ``amount`` (minor units) of a succeeded intent; partial refunds add up.

    Idempotent by ``idempotency_key`` (an earlier refund with it is returned as is). Raises
    ``ValidationFailed`` (422, ``refund_too_large``, ``details.max``) beyond amount − refunded,
    ``Conflict`` (409) unless the intent succeeded, ``PaymentProviderError`` (502) when the
    provider refuses — the caller's rollback then undoes ``intent.refunded``.
    """
    if amount <= 0:
        raise ValidationFailed("The refund amount must be positive.", code=PaymentsError.INVALID_AMOUNT,
                               details={"field": "amount"})
    for done in await repo.events_of(db, intent.id, ("refunded",)):
        if done.data.get("idempotency_key") == idempotency_key:
            return RefundResult(status=done.data.get("status", "succeeded"), provider_ref=done.data.get("provider_ref"),
                                amount=int(done.data.get("amount", 0)))
    if intent.status != "succeeded":
        raise Conflict("Only a payment that went through can be refunded.", code=PaymentsError.PAYMENT_NOT_REFUNDABLE,
                       details={"status": intent.status})
    await db.flush()
    if not await repo.add_refunded(db, intent.id, amount):
        await db.refresh(intent)
        left = max(intent.amount - intent.refunded, 0)
        raise ValidationFailed(f"At most {format_money(left, intent.currency)} can still be refunded.",
                               code=PaymentsError.REFUND_TOO_LARGE, details={"field": "amount", "max": left})
    await db.refresh(intent)
    if intent.provider_ref is None:  # nothing was charged (a zero amount)
        result = RefundResult(status="succeeded", amount=amount)
    else:
        with sandbox.caller_session(db):
            result = await provider.refund(idempotency_key=idempotency_key, provider_ref=intent.provider_ref,
                                           amount=amount, currency=intent.currency)
    if result.status == "failed":
        raise PaymentProviderError(result.error_message or "The payment provider refused the refund.",
                                   code=PaymentsError.REFUND_FAILED, details={"provider_code": result.error_code})
    await repo.add_event(db, intent.id, "refunded", {"amount": amount, "idempotency_key": idempotency_key,
                                               "status": result.status, "provider_ref": result.provider_ref,
                                               "refunded_total": intent.refunded})
    await db.flush()
    return result
