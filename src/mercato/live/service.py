"""LIVE use cases: who may host, stream keys, the publisher's life (started, left, ended),
scheduling, reminders and the notifications of a LIVE starting, clips.

Services validate, decide and flush; the unit of work (request or job) commits.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import notifications
from mercato.accounts import repository as accounts_repository
from mercato.accounts.models import User
from mercato.accounts.service import is_adult
from mercato.catalog import repository as catalog_repository
from mercato.config import Settings
from mercato.kit.errors import Conflict, Forbidden, KitError, NotFound, ValidationFailed
from mercato.kit.images import store_image
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.kit.security import token_digest
from mercato.live import broadcast, repository
from mercato.live.errors import LiveError
from mercato.live.models import Live, StreamKey


async def host_shop_ids(db: AsyncSession, user: User) -> list[int]:
    return [shop.id for shop, _role in await catalog_repository.shops_of_user(db, user.id)]


async def host_shops(db: AsyncSession, user: User) -> list[tuple[int, str]]:
    """(id, name) of the shops the user may host a LIVE for."""
    return [(shop.id, shop.name) for shop, _role in await catalog_repository.shops_of_user(db, user.id)]


def offset_zone(minutes_behind_utc: int) -> tzinfo:
    """The fixed zone of a browser's ``Date.getTimezoneOffset()`` (minutes *behind* UTC)."""
    if not -14 * 60 <= minutes_behind_utc <= 14 * 60:
        raise ValueError("time zone offset out of range")
    return timezone(timedelta(minutes=-minutes_behind_utc))


async def may_host(db: AsyncSession, user: User, settings: Settings) -> bool:
    """An adult creator with at least ``live_host_min_followers`` followers, or an adult member
    of a shop (a shop's LIVE needs no audience of its own)."""
    if not is_adult(user, settings):
        return False
    if user.is_creator and user.followers_count >= settings.live_host_min_followers:
        return True
    return bool(await host_shop_ids(db, user))


async def require_host(db: AsyncSession, user: User, settings: Settings) -> None:
    if not await may_host(db, user, settings):
        raise Forbidden(f"Going LIVE needs an adult creator with at least {settings.live_host_min_followers:,} "
                        "followers, or a shop member.", code=LiveError.NOT_ELIGIBLE_HOST)


async def get_live(db: AsyncSession, live_id: int) -> Live:
    found = await repository.live(db, live_id)
    if found is None:
        raise NotFound("No such LIVE.", code=LiveError.LIVE_NOT_FOUND)
    return found


async def hosted_live(db: AsyncSession, user: User, live_id: int) -> Live:
    """The LIVE if ``user`` hosts it (operators too); 404 for anyone else."""
    found = await get_live(db, live_id)
    if found.host_id != user.id and not user.is_admin:
        raise NotFound("No such LIVE.", code=LiveError.LIVE_NOT_FOUND)
    return found


async def issue_stream_key(db: AsyncSession, host: User) -> str:
    """A new secret stream key for ``host``, replacing the previous one (which stops working at
    once). Only its digest is kept: the caller shows the returned key once."""
    key = f"live_{host.id}_{secrets.token_urlsafe(24)}"
    existing = await repository.stream_key_of(db, host.id)
    if existing is None:
        await repository.add(db, StreamKey(host_id=host.id, key_digest=token_digest(key), key_hint=key[-4:]))
    else:
        existing.key_digest, existing.key_hint = token_digest(key), key[-4:]
        existing.created_at = datetime.now(UTC)
        await db.flush()
    return key


async def authorize_publish(db: AsyncSession, key: str) -> Live | None:
    """The LIVE a publisher with ``key`` feeds, or ``None`` (unknown or revoked key, nothing to feed).

    Two kinds of key: a LIVE's own publish key (returned once when it was created) feeds that
    LIVE until it ends; the host's persistent key feeds their LIVE on air, else their next
    scheduled one."""
    digest = token_digest(key)
    own = await repository.live_of_publish_key(db, digest)
    if own is not None:
        return own if own.status != "ended" else None
    host_id = await repository.host_of_key(db, digest)
    if host_id is None:
        return None
    return await repository.current_live_of(db, host_id)


