"""Community events: the operator's events and missions, progress counted from server-side
actions, rewards granted once (docs/community.md).

Every counted action has a natural id (``chat:<message id>``, ``gift:<gift tx id>``,
``order:<order id>``, ``share:video:<video id>``): it is recorded once per mission and user
(``community_actions``' primary key), so a replayed action counts nothing. Watch time comes from
the room's presence in seconds and accumulates into whole minutes. When progress reaches the
target the mission completes once (``completed_at``, under the row's lock) and its reward is
granted with the reference ``community:<mission id>:<user id>``.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.community import repository as repo
from mercato.community.errors import CommunityError
from mercato.community.models import CommunityEvent, Mission, MissionProgress
from mercato.community.schemas import EventIn, EventPatch, MissionIn
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.promotions import credits
from mercato.promotions import service as promotions
from mercato.promotions.schemas import CouponIn

#: How long this process trusts its list of event windows (an event created or edited here
#: clears it at once; one created by another process counts from at most this many seconds on).
WINDOWS_TTL = 30.0
_windows: list[tuple[float, list[tuple[datetime, datetime]]]] = []


def forget_windows() -> None:
    _windows.clear()


async def _any_running(db: AsyncSession, at: datetime) -> bool:
    """Whether an event runs at ``at``, from a short-lived list of the windows not over yet: an
    action outside every event (nearly all of them) costs no query of the missions."""
    now = time.monotonic()
    if not _windows or now - _windows[0][0] > WINDOWS_TTL:
        _windows[:] = [(now, [(_aware(a), _aware(b)) for a, b in await repo.windows_not_over(db, datetime.now(UTC))])]
    return any(starts <= at < ends for starts, ends in _windows[0][1])


#: Paths under /events/ that are not events.
RESERVED_SLUGS = frozenset({"banner"})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_running(event: CommunityEvent, at: datetime) -> bool:
    return _aware(event.starts_at) <= at < _aware(event.ends_at)


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationFailed("The event must end after it starts.", code=CommunityError.EVENT_WINDOW,
                               details={"field": "ends_at"})


def _check_reward(index: int, data: MissionIn) -> None:
    problem = None
    if data.reward_kind == "badge" and not data.reward_badge:
        problem = "A badge reward needs reward_badge (its name)."
    elif data.reward_kind == "credits" and (data.reward_amount is None or data.reward_currency is None):
        problem = "A credits reward needs reward_amount and reward_currency."
    elif data.reward_kind == "coupon" and (data.reward_amount is None) == (data.reward_percent_bps is None):
        problem = "A coupon reward needs exactly one of reward_amount and reward_percent_bps."
    elif data.reward_kind == "coupon" and data.reward_amount is not None and data.reward_currency is None:
        problem = "An amount-off coupon needs reward_currency."
    if problem is not None:
        raise ValidationFailed(problem, code=CommunityError.MISSION_REWARD, details={"field": f"missions.{index}"})


async def create_event(db: AsyncSession, data: EventIn) -> tuple[CommunityEvent, list[Mission]]:
    _check_window(data.starts_at, data.ends_at)
    for index, mission in enumerate(data.missions):
        _check_reward(index, mission)
    if data.slug in RESERVED_SLUGS or await repo.event_by_slug(db, data.slug) is not None:
        raise Conflict(f"An event already uses the slug {data.slug}.", code=CommunityError.EVENT_SLUG_TAKEN,
                       details={"field": "slug"})
    event = CommunityEvent(slug=data.slug, name=data.name, description=data.description, starts_at=data.starts_at,
                           ends_at=data.ends_at, gift_conversion=data.gift_conversion, created_at=datetime.now(UTC))
    await repo.add(db, event)
    missions = [Mission(event_id=event.id, position=i, kind=m.kind, title=m.title, target=m.target,
                        reward_kind=m.reward_kind, reward_badge=m.reward_badge, reward_amount=m.reward_amount,
                        reward_percent_bps=m.reward_percent_bps, reward_currency=m.reward_currency)
                for i, m in enumerate(data.missions)]
    await repo.add_all(db, missions)
    forget_windows()
    return event, missions


async def get_event(db: AsyncSession, slug: str) -> CommunityEvent:
    event = await repo.event_by_slug(db, slug)
    if event is None:
        raise NotFound("No such event.", code=CommunityError.EVENT_NOT_FOUND)
    return event


async def event_by_id(db: AsyncSession, event_id: int) -> CommunityEvent:
    event = await repo.event_by_id(db, event_id)
    if event is None:
        raise NotFound("No such event.", code=CommunityError.EVENT_NOT_FOUND)
    return event


async def update_event(db: AsyncSession, event: CommunityEvent, data: EventPatch) -> CommunityEvent:
    starts = data.starts_at or _aware(event.starts_at)
    ends = data.ends_at or _aware(event.ends_at)
    _check_window(starts, ends)
    event.starts_at, event.ends_at = starts, ends
    if data.name is not None:
        event.name = data.name
    if data.description is not None:
        event.description = data.description
    if data.gift_conversion is not None:
        event.gift_conversion = None if data.gift_conversion == "diamonds" else data.gift_conversion
    await db.flush()
    forget_windows()
    return event


async def missions_of(db: AsyncSession, event: CommunityEvent) -> list[Mission]:
    return await repo.missions(db, [event.id])


async def events(db: AsyncSession, limit: int = 100) -> list[CommunityEvent]:
    return await repo.events(db, limit)


async def running_events(db: AsyncSession, at: datetime | None = None) -> list[CommunityEvent]:
    return await repo.running(db, at or datetime.now(UTC))


# --- counting -------------------------------------------------------------------------------------


async def _progress_row(db: AsyncSession, mission: Mission, user_id: int) -> MissionProgress:
    row = await repo.progress(db, mission.id, user_id)
    if row is None:
        row = MissionProgress(mission_id=mission.id, user_id=user_id, event_id=mission.event_id, progress=0,
                              seconds=0)
        await repo.add(db, row)
    return row


async def count_action(db: AsyncSession, *, kind: str, user_id: int, action_key: str, at: datetime) -> int:
    """Count one action of ``kind`` for every running mission of that kind; answers how many
    missions it advanced (0 on a replay)."""
    advanced = 0
    if not await _any_running(db, at):
        return 0
    for mission in await repo.running_missions(db, at, kind):
        if not await repo.claim_action(db, mission.id, user_id, action_key, at):
            continue
        row = await _progress_row(db, mission, user_id)
        row.progress += 1
        await _maybe_complete(db, mission, row, at)
        advanced += 1
    return advanced


async def count_watch(db: AsyncSession, *, user_id: int, seconds: int, at: datetime) -> None:
    if not await _any_running(db, at):
        return
    for mission in await repo.running_missions(db, at, "watch_minutes"):
        row = await _progress_row(db, mission, user_id)
        total = row.seconds + seconds
        row.progress += total // 60
        row.seconds = total % 60
        await _maybe_complete(db, mission, row, at)


async def _maybe_complete(db: AsyncSession, mission: Mission, row: MissionProgress, at: datetime) -> None:
    if row.completed_at is None and row.progress >= mission.target:
        row.completed_at = at
        row.reward_reference = f"community:{mission.id}:{row.user_id}"
        row.reward_code = await _grant(db, mission, row.user_id, row.reward_reference, at)
    await db.flush()


async def _grant(db: AsyncSession, mission: Mission, user_id: int, reference: str, at: datetime) -> str | None:
    """The mission's reward; a coupon answers its code. Runs once per (mission, user): the
    caller set ``completed_at`` under the progress row's lock, and credits are idempotent by
    reference besides."""
    if mission.reward_kind == "credits":
        assert mission.reward_amount is not None and mission.reward_currency is not None
        await credits.grant(db, user_id=user_id, amount=mission.reward_amount, currency=mission.reward_currency,
                            reason=f"Mission completed: {mission.title}", reference=reference)
        return None
    if mission.reward_kind == "coupon":
        code = f"M{mission.id}-{secrets.token_hex(4).upper()}"
        percent = mission.reward_percent_bps
        coupon = CouponIn(code=code, kind="percent" if percent is not None else "amount", percent_bps=percent,
                          amount=mission.reward_amount if percent is None else None,
                          currency=mission.reward_currency, per_user_limit=1, total_limit=1)
        await promotions.create_platform_coupon(db, coupon, now=at)
        return code
    return None  # a badge: completing the mission is the badge


async def progress_of(db: AsyncSession, event: CommunityEvent, user_id: int) -> dict[int, MissionProgress]:
    return await repo.progress_of(db, event.id, user_id)


async def gift_conversion(db: AsyncSession, at: datetime) -> str | None:
    """Where a host's gift share goes while an event converts gifts (the first running event
    with a conversion), or None."""
    if not await _any_running(db, _aware(at)):
        return None
    for event in await repo.running(db, _aware(at)):
        if event.gift_conversion:
            return event.gift_conversion
    return None


async def event_exists(db: AsyncSession, slug: str) -> bool:
    return await repo.event_by_slug(db, slug) is not None
