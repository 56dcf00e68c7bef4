"""Scheduled job of selling in the room (registered with ``kit.jobs``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.jobs import job
from mercato.live.selling import deals


@job("live_flash_deals", 1)
async def live_flash_deals(db: AsyncSession, settings: Settings) -> int:
    """Tell the rooms when a deal's countdown ends (open) and when it is over (closed). Buying
    never waits for this: whether a deal sells is decided by the clock and its units."""
    now = datetime.now(UTC)
    return await deals.open_due(db, now) + await deals.close_due(db, now)
