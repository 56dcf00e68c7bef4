"""Every query of the LIVE domain."""

from __future__ import annotations

from collections.abc import Sequence

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
