"""Scheduled work of gifts: a host's ``commission`` share (a community event's routing) becomes
payable once the settlement period passed, like a seller's earnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.jobs import job
from mercato.ledger import earnings
from mercato.live.gifts import repository as repo

BATCH = 200


@job("gifts_release_commissions", interval_seconds=300)
async def release_commissions(db: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    released = 0
    for send in await repo.commissions_due(db, now - timedelta(days=settings.settlement_days), BATCH):
        if await repo.mark_released(db, send.id, now):
            await earnings.release(db, creator_id=send.host_id, currency=send.currency, amount=send.host_share,
                                   kind="gift_commission_release", reference=f"gift:{send.id}",
                                   memo=f"Gift commission of LIVE {send.live_id}")
            released += 1
    return released
