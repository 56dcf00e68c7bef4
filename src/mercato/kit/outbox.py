"""The transactional outbox: domain events and emails written in the same transaction as the
change they describe (docs/architecture.md, "Outbox"). Consumers (webhooks, analytics) read unpublished
events in id order and mark them published; emails are listed in the dev inbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import utcnow
from mercato.kit.models import EmailMessage, OutboxEvent
from mercato.kit.sql.statements import insert_sql
from mercato.kit.sql.transaction import InTransaction

_EMIT_SQL = insert_sql(OutboxEvent, ("topic", "aggregate", "aggregate_id", "payload", "created_at"))
_EMAIL_SQL = insert_sql(EmailMessage, ("to", "subject", "body", "topic", "created_at"))


async def emit(db: AsyncSession, topic: str, aggregate: str, aggregate_id: int | str, payload: dict[str, Any]) -> None:
    """Record a domain event now, in the caller's transaction (one plain ``INSERT``)."""
    await InTransaction.of(db).execute(_EMIT_SQL, {
        "topic": topic, "aggregate": aggregate, "aggregate_id": str(aggregate_id), "payload": payload,
        "created_at": utcnow()})


async def send_email(db: AsyncSession, to: str, subject: str, body: str, topic: str) -> None:
    """Record an email for the outbox (the dev inbox lists them)."""
    await send_emails(db, [(to, subject, body)], topic)


async def send_emails(db: AsyncSession, emails: list[tuple[str, str, str]], topic: str) -> None:
    """Several ``(to, subject, body)`` emails in one statement."""
    now = utcnow()
    await InTransaction.of(db).executemany(
        _EMAIL_SQL, [{"to": to, "subject": subject[:200], "body": body, "topic": topic, "created_at": now}
                     for to, subject, body in emails])


async def unpublished(db: AsyncSession, limit: int = 100, topics: list[str] | None = None) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
    if topics:
        stmt = stmt.where(OutboxEvent.topic.in_(topics))
    return list((await db.execute(stmt)).scalars())


async def mark_published(db: AsyncSession, ids: list[int]) -> None:
    if ids:
        await db.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(published_at=utcnow()))


async def events_for(db: AsyncSession, aggregate: str, aggregate_id: int | str) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(OutboxEvent.aggregate == aggregate,
                                     OutboxEvent.aggregate_id == str(aggregate_id)).order_by(OutboxEvent.id)
    return list((await db.execute(stmt)).scalars())


async def recent_emails(db: AsyncSession, limit: int = 100, to: str | None = None) -> list[EmailMessage]:
    stmt = select(EmailMessage).order_by(EmailMessage.id.desc()).limit(limit)
    if to:
        stmt = stmt.where(EmailMessage.to == to)
    return list((await db.execute(stmt)).scalars())
