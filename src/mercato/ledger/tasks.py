"""Ledger jobs: releasing held payouts once their hold has ended (idempotent, retry-safe)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.jobs import job
from mercato.ledger import payouts


@job("release_held_payouts", 60)
async def release_held_payouts(db: AsyncSession, settings: Settings) -> int:
    return await payouts.release_held_payouts(db, settings)
