"""Every query of community events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.community.models import CommunityEvent, Mission, MissionAction, MissionProgress

Row = CommunityEvent | Mission | MissionProgress | MissionAction


async def add(db: AsyncSession, row: Row) -> None:
    db.add(row)
    await db.flush()


async def add_all(db: AsyncSession, rows: Sequence[Row]) -> None:
    db.add_all(rows)
    await db.flush()


async def event_by_slug(db: AsyncSession, slug: str) -> CommunityEvent | None:
    return (await db.scalars(select(CommunityEvent).where(CommunityEvent.slug == slug))).first()


async def event_by_id(db: AsyncSession, event_id: int) -> CommunityEvent | None:
    return await db.get(CommunityEvent, event_id)


async def events(db: AsyncSession, limit: int) -> list[CommunityEvent]:
    return list(await db.scalars(select(CommunityEvent).order_by(CommunityEvent.starts_at.desc(),
                                                                 CommunityEvent.id.desc()).limit(limit)))


async def running(db: AsyncSession, at: datetime) -> list[CommunityEvent]:
    return list(await db.scalars(select(CommunityEvent).where(CommunityEvent.starts_at <= at,
                                                              CommunityEvent.ends_at > at)
                                 .order_by(CommunityEvent.starts_at, CommunityEvent.id)))


async def missions(db: AsyncSession, event_ids: Sequence[int], kind: str | None = None) -> list[Mission]:
    if not event_ids:
        return []
    query = select(Mission).where(Mission.event_id.in_(event_ids))
    if kind is not None:
        query = query.where(Mission.kind == kind)
    return list(await db.scalars(query.order_by(Mission.event_id, Mission.position, Mission.id)))


async def windows_not_over(db: AsyncSession, at: datetime) -> list[tuple[datetime, datetime]]:
    """(starts, ends) of every event not over at ``at``: running or to come."""
    rows = await db.execute(select(CommunityEvent.starts_at, CommunityEvent.ends_at).where(CommunityEvent.ends_at > at))
    return [(a, b) for a, b in rows.all()]


async def running_missions(db: AsyncSession, at: datetime, kind: str) -> list[Mission]:
    return list(await db.scalars(
        select(Mission).join(CommunityEvent, CommunityEvent.id == Mission.event_id)
        .where(CommunityEvent.starts_at <= at, CommunityEvent.ends_at > at, Mission.kind == kind)
        .order_by(Mission.id)))


async def progress(db: AsyncSession, mission_id: int, user_id: int) -> MissionProgress | None:
    query = select(MissionProgress).where(MissionProgress.mission_id == mission_id,
                                          MissionProgress.user_id == user_id).with_for_update()
    return (await db.scalars(query.execution_options(populate_existing=True))).first()


async def progress_of(db: AsyncSession, event_id: int, user_id: int) -> dict[int, MissionProgress]:
    rows = await db.scalars(select(MissionProgress).where(MissionProgress.event_id == event_id,
                                                          MissionProgress.user_id == user_id))
    return {row.mission_id: row for row in rows}


async def claim_action(db: AsyncSession, mission_id: int, user_id: int, action_key: str, at: datetime) -> bool:
    """Record an action once: False when this (mission, user, action) was counted before."""
    try:
        async with db.begin_nested():
            await add(db, MissionAction(mission_id=mission_id, user_id=user_id, action_key=action_key, at=at))
    except IntegrityError:
        return False
    return True


async def completed_count(db: AsyncSession, event_id: int) -> int:
    rows = await db.scalars(select(MissionProgress.user_id).where(MissionProgress.event_id == event_id,
                                                                  MissionProgress.completed_at.is_not(None)))
    return len(set(rows))
