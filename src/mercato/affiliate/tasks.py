"""Affiliate jobs (kit/jobs.py): remind creators to post about the free samples they received.
Guarded by ``reminded_at`` (set in the same unit of work), so a second run reminds nobody twice."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import samples
from mercato.config import Settings
from mercato.kit.jobs import job


@job("affiliate_sample_reminders", interval_seconds=600)
async def remind_samples(db: AsyncSession, settings: Settings) -> int:
    return await samples.remind_due(db)
