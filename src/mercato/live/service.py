"""LIVE use cases: who may host, stream keys, the publisher's life (started, left, ended).

Services validate, decide and flush; the unit of work (request or job) commits.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.accounts.service import is_adult
from mercato.catalog import repository as catalog_repository
from mercato.config import Settings
from mercato.kit.errors import Conflict, Forbidden, NotFound
from mercato.kit.security import token_digest
from mercato.live import repository
from mercato.live.errors import LiveError
from mercato.live.models import Live, StreamKey


async def host_shop_ids(db: AsyncSession, user: User) -> list[int]:
    return [shop.id for shop, _role in await catalog_repository.shops_of_user(db, user.id)]


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
    """The LIVE a publisher with ``key`` feeds (the host's LIVE on air, else their next scheduled
    one), or ``None``: unknown or revoked key, or nothing to feed."""
    host_id = await repository.host_of_key(db, token_digest(key))
    if host_id is None:
        return None
    return await repository.current_live_of(db, host_id)


async def publisher_started(db: AsyncSession, live: Live) -> None:
    """A publisher is sending: the LIVE is on air (again, if it reconnected within the grace)."""
    if live.status == "ended":
        raise Conflict("This LIVE has ended.", code=LiveError.ALREADY_ENDED)
    if live.status != "live":
        live.status, live.started_at = "live", datetime.now(UTC)
    live.publisher_left_at = None
    await db.flush()


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
