"""JSON routes of payments: confirm and read an intent, and the providers' webhook endpoints."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request, Response

from mercato.accounts.deps import CurrentUser
from mercato.kit import idempotency
from mercato.kit.errors import AppError
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.limits import read_capped
from mercato.payments import service
from mercato.payments.presenters import intent_out
from mercato.payments.provider import CardInput, get_provider
from mercato.payments.sandbox import SandboxProvider
from mercato.payments.schemas import ConfirmIn, PaymentIntentOut, WebhookReceipt
from mercato.payments.stripe import StripeProvider

router = APIRouter(prefix="/api/v1", tags=["payments"])

MAX_WEBHOOK_BYTES = 256 * 1024
IntentId = PathId

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    402: {"description": "The card was declined: `error.code` is `card_declined` or `insufficient_funds`."},
    404: {"description": "No such payment (or not yours)."},
    409: {"description": "The payment cannot be confirmed now, or the same Idempotency-Key is in flight."},
    422: {"description": "Invalid card (`details.field`), or an Idempotency-Key reused with another body."},
    502: {"description": "The payment provider did not answer; retrying is safe."},
}


def card_fingerprint(body: ConfirmIn) -> dict[str, Any]:
    """What identifies a confirm request for ``Idempotency-Key`` purposes, without the card number."""
    digits = "".join(ch for ch in body.card_number if ch in "0123456789")
    return {"last4": digits[-4:], "hash": hashlib.sha256(digits.encode()).hexdigest()[:16],
            "exp": f"{body.exp_month}/{body.exp_year}", "name": body.name}


@router.post("/payments/{intent_id:int}/confirm", response_model=PaymentIntentOut, responses=ERROR_RESPONSES)
async def confirm_payment(intent_id: IntentId, body: ConfirmIn, request: Request, user: CurrentUser, db: DbSession,
                          settings: AppSettings) -> Response:
    """Pay an intent with a card. Accepts ``Idempotency-Key`` (Stripe semantics): a declined card
    answers ``402`` and is replayed like any other answer; ``requires_action`` carries
    ``next_action.url`` to send the buyer to."""
    intent = await service.get_for_buyer(db, intent_id, user.id)
    call = await idempotency.begin(db, request, scope=f"user:{user.id}:pay",
                                   body={"intent": intent_id, "card": card_fingerprint(body)},
                                   lock_seconds=settings.idempotency_lock_seconds)
    if call.replay is not None:
        return call.replay
    try:
        await db.refresh(intent)
        card = CardInput(number=body.card_number, exp_month=body.exp_month, exp_year=body.exp_year,
                         cvc=body.cvc, name=body.name)
        provider = get_provider(settings, get_database(request))
        intent = await service.confirm(db, intent, card, provider=provider, settings=settings)
    except AppError:
        await call.abandon()
        raise
    if intent.status == "failed":
        declined = service.decline_error(intent)
        return await call.done(declined.status, declined.body())
    return await call.done(200, intent_out(intent).model_dump(mode="json"))


@router.get("/payments/{intent_id:int}", response_model=PaymentIntentOut, responses={404: ERROR_RESPONSES[404]})
async def get_payment(intent_id: IntentId, user: CurrentUser, db: DbSession) -> PaymentIntentOut:
    return intent_out(await service.get_for_buyer(db, intent_id, user.id))


async def _raw_body(request: Request) -> bytes:
    """The exact bytes that were signed, capped (a webhook is small)."""
    return await read_capped(request, MAX_WEBHOOK_BYTES, "The webhook body")


WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Missing signature headers or an unreadable body; nothing recorded."},
    401: {"description": "Bad signature, or a timestamp more than 5 minutes away; nothing recorded."},
    413: {"description": "The body is larger than a webhook can be; nothing recorded."},
}
STRIPE_WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **WEBHOOK_RESPONSES,
    503: {"description": "Stripe webhooks are not configured (`MERCATO_STRIPE_WEBHOOK_SECRET`)."},
}


def _signed_event(*names: str) -> dict[str, Any]:
    """The signature headers and the JSON event, for the OpenAPI document only: the handler reads
    them from the raw request (the signature covers the exact bytes), so a missing header or an
    unreadable body is ``400 invalid_webhook``, not a validation error."""
    return {
        "parameters": [{"name": name, "in": "header", "required": True, "schema": {"type": "string", "minLength": 1}}
                       for name in names],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    }


@router.post("/webhooks/sandbox", response_model=WebhookReceipt, responses=WEBHOOK_RESPONSES,
             openapi_extra=_signed_event("webhook-id", "webhook-timestamp", "webhook-signature"))
async def sandbox_webhook(request: Request, db: DbSession, settings: AppSettings) -> WebhookReceipt:
    """Events of the sandbox provider, signed per Standard Webhooks. A redelivery answers ``200``
    with ``duplicate: true`` and has no effect."""
    event = SandboxProvider(settings).parse_webhook(request.headers, await _raw_body(request))
    fresh = await service.handle_webhook(db, "sandbox", event)
    return WebhookReceipt(duplicate=not fresh)


@router.post("/webhooks/stripe", response_model=WebhookReceipt, responses=STRIPE_WEBHOOK_RESPONSES,
             openapi_extra=_signed_event("Stripe-Signature"))
async def stripe_webhook(request: Request, db: DbSession, settings: AppSettings) -> WebhookReceipt:
    """Stripe events (``Stripe-Signature``, ``settings.stripe_webhook_secret``)."""
    event = StripeProvider(settings).parse_webhook(request.headers, await _raw_body(request))
    fresh = await service.handle_webhook(db, "stripe", event)
    return WebhookReceipt(duplicate=not fresh)
