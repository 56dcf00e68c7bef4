"""Every query of the Fan Club."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.kit.sql.params import as_datetime
from mercato.kit.sql.transaction import InTransaction
from mercato.live.fanclub.models import FanMembership, FanPointCounter
from mercato.live.models import Live

SORTS = {
    "points": (FanMembership.points.desc(), FanMembership.user_id),
    "level": (FanMembership.level.desc(), FanMembership.points.desc(), FanMembership.user_id),
    "joined": (FanMembership.joined_at.desc(), FanMembership.user_id),
    "last_active": (FanMembership.last_points_at.desc(), FanMembership.user_id),
}


async def add(db: AsyncSession, row: FanMembership | FanPointCounter) -> None:
    db.add(row)
    await db.flush()


async def membership(db: AsyncSession, host_id: int, user_id: int, *, lock: bool = False) -> FanMembership | None:
    """``lock``: ``SELECT … FOR UPDATE`` on PostgreSQL, so two points updates never interleave."""
    query = select(FanMembership).where(FanMembership.host_id == host_id, FanMembership.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return (await db.scalars(query.execution_options(populate_existing=True))).first()


def _add_points_sql(levels: int) -> str:
    """The guarded points update of an active member: the new level is the highest whose threshold
    (``:t0`` … for levels 1 …) the new points reach, computed in the statement."""
    cases = " ".join(f"WHEN points + :points >= :t{i} THEN {i + 1}" for i in reversed(range(levels)))
    level = f"CASE {cases} ELSE 1 END" if levels else "1"
    return (f"UPDATE {FanMembership.__tablename__} SET points = points + :points, "  # noqa: S608 (no input)
            f"level = {level}, "
            "last_points_at = CASE WHEN last_points_at >= :at THEN last_points_at ELSE :at END "
            "WHERE host_id = :host_id AND user_id = :user_id AND status = 'active' "
            "RETURNING points, level, last_points_at")


async def add_points(db: AsyncSession, host_id: int, user_id: int, points: int, at: datetime,
                     thresholds: list[int]) -> bool:
    """Credit ``points`` to an active member in one statement (the row's lock serialises
    concurrent credits): ``False`` (nothing changed) for anyone else. A copy of the row the
    session holds is told the new values."""
    raw = InTransaction.of(db)
    params = {"points": points, "at": at, "host_id": host_id, "user_id": user_id,
              **{f"t{i}": need for i, need in enumerate(thresholds)}}
    row = await raw.first(_add_points_sql(len(thresholds)), params)
    if row is None:
        return False
    raw.sync(FanMembership, (host_id, user_id), points=int(row[0]), level=int(row[1]),
             last_points_at=as_datetime(row[2]))
    return True


async def active_level(db: AsyncSession, host_id: int, user_id: int) -> int | None:
    return await db.scalar(select(FanMembership.level).where(
        FanMembership.host_id == host_id, FanMembership.user_id == user_id, FanMembership.status == "active"))


async def counter(db: AsyncSession, host_id: int, user_id: int, bucket: str) -> FanPointCounter | None:
    query = select(FanPointCounter).where(FanPointCounter.host_id == host_id, FanPointCounter.user_id == user_id,
                                          FanPointCounter.bucket == bucket).with_for_update()
    return (await db.scalars(query.execution_options(populate_existing=True))).first()


async def user(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


async def fans(db: AsyncSession, host_id: int, *, sort: str, offset: int,
               limit: int) -> list[tuple[FanMembership, User]]:
    rows = await db.execute(select(FanMembership, User).join(User, User.id == FanMembership.user_id)
                            .where(FanMembership.host_id == host_id, FanMembership.status == "active")
                            .order_by(*SORTS[sort]).offset(offset).limit(limit))
    return [(m, u) for m, u in rows.all()]


async def fan_count(db: AsyncSession, host_id: int) -> int:
    return int(await db.scalar(select(func.count()).select_from(FanMembership).where(
        FanMembership.host_id == host_id, FanMembership.status == "active")) or 0)


async def lapse_due(db: AsyncSession, *, now: datetime, live_before: datetime) -> int:
    """Lapse every active member whose host had a LIVE that started after the member's last
    points (and after they joined) and at or before ``live_before`` (``now`` − the lapse days)."""
    stale_live = exists().where(and_(Live.host_id == FanMembership.host_id, Live.started_at.is_not(None),
                                     Live.started_at > FanMembership.last_points_at,
                                     Live.started_at <= live_before))
    result = await db.execute(update(FanMembership).where(FanMembership.status == "active", stale_live)
                              .values(status="lapsed", lapsed_at=now).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def host_of(db: AsyncSession, live_id: int) -> int | None:
    return await db.scalar(select(Live.host_id).where(Live.id == live_id))
