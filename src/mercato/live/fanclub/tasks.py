"""Fan Club job (kit/jobs.py): ``fan_club_lapse`` lapses the members who earned no points within
``fan_lapse_days`` of one of their host's LIVEs (docs/community.md). One guarded UPDATE: running it
twice, or in two processes, lapses nobody twice."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.jobs import job
from mercato.live.fanclub import service


@job("fan_club_lapse", interval_seconds=3600)
async def lapse_members(db: AsyncSession, settings: Settings) -> int:
    return await service.lapse(db, settings)
