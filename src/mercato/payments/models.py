"""Payment intents, their append-only event log, provider refunds and the sandbox provider's own state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class PaymentIntent(IdMixin, TimestampMixin, Base):
    """What the buyer owes for one checkout in one currency, and how paying it went."""

    __tablename__ = "payment_intents"

    # The checkout it pays, or none for a coin purchase (live/gifts: ``coin_purchases.intent_id``).
    checkout_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("checkouts.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    # requires_payment_method | processing | requires_action | succeeded | failed | cancelled
    status: Mapped[str] = mapped_column(String(24), default="requires_payment_method")
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(120), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error_code: Mapped[str | None] = mapped_column(String(60))
    last_error_message: Mapped[str | None] = mapped_column(String(300))
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    next_action: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)


class PaymentEvent(IdMixin, Base):
    """Append-only log of everything that happened to a payment intent."""

    __tablename__ = "payment_events"

    intent_id: Mapped[int] = mapped_column(BigId, ForeignKey("payment_intents.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SandboxCharge(IdMixin, Base):
    """State kept by the built-in sandbox provider, as a real provider would on its side."""

    __tablename__ = "sandbox_charges"

    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    reference: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(24))
    action_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    webhook_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    webhook_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
