"""Scheduled jobs of analytics (registered with ``kit.jobs``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository, rollup
from mercato.config import Settings
from mercato.kit.db import utcnow
from mercato.kit.jobs import job


@job("analytics_prune", 3600)
async def prune_raw_events(db: AsyncSession, settings: Settings) -> int:
    """Raw events older than ``analytics_raw_retention_days`` go (with the viewer ids they hold);
    the rollups, which hold no viewer, stay — dashboards read only them."""
    return await repository.prune_events(db, utcnow() - timedelta(days=settings.analytics_raw_retention_days))


@job("analytics_fold", rollup.FOLD_SECONDS, quiet=True)
async def fold(db: AsyncSession, settings: Settings) -> int:
    """Queued events into their minute rollups (analytics/rollup.py)."""
    return await rollup.fold(db, utcnow())


@job("analytics_rollup", 60)
async def roll_up(db: AsyncSession, settings: Settings) -> int:
    """Hour and day rollups recomputed from the minutes (analytics/rollup.py)."""
    return await rollup.roll_up(db, utcnow())
