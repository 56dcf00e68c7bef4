"""Fan Club use cases: joining by the club's gift, points and levels, the lapse rule, the host's
fan list (rules: docs/community.md, "Fan Club").

Points are earned only by *active* members, in the host's own LIVEs: watching (per minute,
capped per LIVE), commenting (per message, capped per host and UTC day) and gifting (per coin).
A lapsed member rejoins with the club's gift again and keeps the points they had.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.accounts.service import require_adult
from mercato.config import Settings
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.live.fanclub import repository as repo
from mercato.live.fanclub.errors import FanClubError
from mercato.live.fanclub.models import FanMembership, FanPointCounter


def level_for(points: int, thresholds: list[int]) -> int:
    """Levels 1..len(thresholds): the highest level whose threshold ``points`` reached."""
    return max((i + 1 for i, need in enumerate(thresholds) if points >= need), default=1)


def next_level_points(level: int, thresholds: list[int]) -> int | None:
    return thresholds[level] if level < len(thresholds) else None


async def join(db: AsyncSession, settings: Settings, *, host_id: int, user_id: int, at: datetime) -> FanMembership:
    """Join (or rejoin after a lapse) ``host_id``'s Fan Club. 18+ only (gifts are)."""
    fan = await repo.user(db, user_id)
    if fan is None:
        raise NotFound("No such user.", code=FanClubError.CREATOR_NOT_FOUND)
    require_adult(fan, settings, "join a Fan Club")
    member = await repo.membership(db, host_id, user_id, lock=True)
    if member is None:
        member = FanMembership(host_id=host_id, user_id=user_id, status="active", points=0, level=1, joined_at=at,
                               last_points_at=at)
        try:
            async with db.begin_nested():
                await repo.add(db, member)
        except IntegrityError:  # joined concurrently: the other join made the row
            found = await repo.membership(db, host_id, user_id, lock=True)
            assert found is not None
            member = found
    if member.status != "active":
        member.status, member.lapsed_at, member.last_points_at = "active", None, at
        await db.flush()
    return member


async def add_points(db: AsyncSession, settings: Settings, *, host_id: int, user_id: int, points: int,
                     at: datetime) -> bool:
    """Credit ``points`` to an active member (a no-op for anyone else, ``False``); the level
    follows (:func:`level_for`, computed by the one guarded update)."""
    if points <= 0:
        return False
    return await repo.add_points(db, host_id, user_id, points, at, settings.fan_level_thresholds)


async def _bucket_points(db: AsyncSession, *, host_id: int, user_id: int, bucket: str, units: int,
                         points_of: int, cap: int) -> int:
    """Add ``units`` to a capped bucket; answers the points it newly earned."""
    row = await repo.counter(db, host_id, user_id, bucket)
    if row is None:
        row = FanPointCounter(host_id=host_id, user_id=user_id, bucket=bucket, units=0, points=0)
        try:
            async with db.begin_nested():
                await repo.add(db, row)
        except IntegrityError:
            found = await repo.counter(db, host_id, user_id, bucket)
            assert found is not None
            row = found
    row.units += units
    earned = min(cap, points_of * row.units if bucket.startswith("comment:") else points_of * (row.units // 60))
    delta = max(0, earned - row.points)
    row.points += delta
    await db.flush()
    return delta


async def record_watch(db: AsyncSession, settings: Settings, *, host_id: int, live_id: int, user_id: int,
                       seconds: int, at: datetime) -> None:
    if user_id == host_id or await repo.active_level(db, host_id, user_id) is None:
        return
    points = await _bucket_points(db, host_id=host_id, user_id=user_id, bucket=f"watch:{live_id}", units=seconds,
                                  points_of=settings.fan_points_per_watch_minute,
                                  cap=settings.fan_watch_points_cap_per_live)
    await add_points(db, settings, host_id=host_id, user_id=user_id, points=points, at=at)


async def record_comment(db: AsyncSession, settings: Settings, *, host_id: int, user_id: int, at: datetime) -> None:
    if user_id == host_id or await repo.active_level(db, host_id, user_id) is None:
        return
    points = await _bucket_points(db, host_id=host_id, user_id=user_id, bucket=f"comment:{at.date().isoformat()}",
                                  units=1, points_of=settings.fan_points_per_comment,
                                  cap=settings.fan_comment_points_cap_per_day)
    await add_points(db, settings, host_id=host_id, user_id=user_id, points=points, at=at)


async def record_gift(db: AsyncSession, settings: Settings, *, host_id: int, user_id: int, coins: int, joins: bool,
                      at: datetime) -> None:
    """A gift in the host's LIVE: the club's gift joins first, then every gift earns its coins' points."""
    if user_id == host_id:
        return
    if joins:
        await join(db, settings, host_id=host_id, user_id=user_id, at=at)
    await add_points(db, settings, host_id=host_id, user_id=user_id, points=coins * settings.fan_points_per_coin,
                     at=at)


async def lapse(db: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    return await repo.lapse_due(db, now=now, live_before=now - timedelta(days=settings.fan_lapse_days))


async def fan_level(db: AsyncSession, host_id: int, user_id: int) -> int | None:
    return await repo.active_level(db, host_id, user_id)


@dataclass
class FanRow:
    user: User
    member: FanMembership


async def fans_page(db: AsyncSession, settings: Settings, host: User, *, sort: str,
                    cursor: str | None) -> tuple[list[FanRow], str | None, int]:
    """The host's active fans, sorted, ``fan_page_size`` at a time (the cursor is an offset)."""
    if sort not in repo.SORTS:
        raise ValidationFailed(f"Sort by one of {', '.join(repo.SORTS)}.", code=FanClubError.INVALID_SORT,
                               details={"field": "sort"})
    decoded = decode_cursor(cursor, (int,))
    offset = max(0, decoded[0]) if decoded else 0
    limit = settings.fan_page_size
    rows = await repo.fans(db, host.id, sort=sort, offset=offset, limit=limit + 1)
    more = len(rows) > limit
    items = [FanRow(user=u, member=m) for m, u in rows[:limit]]
    return items, encode_cursor([offset + limit]) if more else None, await repo.fan_count(db, host.id)


async def membership_of(db: AsyncSession, creator_id: int, user: User) -> FanMembership | None:
    creator = await repo.user(db, creator_id)
    if creator is None:
        raise NotFound("No such creator.", code=FanClubError.CREATOR_NOT_FOUND)
    return await repo.membership(db, creator_id, user.id)