async def publisher_started(db: AsyncSession, live: Live) -> None:
    """A publisher is sending: the LIVE is on air (again, if it reconnected within the grace)."""
    if live.status == "ended":
        raise Conflict("This LIVE has ended.", code=LiveError.ALREADY_ENDED)
    starting = live.status != "live"
    if starting:
        live.status, live.started_at = "live", datetime.now(UTC)
    live.publisher_left_at = None
    await db.flush()
    if starting:
        await notify_started(db, live)
        broadcast.after_commit(db, live.id, {"type": "system", "kind": "live_started", "text": "The LIVE has started."})


async def notify_started(db: AsyncSession, live: Live) -> None:
    """Tell the LIVE's reminder subscribers and the host's followers that it is on (once each:
    a restart after the grace, or a second call, adds nothing)."""
    host = await accounts_repository.user_by_id(db, live.host_id)
    name = host.display_name if host is not None else "A creator"
    audience = set(await repository.reminder_user_ids(db, live.id)) | set(
        await accounts_repository.follower_ids(db, live.host_id))
    audience.discard(live.host_id)
    await notifications.notify(db, audience, kind=NOTIFY_KIND, subject_id=live.id,
                               text=f"{name} is LIVE now: {live.title}", url=room_path(live.id))


async def publisher_left(db: AsyncSession, live: Live) -> None:
    """The publisher disconnected: the LIVE stays on air for the grace period (a reconnect resumes it)."""
    if live.status == "live":
        live.publisher_left_at = datetime.now(UTC)
        await db.flush()


def grace_over(live: Live, settings: Settings, now: datetime) -> bool:
    return (live.status == "live" and live.publisher_left_at is not None
            and now - live.publisher_left_at >= timedelta(seconds=settings.live_grace_seconds))


async def end_live(db: AsyncSession, live: Live, *, reason: str) -> None:
    if live.status == "ended":
        return
    live.status, live.ended_at, live.ended_reason = "ended", datetime.now(UTC), reason
    await db.flush()
    broadcast.after_commit(db, live.id, {"type": "ended", "replay_url": None})


# --- the API's use cases ------------------------------------------------------------------------

NOTIFY_KIND = "live_started"
TITLE_MAX = 120


def room_path(live_id: int) -> str:
    return f"/live/{live_id}"


def check_title(title: str) -> str:
    clean = " ".join(title.split())
    if not clean:
        raise ValidationFailed("Give the LIVE a title.", code=KitError.VALIDATION_ERROR,
                               details=[{"field": "title", "message": "required"}])
    if len(clean) > TITLE_MAX:
        raise ValidationFailed(f"A title is at most {TITLE_MAX} characters.", code=KitError.VALIDATION_ERROR,
                               details=[{"field": "title", "message": f"at most {TITLE_MAX} characters"}])
    return clean


