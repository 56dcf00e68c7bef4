"""The statements of ``kit/outbox.py`` on the ``outbox_events`` and ``email_messages`` tables.

Writes are plain ``INSERT`` statements in the caller's transaction (they sit on the buying path);
the consumers' reads and the publish mark use the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.models import EmailMessage, OutboxEvent
from mercato.kit.sql.statements import insert_sql
from mercato.kit.sql.transaction import InTransaction

_EMIT_SQL = insert_sql(OutboxEvent, ("topic", "aggregate", "aggregate_id", "payload", "created_at"))
_EMAIL_SQL = insert_sql(EmailMessage, ("to", "subject", "body", "topic", "created_at"))


async def insert_event(db: AsyncSession, row: Mapping[str, Any]) -> None:
    await InTransaction.of(db).execute(_EMIT_SQL, row)


async def insert_emails(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    await InTransaction.of(db).executemany(_EMAIL_SQL, rows)


async def unpublished(db: AsyncSession, limit: int, topics: list[str] | None) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
    if topics:
        stmt = stmt.where(OutboxEvent.topic.in_(topics))
    return list((await db.execute(stmt)).scalars())


async def mark_published(db: AsyncSession, ids: list[int], now: datetime) -> None:
    await db.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(published_at=now))


async def events_for(db: AsyncSession, aggregate: str, aggregate_id: str) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(OutboxEvent.aggregate == aggregate,
                                     OutboxEvent.aggregate_id == aggregate_id).order_by(OutboxEvent.id)
    return list((await db.execute(stmt)).scalars())


async def recent_emails(db: AsyncSession, limit: int, to: str | None) -> list[EmailMessage]:
    stmt = select(EmailMessage).order_by(EmailMessage.id.desc()).limit(limit)
    if to:
        stmt = stmt.where(EmailMessage.to == to)
    return list((await db.execute(stmt)).scalars())
