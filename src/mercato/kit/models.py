"""Cross-cutting tables: idempotency keys, the inbox, the outbox and the email outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, IdMixin, UTCDateTime, utcnow


class IdempotencyKey(IdMixin, Base):
    """One ``Idempotency-Key`` per (scope, key): Stripe semantics (``kit/idempotency.py``)."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="in_progress")  # in_progress | done
    response_status: Mapped[int | None] = mapped_column()
    response_body: Mapped[Any] = mapped_column(JSON, nullable=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)


class InboxEvent(IdMixin, Base):
    """An inbound event from a provider, inserted if absent by (source, external id)."""

    __tablename__ = "inbox_events"

    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_inbox_events_source_external"),)


class OutboxEvent(IdMixin, Base):
    """A domain event written in the same transaction as the change it describes."""

    __tablename__ = "outbox_events"

    topic: Mapped[str] = mapped_column(String(80))
    aggregate: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_outbox_events_unpublished", "published_at", "id"),)


class EmailMessage(IdMixin, Base):
    """An email Mercato would send; shown in the dev inbox (no mail server needed)."""

    __tablename__ = "email_messages"

    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
