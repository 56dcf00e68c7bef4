"""In-app notifications (the bell): written by the domain whose event it is, read by their user.

Accounts knows no other domain: a notification carries its own ``text`` and ``url``, and
``kind`` + ``subject_id`` say what it is about so that one event notifies a user once however
often it repeats (a LIVE whose publisher reconnects starts once).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository
from mercato.accounts.models import Notification, User
from mercato.kit.pagination import decode_cursor, encode_cursor


async def notify(db: AsyncSession, user_ids: Iterable[int], *, kind: str, subject_id: int, text: str,
                 url: str) -> None:
    """One notification per user about ``(kind, subject_id)``; users already told are skipped."""
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = [
        {"user_id": user_id, "kind": kind, "subject_id": subject_id, "text": text[:300], "url": url,
         "created_at": now}
        for user_id in sorted(set(user_ids))]
    await repository.add_notifications(db, rows)


async def page(db: AsyncSession, user: User, cursor: str | None, limit: int) -> tuple[list[Notification], str | None]:
    """The user's notifications, newest first, and the cursor of the next page."""
    decoded = decode_cursor(cursor, (int,))
    before = decoded[0] if decoded else None
    items = await repository.notifications(db, user.id, before_id=before, limit=limit + 1)
    nxt = encode_cursor([items[limit - 1].id]) if len(items) > limit else None
    return items[:limit], nxt


async def unread(db: AsyncSession, user: User) -> int:
    return await repository.unread_notifications(db, user.id)


async def mark_read(db: AsyncSession, user: User, ids: list[int] | None) -> int:
    """Mark the user's notifications read (all, or only ``ids``; others' ids change nothing)."""
    return await repository.mark_notifications_read(db, user.id, ids, datetime.now(UTC))