def check_schedule(at: datetime, settings: Settings, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    if at.tzinfo is None:
        raise ValidationFailed("Give the time with its time zone (ISO 8601, e.g. 2026-12-24T18:00:00Z).",
                               code=LiveError.INVALID_SCHEDULE)
    if at <= now:
        raise ValidationFailed("A LIVE is scheduled in the future.", code=LiveError.INVALID_SCHEDULE)
    if at > now + timedelta(days=settings.live_schedule_max_days):
        raise ValidationFailed(f"A LIVE is scheduled at most {settings.live_schedule_max_days} days ahead.",
                               code=LiveError.INVALID_SCHEDULE)
    return at.astimezone(UTC)


async def create_live(db: AsyncSession, host: User, settings: Settings, *, title: str,
                      scheduled_at: datetime | None, shop_id: int | None) -> tuple[Live, str]:
    """A new LIVE (``scheduled``: on air once a publisher sends to it) and its own publish key,
    which the caller shows once. 403 ``not_eligible_host`` before anything is written."""
    await require_host(db, host, settings)
    clean = check_title(title)
    when = check_schedule(scheduled_at, settings) if scheduled_at is not None else None
    if shop_id is not None and shop_id not in await host_shop_ids(db, host):
        raise Forbidden("A shop's LIVE is hosted by a member of the shop.", code=LiveError.NOT_YOUR_SHOP)
    key = f"live_{secrets.token_urlsafe(24)}"
    live = Live(host_id=host.id, shop_id=shop_id, title=clean, scheduled_at=when, status="scheduled",
                publish_key_digest=token_digest(key))
    await repository.add(db, live)
    return live, key


async def update_live(db: AsyncSession, user: User, live_id: int, settings: Settings, *, title: str | None,
                      scheduled_at: datetime | None, reschedule: bool) -> Live:
    """Change the title, or the time of a LIVE not yet on air (host or operator; 404 for others)."""
    live = await hosted_live(db, user, live_id)
    if live.status == "ended":
        raise Conflict("This LIVE has ended.", code=LiveError.ALREADY_ENDED)
    clean = check_title(title) if title is not None else None
    when = None
    if reschedule:
        if live.status != "scheduled":
            raise Conflict("This LIVE is already on air.", code=LiveError.NOT_SCHEDULED)
        when = check_schedule(scheduled_at, settings) if scheduled_at is not None else None
    if clean is not None:
        live.title = clean
    if reschedule:
        live.scheduled_at = when
    await db.flush()
    if clean is not None and live.status == "live":
        broadcast.after_commit(db, live.id, {"type": "system", "kind": "title", "text": clean})
    return live


async def set_cover(db: AsyncSession, user: User, live_id: int, settings: Settings,
                    data: bytes) -> tuple[Live, str | None]:
    """Store a cover image; returns the LIVE and the previous cover's path (for removal once committed)."""
    live = await hosted_live(db, user, live_id)
    if live.status == "ended":
        raise Conflict("This LIVE has ended.", code=LiveError.ALREADY_ENDED)
    stored = store_image(data, settings.media_dir, f"lives/{live.id}", max_bytes=settings.max_image_bytes)
    previous, live.cover_path = live.cover_path, stored.path
    await db.flush()
    return live, previous


async def end_by(db: AsyncSession, user: User, live_id: int) -> Live:
    """The host or an operator ends a LIVE (404 for anyone else; ending an ended LIVE is a no-op)."""
    live = await hosted_live(db, user, live_id)
    await end_live(db, live, reason="operator" if user.is_admin and user.id != live.host_id else "host")
    return live


async def remind(db: AsyncSession, user: User, live_id: int, on: bool) -> Live:
    """Subscribe to (or drop) the reminder of a scheduled LIVE; idempotent both ways."""
    live = await get_live(db, live_id)
    if on:
        if live.status != "scheduled":
            raise Conflict("Reminders are for LIVEs that have not started.", code=LiveError.NOT_SCHEDULED)
        await repository.add_reminder(db, live.id, user.id)
    else:
        await repository.delete_reminder(db, live.id, user.id)
    return live


async def list_lives(db: AsyncSession, status: str | None, cursor: str | None,
                     limit: int) -> tuple[list[Live], str | None]:
    decoded = decode_cursor(cursor, (datetime, int))
    after = (decoded[0], decoded[1]) if decoded else None
    rows = await repository.lives_page(db, status=status, after=after, limit=limit + 1)
    nxt = None
    if len(rows) > limit:
        last, key = rows[limit - 1]
        nxt = encode_cursor([key.isoformat(), last.id])
    return [live for live, _ in rows[:limit]], nxt


def live_duration_ms(live: Live) -> int | None:
    """How long the LIVE was on air (what its replay holds), once it has ended."""
    if live.started_at is None or live.ended_at is None:
        return None
    return max(0, int((live.ended_at - live.started_at).total_seconds() * 1000))


def check_clip(live: Live, start_ms: int, end_ms: int, settings: Settings) -> None:
    """A clip is a range of the replay: the LIVE has ended, 0 ≤ start < end ≤ its duration,
    at least a second and at most a video's maximum length."""
    if live.status != "ended":
        raise Conflict("Clips are cut from the replay, once the LIVE has ended.", code=LiveError.NOT_ENDED)
    duration = live_duration_ms(live) or 0
    length = end_ms - start_ms
    if not (0 <= start_ms < end_ms <= duration) or length < 1000 or length > settings.max_video_seconds * 1000:
        raise ValidationFailed(
            f"A clip is a range of the replay (0–{duration} ms), from 1 s to {settings.max_video_seconds} s long.",
            code=LiveError.CLIP_RANGE_INVALID, details={"duration_ms": duration})
