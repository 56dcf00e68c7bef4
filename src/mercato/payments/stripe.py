"""Stripe behind the provider protocol: PaymentIntents, Refunds and signed webhooks over plain HTTPS.

Configuration: ``MERCATO_PAYMENT_PROVIDER=stripe``, ``MERCATO_STRIPE_API_KEY=sk_…``,
``MERCATO_STRIPE_WEBHOOK_SECRET=whsec_…`` (the endpoint's signing secret) and, for tests or a
proxy, ``MERCATO_STRIPE_API_BASE``. Point the Stripe dashboard's webhook endpoint at
``{public_base_url}/api/v1/webhooks/stripe`` with ``payment_intent.succeeded``,
``payment_intent.payment_failed`` and ``charge.refunded``.

A charge is one ``POST /v1/payment_intents`` with ``confirm=true`` and Stripe's
``Idempotency-Key`` set to the service's key (``pi_<intent>_a<attempt>``), so a retry after a
crash returns the same PaymentIntent. Real integrations collect cards with Stripe Elements
and pass a ``pm_…`` id (``CardInput.payment_method``); raw card fields are sent as
``payment_method_data`` only for test mode / PCI-scoped setups.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from mercato.config import Settings
from mercato.payments.provider import (
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    PAYMENT_SUCCEEDED,
    WEBHOOK_TOLERANCE_SECONDS,
    CardInput,
    ChargeResult,
    RefundResult,
    WebhookEvent,
    WebhookMalformed,
    WebhookSignatureInvalid,
    WebhooksNotConfigured,
    WebhookTimestampInvalid,
    validate_card,
)

API_VERSION = "2024-06-20"
RETURN_PATH = "/payments/return"

EVENT_TYPES = {
    "payment_intent.succeeded": PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": PAYMENT_FAILED,
    "charge.refunded": PAYMENT_REFUNDED,
}


class StripeProvider:
    """``transport`` lets tests answer for Stripe (``httpx.MockTransport``); ``clock`` fixes the
    current time for webhook tolerance checks."""

    name = "stripe"

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.transport = transport
        self.clock = clock

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.settings.stripe_api_base, transport=self.transport, timeout=30,
            headers={"Authorization": f"Bearer {self.settings.stripe_api_key or ''}",
                     "Stripe-Version": API_VERSION, "Content-Type": "application/x-www-form-urlencoded"},
        )

    async def _post(self, path: str, form: list[tuple[str, str]], idempotency_key: str
                    ) -> tuple[int, dict[str, Any]] | str:
        """(status, JSON body), or a reason when Stripe could not be reached or answered nonsense."""
        try:
            async with self._client() as client:
                response = await client.post(path, content=urlencode(form),
                                             headers={"Idempotency-Key": idempotency_key})
        except httpx.HTTPError as exc:
            return f"Stripe could not be reached ({type(exc).__name__})."
        try:
            body = response.json()
        except ValueError:
            return f"Stripe answered {response.status_code} without JSON."
        if not isinstance(body, dict):
            return f"Stripe answered {response.status_code} with an unexpected body."
        return response.status_code, body

    async def charge(self, *, idempotency_key: str, reference: str, amount: int, currency: str,
                     card: CardInput) -> ChargeResult:
        form = [
            ("amount", str(amount)), ("currency", currency.lower()), ("confirm", "true"),
            ("payment_method_types[]", "card"), ("metadata[reference]", reference),
            ("return_url", f"{self.settings.public_base_url.rstrip('/')}{RETURN_PATH}"),
            ("expand[]", "payment_method"),
        ]
        if card.payment_method:
            form.append(("payment_method", card.payment_method))
        else:
            validate_card(card)
            form += [
                ("payment_method_data[type]", "card"),
                ("payment_method_data[card][number]", card.digits),
                ("payment_method_data[card][exp_month]", str(card.exp_month)),
                ("payment_method_data[card][exp_year]", str(card.exp_year)),
                ("payment_method_data[card][cvc]", card.cvc),
            ]
            if card.name:
                form.append(("payment_method_data[billing_details][name]", card.name))
        answer = await self._post("/v1/payment_intents", form, idempotency_key)
        if isinstance(answer, str):
            return ChargeResult(status="error", error_code="provider_unreachable", error_message=answer)
        status, body = answer
        if status == 200:
            return map_payment_intent(body, card)
        return map_error(status, body, card)

    async def refund(self, *, idempotency_key: str, provider_ref: str, amount: int, currency: str) -> RefundResult:
        form = [("payment_intent", provider_ref), ("amount", str(amount))]
        answer = await self._post("/v1/refunds", form, idempotency_key)
        if isinstance(answer, str):
            return RefundResult(status="failed", error_code="provider_unreachable", error_message=answer)
        status, body = answer
        if status != 200:
            error = _obj(body.get("error"))
            return RefundResult(status="failed", error_code=str(error.get("code") or error.get("type") or status),
                                error_message=str(error.get("message") or "Stripe refused the refund."))
        stripe_status = body.get("status")
        mapped: Any = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}.get(
            str(stripe_status), "failed")
        return RefundResult(status=mapped, provider_ref=body.get("id"), amount=int(body.get("amount") or amount),
                            error_code=body.get("failure_reason") if mapped == "failed" else None)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        secret = self.settings.stripe_webhook_secret
        if not secret:
            raise WebhooksNotConfigured("Stripe webhooks are not configured (MERCATO_STRIPE_WEBHOOK_SECRET).")
        verify_signature(secret, headers, body, now=self.clock())
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise WebhookMalformed("The webhook body is not JSON.") from exc
        return map_event(payload)


# --- mapping Stripe's answers (pure functions, unit-tested) ----------------------------------


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _card_details(pi: Mapping[str, Any], card: CardInput) -> tuple[str | None, str | None]:
    method = pi.get("payment_method")
    details = method.get("card") if isinstance(method, dict) else None
    if isinstance(details, dict):
        return details.get("brand"), details.get("last4")
    return (card.brand if card.digits else None), (card.last4 or None)


def map_payment_intent(pi: Mapping[str, Any], card: CardInput) -> ChargeResult:
    """A PaymentIntent returned by ``POST /v1/payment_intents`` (HTTP 200)."""
    brand, last4 = _card_details(pi, card)
    common: dict[str, Any] = {"provider_ref": pi.get("id"), "card_brand": brand, "card_last4": last4}
    status = pi.get("status")
    if status == "succeeded":
        return ChargeResult(status="succeeded", **common)
    if status == "requires_action":
        action = _obj(pi.get("next_action"))
        redirect = _obj(action.get("redirect_to_url"))
        if redirect.get("url"):
            next_action: dict[str, Any] = {"type": "redirect", "url": redirect["url"]}
        else:
            next_action = {"type": str(action.get("type") or "use_stripe_sdk"),
                           "client_secret": pi.get("client_secret")}
        return ChargeResult(status="requires_action", next_action=next_action, **common)
    if status == "processing":
        return ChargeResult(status="processing", **common)
    if status == "requires_payment_method":
        return _decline(_obj(pi.get("last_payment_error")), common)
    return ChargeResult(status="error", error_code=f"unexpected_status_{status}",
                        error_message=f"Stripe left the payment in status {status}.", **common)


def _decline(error: Mapping[str, Any], common: dict[str, Any]) -> ChargeResult:
    if "insufficient_funds" in (error.get("decline_code"), error.get("code")):
        return ChargeResult(status="insufficient_funds", error_code="insufficient_funds",
                            error_message=str(error.get("message") or "Your card has insufficient funds."), **common)
    return ChargeResult(status="declined", error_code="card_declined",
                        error_message=str(error.get("message") or "Your card was declined."), **common)


def map_error(status: int, body: Mapping[str, Any], card: CardInput) -> ChargeResult:
    """A Stripe error answer: ``card_error`` (402) is a decline; anything else an ``error``."""
    error = _obj(body.get("error"))
    pi = _obj(error.get("payment_intent"))
    brand, last4 = _card_details(pi, card)
    common: dict[str, Any] = {"provider_ref": pi.get("id"), "card_brand": brand, "card_last4": last4}
    if error.get("type") == "card_error":
        return _decline(error, common)
    code = str(error.get("code") or error.get("type") or f"http_{status}")
    return ChargeResult(status="error", error_code=code,
                        error_message=str(error.get("message") or f"Stripe answered {status}."))


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float,
                     tolerance: int = WEBHOOK_TOLERANCE_SECONDS) -> int:
    """Check ``Stripe-Signature: t=…,v1=…`` (HMAC-SHA256 of ``"{t}.{body}"`` keyed by the secret);
    return ``t``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    header = lowered.get("stripe-signature", "")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookMalformed("The Stripe-Signature header is missing or malformed.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in signatures):
        raise WebhookSignatureInvalid("The webhook signature does not match.")
    if abs(now - timestamp) > tolerance:
        raise WebhookTimestampInvalid("The webhook timestamp is too far from the current time.")
    return timestamp


def sign_payload(secret: str, body: bytes, timestamp: int) -> str:
    """A ``Stripe-Signature`` value, as Stripe computes it (used by tests and local tooling)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def map_event(payload: Any) -> WebhookEvent:
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise WebhookMalformed("The webhook body is not a Stripe event.")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise WebhookMalformed("The Stripe event has no data.object.")
    raw_type = str(payload.get("type") or "")
    kind = EVENT_TYPES.get(raw_type, raw_type)
    metadata = _obj(obj.get("metadata"))
    out: dict[str, Any] = {"stripe_type": raw_type, "reference": metadata.get("reference"),
                           "amount": obj.get("amount"), "currency": str(obj.get("currency") or "").upper()}
    provider_ref: Any = obj.get("id")
    if kind == PAYMENT_FAILED:
        error = _obj(obj.get("last_payment_error"))
        insufficient = "insufficient_funds" in (error.get("decline_code"), error.get("code"))
        authentication = error.get("code") == "payment_intent_authentication_failure"
        out["error_code"] = ("insufficient_funds" if insufficient
                             else "authentication_failed" if authentication else "card_declined")
        out["error_message"] = error.get("message")
    elif kind == PAYMENT_REFUNDED:
        provider_ref = obj.get("payment_intent")
        out["amount_refunded"] = obj.get("amount_refunded")
    return WebhookEvent(id=payload["id"], type=kind,
                        provider_ref=provider_ref if isinstance(provider_ref, str) else None, data=out)
