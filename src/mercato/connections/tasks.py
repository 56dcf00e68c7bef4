"""Scheduled jobs of connections (kit/jobs.py): order pushes with back-off, and the reconciliation
pull that catches what a missed webhook did not bring."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.connections import service
from mercato.kit.jobs import job


@job("push_store_orders", interval_seconds=30)
async def push_store_orders(db: AsyncSession, settings: Settings) -> int:
    """Record a push for every newly paid order of a connected product, then attempt the due ones."""
    return await service.push_due(db)


@job("reconcile_connections", interval_seconds=900)
async def reconcile_connections(db: AsyncSession, settings: Settings) -> int:
    return await service.reconcile_all(db)
