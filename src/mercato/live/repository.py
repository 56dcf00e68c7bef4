"""Every query of the LIVE domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.kit.db import UTCDateTime
from mercato.live.models import Live, LiveReminder, StreamKey


async def add(db: AsyncSession, row: Live | StreamKey | LiveReminder) -> None:
    db.add(row)
    await db.flush()


async def live(db: AsyncSession, live_id: int) -> Live | None:
    return await db.get(Live, live_id)


async def lives(db: AsyncSession, *, status: str | None, after_id: int | None, limit: int) -> Sequence[Live]:
    """Newest first (by id), optionally of one status."""
    query = select(Live).order_by(Live.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Live.status == status)
    if after_id is not None:
        query = query.where(Live.id < after_id)
    return (await db.scalars(query)).all()


async def stream_key_of(db: AsyncSession, host_id: int) -> StreamKey | None:
    return await db.get(StreamKey, host_id)


async def host_of_key(db: AsyncSession, key_digest: str) -> int | None:
    return await db.scalar(select(StreamKey.host_id).where(StreamKey.key_digest == key_digest))


async def current_live_of(db: AsyncSession, host_id: int) -> Live | None:
    """The host's LIVE that a publisher would feed: the one on air, else the earliest scheduled."""
    on_air = await db.scalar(select(Live).where(Live.host_id == host_id, Live.status == "live")
                             .order_by(Live.id.desc()).limit(1))
    if on_air is not None:
        return on_air
    return await db.scalar(select(Live).where(Live.host_id == host_id, Live.status == "scheduled")
                           .order_by(Live.scheduled_at.is_(None), Live.scheduled_at, Live.id).limit(1))


async def lives_publisher_gone(db: AsyncSession, *, left_before: datetime, limit: int) -> Sequence[Live]:
    """LIVEs on air whose publisher left before ``left_before`` (the grace is over)."""
    return (await db.scalars(select(Live).where(Live.status == "live", Live.publisher_left_at.is_not(None),
                                                Live.publisher_left_at < left_before)
                             .order_by(Live.id).limit(limit))).all()


async def ended_without_replay(db: AsyncSession, *, ended_after: datetime, limit: int) -> Sequence[Live]:
    """Recently ended LIVEs that went on air and have no replay yet."""
    return (await db.scalars(select(Live).where(Live.status == "ended", Live.replay_path.is_(None),
                                                Live.started_at.is_not(None), Live.ended_at >= ended_after)
                             .order_by(Live.id).limit(limit))).all()
async def live_of_publish_key(db: AsyncSession, key_digest: str) -> Live | None:
    return await db.scalar(select(Live).where(Live.publish_key_digest == key_digest))


def _listed_at() -> Any:
    """The moment a list orders by: on air since, scheduled for (else created), ended at."""
    return func.coalesce(Live.started_at, Live.scheduled_at, Live.created_at)


async def lives_page(db: AsyncSession, *, status: str | None, after: tuple[datetime, int] | None,
                     limit: int) -> list[tuple[Live, datetime]]:
    """LIVEs of one status (or all), with their sort key: scheduled ones soonest first, the
    others newest first; keyset ``after`` (sort key, id) of the previous page's last row."""
    key = {"scheduled": func.coalesce(Live.scheduled_at, Live.created_at),
           "ended": func.coalesce(Live.ended_at, Live.created_at)}.get(status or "", _listed_at())
    ascending = status == "scheduled"
    query = select(Live, key).limit(limit)
    if status is not None:
        query = query.where(Live.status == status)
    if ascending:
        query = query.order_by(key, Live.id)
        if after is not None:
            at = literal(after[0], UTCDateTime())
            query = query.where(or_(key > at, and_(key == at, Live.id > after[1])))
    else:
        query = query.order_by(key.desc(), Live.id.desc())
        if after is not None:
            at = literal(after[0], UTCDateTime())
            query = query.where(or_(key < at, and_(key == at, Live.id < after[1])))
    return [(row[0], row[1]) for row in (await db.execute(query)).all()]


async def hosted_lives(db: AsyncSession, host_id: int, limit: int) -> list[Live]:
    """The host's LIVEs for the console: on air and scheduled first, then the latest ended."""
    query = (select(Live).where(Live.host_id == host_id)
             .order_by((Live.status == "ended"), Live.id.desc()).limit(limit))
    return list((await db.scalars(query)).all())


async def users_by_ids(db: AsyncSession, user_ids: Iterable[int]) -> dict[int, User]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {user.id: user for user in (await db.scalars(select(User).where(User.id.in_(ids)))).all()}


async def reminder_exists(db: AsyncSession, live_id: int, user_id: int) -> bool:
    return await db.get(LiveReminder, (live_id, user_id)) is not None


async def add_reminder(db: AsyncSession, live_id: int, user_id: int) -> None:
    if not await reminder_exists(db, live_id, user_id):
        db.add(LiveReminder(live_id=live_id, user_id=user_id))
        await db.flush()


async def delete_reminder(db: AsyncSession, live_id: int, user_id: int) -> None:
    await db.execute(delete(LiveReminder).where(LiveReminder.live_id == live_id, LiveReminder.user_id == user_id))


async def reminder_user_ids(db: AsyncSession, live_id: int) -> list[int]:
    return list((await db.scalars(select(LiveReminder.user_id).where(LiveReminder.live_id == live_id))).all())


async def reminded_live_ids(db: AsyncSession, user_id: int, live_ids: list[int]) -> set[int]:
    if not live_ids:
        return set()
    return set((await db.scalars(select(LiveReminder.live_id).where(
        LiveReminder.user_id == user_id, LiveReminder.live_id.in_(live_ids)))).all())


async def reminder_counts(db: AsyncSession, live_ids: list[int]) -> dict[int, int]:
    if not live_ids:
        return {}
    rows = await db.execute(select(LiveReminder.live_id, func.count()).where(LiveReminder.live_id.in_(live_ids))
                            .group_by(LiveReminder.live_id))
    return {int(live_id): int(count) for live_id, count in rows.all()}


async def lives_featuring(db: AsyncSession, product_id: int, shop_id: int, limit: int) -> Sequence[Live]:
    """LIVEs on air or coming that show the product: it is pinned, or it is a LIVE of its shop
    (whose bag is the shop's products); on air first, then the soonest."""
    stmt = (select(Live).where(Live.status.in_(["live", "scheduled"]),
                               or_(Live.pinned_product_id == product_id, Live.shop_id == shop_id))
            .order_by(Live.status, Live.scheduled_at, Live.id).limit(limit))
    return (await db.execute(stmt)).scalars().all()
