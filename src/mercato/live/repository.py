"""Every query of the LIVE domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.live.models import Live, StreamKey


async def add(db: AsyncSession, row: Live | StreamKey) -> None:
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
