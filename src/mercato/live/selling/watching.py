"""Watch time: how long each signed-in member has been in a LIVE's room. The room reports it
(when a member leaves, and every minute while they stay); LIVE coupons unlock on it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.live.selling import repository

#: A single report never counts more than this (a report covers a minute, or a stay that ended).
MAX_REPORT_SECONDS = 6 * 3600


async def record_watch(session: AsyncSession, live_id: int, user_id: int, seconds: int) -> int:
    """Add ``seconds`` of watching to the member's total for the LIVE; answers the new total.
    Non-positive reports change nothing; one report counts at most :data:`MAX_REPORT_SECONDS`."""
    if seconds <= 0:
        return await repository.watched(session, live_id, user_id)
    return await repository.add_watch(session, live_id, user_id, min(seconds, MAX_REPORT_SECONDS),
                                      datetime.now(UTC))


async def watched_seconds(session: AsyncSession, live_id: int, user_id: int) -> int:
    return await repository.watched(session, live_id, user_id)
