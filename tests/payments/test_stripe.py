"""The Stripe adapter: requests it sends and how Stripe's answers map, against ``httpx.MockTransport``
(Stripe's servers are the one thing faked); ``Stripe-Signature`` verification and event mapping."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from mercato.config import Settings
from mercato.payments.provider import (
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    PAYMENT_SUCCEEDED,
    CardInput,
    CardInvalid,
    ChargeResult,
    RefundResult,
    WebhookMalformed,
    WebhookSignatureInvalid,
    WebhookTimestampInvalid,
    get_provider,
)
from mercato.payments.sandbox import SandboxProvider
from mercato.payments.stripe import StripeProvider, sign_payload
from tests.payments.conftest import NEXT_YEAR

SECRET = "whsec_test_5f3a2b"
CARD = CardInput(number="4242 4242 4242 4242", exp_month=12, exp_year=NEXT_YEAR, cvc="123", name="Ada Buyer")


def stripe_settings() -> Settings:
    return Settings(database_url="sqlite://", payment_provider="stripe", stripe_api_key="sk_test_51Mercato",
                    stripe_webhook_secret=SECRET, stripe_api_base="https://stripe.test",
                    public_base_url="https://shop.example")


def payment_intent(status: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "pi_3PqZ8cLkdIwHu7ix0JZcTwbD", "object": "payment_intent", "amount": 2500, "amount_received": 0,
        "capture_method": "automatic", "client_secret": "pi_3PqZ8cLkdIwHu7ix0JZcTwbD_secret_abc",
        "confirmation_method": "automatic", "created": 1724000000, "currency": "usd", "customer": None,
        "latest_charge": None, "livemode": False, "metadata": {"reference": "pi_12"}, "next_action": None,
        "last_payment_error": None,
        "payment_method": {"id": "pm_1PqZ8cLkdIwHu7ixK3a", "object": "payment_method", "type": "card",
                           "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": NEXT_YEAR,
                                    "funding": "credit", "country": "US"}},
        "payment_method_types": ["card"], "status": status,
    }
    body.update(extra)
    return body


def card_error(code: str, decline_code: str | None, message: str) -> dict[str, Any]:
    pi = payment_intent("requires_payment_method")
    pi["last_payment_error"] = {"code": code, "decline_code": decline_code, "message": message, "type": "card_error"}
    error = {"charge": "ch_3PqZ8cLkdIwHu7ix0q1", "code": code, "doc_url": f"https://stripe.com/docs/error-codes/{code}",
             "message": message, "payment_intent": pi, "request_log_url": "https://dashboard.stripe.com/test/logs/req",
             "type": "card_error"}
    if decline_code:
        error["decline_code"] = decline_code
    return {"error": error}


class FakeStripe:
    """Records requests and answers with a fixed response (or raises)."""

    def __init__(self, status: int, body: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.status, self.body, self.error = status, body, error
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return httpx.Response(self.status, json=self.body)

    def form(self, index: int = 0) -> dict[str, list[str]]:
        return parse_qs(self.requests[index].content.decode())


def charge(fake: FakeStripe, card: CardInput = CARD) -> ChargeResult:
    provider = StripeProvider(stripe_settings(), transport=httpx.MockTransport(fake))
    return asyncio.run(provider.charge(idempotency_key="pi_12_a1", reference="pi_12", amount=2500, currency="USD",
                                       card=card))


def test_get_provider_chooses_by_settings() -> None:
    assert isinstance(get_provider(stripe_settings()), StripeProvider)
    assert isinstance(get_provider(Settings(database_url="sqlite://")), SandboxProvider)
    with pytest.raises(ValueError, match="unknown payment provider"):
        get_provider(Settings(database_url="sqlite://", payment_provider="paypal"))


def test_success_and_the_request_sent() -> None:
    fake = FakeStripe(200, payment_intent("succeeded", amount_received=2500, latest_charge="ch_3PqZ8c"))
    result = charge(fake)
    assert result == ChargeResult(status="succeeded", provider_ref="pi_3PqZ8cLkdIwHu7ix0JZcTwbD", card_brand="visa",
                                  card_last4="4242")
    [request] = fake.requests
    assert (request.method, str(request.url)) == ("POST", "https://stripe.test/v1/payment_intents")
    assert request.headers["authorization"] == "Bearer sk_test_51Mercato"
    assert request.headers["idempotency-key"] == "pi_12_a1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["stripe-version"]
    assert fake.form() == {
        "amount": ["2500"], "currency": ["usd"], "confirm": ["true"], "payment_method_types[]": ["card"],
        "metadata[reference]": ["pi_12"], "return_url": ["https://shop.example/payments/return"],
        "expand[]": ["payment_method"], "payment_method_data[type]": ["card"],
        "payment_method_data[card][number]": ["4242424242424242"],
        "payment_method_data[card][exp_month]": ["12"], "payment_method_data[card][exp_year]": [str(NEXT_YEAR)],
        "payment_method_data[card][cvc]": ["123"], "payment_method_data[billing_details][name]": ["Ada Buyer"],
    }


def test_a_payment_method_token_replaces_the_card_fields() -> None:
    fake = FakeStripe(200, payment_intent("succeeded"))
    token_card = CardInput(number="", exp_month=0, exp_year=0, cvc="", payment_method="pm_1PqZ8cLkdIwHu7ixK3a")
    assert charge(fake, token_card).status == "succeeded"
    form = fake.form()
    assert form["payment_method"] == ["pm_1PqZ8cLkdIwHu7ixK3a"]
    assert not any(k.startswith("payment_method_data") for k in form)


def test_an_impossible_card_never_reaches_stripe() -> None:
    fake = FakeStripe(200, payment_intent("succeeded"))
    with pytest.raises(CardInvalid):
        charge(fake, CardInput(number="4242424242424241", exp_month=12, exp_year=NEXT_YEAR, cvc="123"))
    assert fake.requests == []


def test_requires_action_maps_the_redirect() -> None:
    url = "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1&payment_intent=pi_3PqZ8c&source=payatt_1"
    fake = FakeStripe(200, payment_intent("requires_action", next_action={
        "type": "redirect_to_url",
        "redirect_to_url": {"return_url": "https://shop.example/payments/return", "url": url}}))
    result = charge(fake)
    assert (result.status, result.next_action, result.provider_ref) == (
        "requires_action", {"type": "redirect", "url": url}, "pi_3PqZ8cLkdIwHu7ix0JZcTwbD")


def test_processing_is_left_to_the_webhook() -> None:
    assert charge(FakeStripe(200, payment_intent("processing"))).status == "processing"


@pytest.mark.parametrize(("code", "decline_code", "status", "error_code"), [
    ("card_declined", "generic_decline", "declined", "card_declined"),
    ("card_declined", "insufficient_funds", "insufficient_funds", "insufficient_funds"),
    ("expired_card", None, "declined", "card_declined"),
])
def test_card_errors_are_declines(code: str, decline_code: str | None, status: str, error_code: str) -> None:
    message = "Your card was declined." if code == "card_declined" else "Your card has expired."
    result = charge(FakeStripe(402, card_error(code, decline_code, message)))
    assert (result.status, result.error_code, result.error_message) == (status, error_code, message)
    assert result.provider_ref == "pi_3PqZ8cLkdIwHu7ix0JZcTwbD"
    assert (result.card_brand, result.card_last4) == ("visa", "4242")


@pytest.mark.parametrize(("http_status", "body", "error_code"), [
    (500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}, "api_error"),
    (401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***"}},
     "invalid_request_error"),
    (429, {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}},
     "rate_limit"),
    (400, {"error": {"type": "idempotency_error",
                     "message": "Keys for idempotent requests can only be used with the same parameters"}},
     "idempotency_error"),
])
def test_api_errors_are_errors(http_status: int, body: dict[str, Any], error_code: str) -> None:
    result = charge(FakeStripe(http_status, body))
    assert (result.status, result.error_code, result.error_message) == ("error", error_code, body["error"]["message"])


def test_network_failure_is_an_error() -> None:
    result = charge(FakeStripe(0, error=httpx.ConnectError("connection refused")))
    assert (result.status, result.error_code) == ("error", "provider_unreachable")


def refund(fake: FakeStripe) -> RefundResult:
    provider = StripeProvider(stripe_settings(), transport=httpx.MockTransport(fake))
    return asyncio.run(provider.refund(idempotency_key="refund_31", provider_ref="pi_3PqZ8cLkdIwHu7ix0JZcTwbD",
                                       amount=700, currency="USD"))


def test_refund_request_and_answers() -> None:
    fake = FakeStripe(200, {"id": "re_3PqZ8cLkdIwHu7ix1", "object": "refund", "amount": 700,
                            "charge": "ch_3PqZ8cLkdIwHu7ix0q1", "currency": "usd",
                            "payment_intent": "pi_3PqZ8cLkdIwHu7ix0JZcTwbD", "reason": None, "status": "succeeded"})
    assert refund(fake) == RefundResult(status="succeeded", provider_ref="re_3PqZ8cLkdIwHu7ix1", amount=700)
    [request] = fake.requests
    assert str(request.url) == "https://stripe.test/v1/refunds"
    assert request.headers["idempotency-key"] == "refund_31"
    assert fake.form() == {"payment_intent": ["pi_3PqZ8cLkdIwHu7ix0JZcTwbD"], "amount": ["700"]}

    pending = FakeStripe(200, {"id": "re_2", "object": "refund", "amount": 700, "status": "pending"})
    assert refund(pending).status == "pending"
    refused = FakeStripe(400, {"error": {"type": "invalid_request_error", "code": "charge_already_refunded",
                                         "message": "Charge ch_3PqZ8c has already been refunded."}})
    assert (refund(refused).status, refund(refused).error_code) == ("failed", "charge_already_refunded")


# --- webhooks --------------------------------------------------------------------------------


def event(kind: str, obj: dict[str, Any], event_id: str = "evt_3PqZ8cLkdIwHu7ix0abc") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "api_version": "2024-06-20", "created": 1724000000,
                       "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
                       "request": {"id": None, "idempotency_key": "pi_12_a1"}, "type": kind}).encode()


def parse(body: bytes, header: str, *, now: float | None = None) -> Any:
    clock: Callable[[], float] = (lambda: now) if now is not None else time.time
    return StripeProvider(stripe_settings(), clock=clock).parse_webhook({"Stripe-Signature": header}, body)


def test_signature_verification() -> None:
    body = event("payment_intent.succeeded", payment_intent("succeeded"))
    now = int(time.time())
    assert parse(body, sign_payload(SECRET, body, now)).id == "evt_3PqZ8cLkdIwHu7ix0abc"
    # a v0 / extra signatures are ignored, one matching v1 is enough (secret rotation)
    rotated = f"t={now},v1={'0' * 64},{sign_payload(SECRET, body, now).split(',')[1]},v0=abc"
    assert parse(body, rotated).type == PAYMENT_SUCCEEDED
    with pytest.raises(WebhookSignatureInvalid):
        parse(body, sign_payload("whsec_other", body, now))
    with pytest.raises(WebhookSignatureInvalid):
        parse(body + b" ", sign_payload(SECRET, body, now))
    with pytest.raises(WebhookTimestampInvalid):
        parse(body, sign_payload(SECRET, body, now - 6 * 60))
    assert parse(body, sign_payload(SECRET, body, now - 4 * 60)).id  # inside the 5-minute tolerance
    for header in ("", "t=abc,v1=00", f"t={now}", "v1=00"):
        with pytest.raises(WebhookMalformed):
            parse(body, header)


def test_event_mapping() -> None:
    now = int(time.time())

    def parsed(body: bytes) -> Any:
        return parse(body, sign_payload(SECRET, body, now))

    succeeded = parsed(event("payment_intent.succeeded", payment_intent("succeeded", amount_received=2500)))
    assert (succeeded.type, succeeded.provider_ref, succeeded.data["reference"]) == (
        PAYMENT_SUCCEEDED, "pi_3PqZ8cLkdIwHu7ix0JZcTwbD", "pi_12")

    failed_pi = payment_intent("requires_payment_method", last_payment_error={
        "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds.",
        "type": "card_error"})
    failed = parsed(event("payment_intent.payment_failed", failed_pi, "evt_2"))
    assert (failed.type, failed.data["error_code"], failed.data["error_message"]) == (
        PAYMENT_FAILED, "insufficient_funds", "Your card has insufficient funds.")
    auth_pi = payment_intent("requires_payment_method", last_payment_error={
        "code": "payment_intent_authentication_failure", "message": "Authentication failed.", "type": "card_error"})
    assert parsed(event("payment_intent.payment_failed", auth_pi, "evt_3")).data["error_code"] == (
        "authentication_failed")

    charge_obj = {"id": "ch_3PqZ8cLkdIwHu7ix0q1", "object": "charge", "amount": 2500, "amount_refunded": 700,
                  "currency": "usd", "payment_intent": "pi_3PqZ8cLkdIwHu7ix0JZcTwbD", "refunded": False,
                  "metadata": {"reference": "pi_12"}}
    refunded = parsed(event("charge.refunded", charge_obj, "evt_4"))
    assert (refunded.type, refunded.provider_ref, refunded.data["amount_refunded"]) == (
        PAYMENT_REFUNDED, "pi_3PqZ8cLkdIwHu7ix0JZcTwbD", 700)

    other = parsed(event("customer.created", {"id": "cus_1", "object": "customer"}, "evt_5"))
    assert other.type == "customer.created"
    with pytest.raises(WebhookMalformed):
        parsed(b"not json")
    with pytest.raises(WebhookMalformed):
        parsed(json.dumps({"id": "evt_6", "type": "payment_intent.succeeded", "data": {}}).encode())
