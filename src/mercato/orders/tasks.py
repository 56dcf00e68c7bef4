"""Scheduled jobs of the buying loop (registered with ``kit.jobs``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.jobs import job
from mercato.orders import lifecycle, refunds


@job("expire_reservations", 15)
async def expire_reservations(db: AsyncSession, settings: Settings) -> int:
    """Checkouts not paid within the reservation TTL release their stock and coupons."""
    return await lifecycle.expire_due(db)


@job("auto_approve_returns", 300)
async def auto_approve_returns(db: AsyncSession, settings: Settings) -> int:
    return await refunds.auto_approve_due(db, settings)


@job("settle_orders", 300)
async def settle_orders(db: AsyncSession, settings: Settings) -> int:
    return await lifecycle.settle_due(db, settings)
