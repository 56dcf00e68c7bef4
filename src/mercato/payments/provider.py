"""The payment provider protocol every gateway implements (docs/payments.md, "Provider protocol").

The service talks to a provider only through :class:`PaymentProvider`: charge a card
(idempotently, by a key the service derives), refund, and turn a signed webhook into a
:class:`WebhookEvent`. The built-in sandbox (``sandbox.py``) is the default; Stripe
(``stripe.py``) is a drop-in chosen by ``settings.payment_provider``.

A :class:`CardInput` lives only for the duration of a call: nothing but the brand and
the last four digits ever leave it, and its ``repr`` masks the number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mercato.kit.errors import AppError, Unauthorized, ValidationFailed
from mercato.payments.errors import PaymentsError

if TYPE_CHECKING:
    from mercato.config import Settings
    from mercato.kit.db import Database

ChargeStatus = Literal["succeeded", "declined", "insufficient_funds", "requires_action", "processing", "error"]
RefundStatus = Literal["succeeded", "pending", "failed"]

#: Normalised webhook event types (each provider maps its own vocabulary onto these).
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
PAYMENT_REFUNDED = "payment.refunded"

WEBHOOK_TOLERANCE_SECONDS = 5 * 60


# --- typed errors ---------------------------------------------------------------------------


class CardInvalid(ValidationFailed):
    """The card data cannot be right (Luhn, expiry, CVC): ``422`` naming the field."""

    code = PaymentsError.INVALID_CARD

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, details={"field": field})


class PaymentDeclined(AppError):
    """A declined card, answered as ``402`` (like Stripe); ``code`` is ``card_declined`` or ``insufficient_funds``."""

    status = 402
    code = PaymentsError.CARD_DECLINED


class PaymentProviderError(AppError):
    """The provider could not be reached or refused the request; retrying with the same key is safe."""

    status = 502
    code = PaymentsError.PAYMENT_PROVIDER_ERROR


class WebhookMalformed(AppError):
    """Missing signature headers or an unreadable body: ``400``, nothing recorded."""

    status = 400
    code = PaymentsError.INVALID_WEBHOOK


class WebhookSignatureInvalid(Unauthorized):
    """No signature matches the payload: ``401``, nothing recorded."""

    code = PaymentsError.INVALID_WEBHOOK_SIGNATURE


class WebhookTimestampInvalid(Unauthorized):
    """The signed timestamp is more than five minutes away from now (replay protection): ``401``."""

    code = PaymentsError.WEBHOOK_TIMESTAMP_OUT_OF_RANGE


class WebhooksNotConfigured(AppError):
    status = 503
    code = PaymentsError.WEBHOOKS_NOT_CONFIGURED


# --- values crossing the protocol -----------------------------------------------------------


@dataclass(frozen=True)
class CardInput:
    """Card details as typed by the buyer. Never stored; ``payment_method`` carries a provider
    token instead (e.g. a Stripe Elements ``pm_…`` id), in which case the card fields are unused."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)
    name: str = ""
    payment_method: str | None = None

    @property
    def digits(self) -> str:
        return "".join(ch for ch in self.number if ch in "0123456789")

    @property
    def last4(self) -> str:
        return self.digits[-4:]

    @property
    def brand(self) -> str:
        return card_brand(self.digits)

    def __repr__(self) -> str:
        return f"CardInput(last4={self.last4!r}, exp={self.exp_month:02d}/{self.exp_year}, name={self.name!r})"


@dataclass(frozen=True)
class ChargeResult:
    """What a provider answered to a charge. ``provider_ref`` identifies the charge on its side."""

    status: ChargeStatus
    provider_ref: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    next_action: dict[str, Any] | None = None
    card_brand: str | None = None
    card_last4: str | None = None


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    provider_ref: str | None = None
    amount: int = 0
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified inbound event. ``id`` is the provider's event id (the inbox key); ``type`` is one of
    the ``PAYMENT_*`` constants or the provider's own type when Mercato has no use for it."""

    id: str
    type: str
    provider_ref: str | None
    data: dict[str, Any]


class PaymentProvider(Protocol):
    """A payment gateway as the service sees it.

    ``charge`` must be idempotent by ``idempotency_key``: the same key returns the same
    charge and never moves money twice. ``next_action`` of a ``requires_action`` result is
    ``{"type": "redirect", "url": …}``; its outcome arrives later as a webhook.
    """

    name: str

    async def charge(self, *, idempotency_key: str, reference: str, amount: int, currency: str,
                     card: CardInput) -> ChargeResult: ...

    async def refund(self, *, idempotency_key: str, provider_ref: str, amount: int,
                     currency: str) -> RefundResult: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify the signature and timestamp, then parse; raises the ``Webhook*`` errors above."""
        ...


def get_provider(settings: Settings, database: Database | None = None) -> PaymentProvider:
    """The provider chosen by ``settings.payment_provider`` (``sandbox`` by default, or ``stripe``).

    ``database`` gives the sandbox its own sessions; without it the sandbox borrows the
    engine of the calling service's session (see ``sandbox.py``).
    """
    # lint: local-import (sandbox.py and stripe.py implement this module's protocol and import it)
    from mercato.payments.sandbox import SandboxProvider

    # lint: local-import (as above)
    from mercato.payments.stripe import StripeProvider

    name = settings.payment_provider.lower()
    if name == "sandbox":
        return SandboxProvider(settings, database)
    if name == "stripe":
        return StripeProvider(settings)
    raise ValueError(f"unknown payment provider {settings.payment_provider!r} (use 'sandbox' or 'stripe')")


# --- card checks shared by providers --------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if digits[:2] in {"51", "52", "53", "54", "55"} or (len(digits) >= 4 and 2221 <= int(digits[:4]) <= 2720):
        return "mastercard"
    if digits.startswith(("6011", "65")) or (len(digits) >= 3 and 644 <= int(digits[:3]) <= 649):
        return "discover"
    return "unknown"


def validate_card(card: CardInput, *, now: datetime | None = None) -> None:
    """Reject what no provider would accept, naming the field: number (length, Luhn), expiry, CVC."""
    now = now or datetime.now(UTC)
    allowed = set("0123456789 -")
    digits = card.digits
    if not card.number or set(card.number) - allowed or not 12 <= len(digits) <= 19 or not luhn_ok(digits):
        raise CardInvalid("The card number is not valid.", field="card_number")
    if not 1 <= card.exp_month <= 12:
        raise CardInvalid("The expiry month must be between 1 and 12.", field="exp_month")
    if (card.exp_year, card.exp_month) < (now.year, now.month):
        raise CardInvalid("The card has expired.", field="exp_year")
    if card.exp_year > now.year + 20:
        raise CardInvalid("The expiry year is too far in the future.", field="exp_year")
    cvc_length = 4 if card_brand(digits) == "amex" else 3
    if not card.cvc.isdigit() or not card.cvc.isascii() or len(card.cvc) != cvc_length:
        raise CardInvalid(f"The security code must have {cvc_length} digits.", field="cvc")
