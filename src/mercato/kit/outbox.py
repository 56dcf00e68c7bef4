"""The transactional outbox: domain events and emails written in the same transaction as the
change they describe (docs/architecture.md, "Outbox"). Consumers (webhooks, analytics) read unpublished
events in id order and mark them published; emails are listed in the dev inbox. The statements
are in ``kit/sql/outbox_rows.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import utcnow
from mercato.kit.models import EmailMessage, OutboxEvent
from mercato.kit.sql import outbox_rows


async def emit(db: AsyncSession, topic: str, aggregate: str, aggregate_id: int | str, payload: dict[str, Any]) -> None:
    """Record a domain event now, in the caller's transaction (one plain ``INSERT``)."""
    await outbox_rows.insert_event(db, {
        "topic": topic, "aggregate": aggregate, "aggregate_id": str(aggregate_id), "payload": payload,
        "created_at": utcnow()})


async def send_email(db: AsyncSession, to: str, subject: str, body: str, topic: str) -> None:
    """Record an email for the outbox (the dev inbox lists them)."""
    await send_emails(db, [(to, subject, body)], topic)


async def send_emails(db: AsyncSession, emails: list[tuple[str, str, str]], topic: str) -> None:
    """Several ``(to, subject, body)`` emails in one statement."""
    now = utcnow()
    await outbox_rows.insert_emails(
        db, [{"to": to, "subject": subject[:200], "body": body, "topic": topic, "created_at": now}
             for to, subject, body in emails])


async def unpublished(db: AsyncSession, limit: int = 100, topics: list[str] | None = None) -> list[OutboxEvent]:
    return await outbox_rows.unpublished(db, limit, topics)


async def mark_published(db: AsyncSession, ids: list[int]) -> None:
    if ids:
        await outbox_rows.mark_published(db, ids, utcnow())


async def events_for(db: AsyncSession, aggregate: str, aggregate_id: int | str) -> list[OutboxEvent]:
    return await outbox_rows.events_for(db, aggregate, str(aggregate_id))


async def recent_emails(db: AsyncSession, limit: int = 100, to: str | None = None) -> list[EmailMessage]:
    return await outbox_rows.recent_emails(db, limit, to)
