"""The feed's scheduled job (kit/jobs.py): retrain the learned ranker.

The job ticks every few minutes and trains only when the newest run is at least
``feed_ranker_retrain_seconds`` old and something was logged, so the period is a setting, a
process that restarts does not retrain at once, and an idle platform stores no runs. Two
processes training at once store two runs; the newest promoted one ranks, so that does no
harm."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.feed import ranker
from mercato.kit.jobs import job


@job("train_feed_ranker", 300)
async def train_feed_ranker(db: AsyncSession, settings: Settings) -> int:
    if not await ranker.due(db, settings):
        return 0
    await ranker.train(db, settings)
    return 1
