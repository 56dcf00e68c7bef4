"""The dashboards' own queries: the operator console's queue sizes and held payouts.

They read other domains' tables for counts only (the home shows how long each queue is and links
to the domain's own page, which does the work)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.content.models import VideoReport
from mercato.ledger.models import Payout
from mercato.live.models import Live
from mercato.live.room.models import LiveReport


async def open_video_reports(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(VideoReport)
                               .where(VideoReport.status == "open")) or 0)


async def reported_lives(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count(distinct(LiveReport.live_id)))) or 0)


async def held_payouts(db: AsyncSession) -> list[tuple[str, int, int]]:
    """(currency, payouts held, amount held) per currency."""
    rows = await db.execute(select(Payout.currency, func.count(), func.sum(Payout.amount))
                            .where(Payout.status == "held").group_by(Payout.currency).order_by(Payout.currency))
    return [(str(c), int(n), int(total or 0)) for c, n, total in rows.all()]


async def live_titles(db: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(Live.id, Live.title).where(Live.id.in_(ids)))
    return {int(i): str(t) for i, t in rows.all()}


async def past_lives(db: AsyncSession, host_id: int, *, before_id: int, limit: int
                     ) -> list[tuple[int, datetime | None, datetime | None]]:
    """(id, started, ended) of the host's latest ended LIVEs other than ``before_id``."""
    rows = await db.execute(select(Live.id, Live.started_at, Live.ended_at)
                            .where(Live.host_id == host_id, Live.status == "ended", Live.id != before_id)
                            .order_by(Live.id.desc()).limit(limit))
    return [(int(i), s, e) for i, s, e in rows.all()]


async def lives_of_shop(db: AsyncSession, shop_id: int, limit: int) -> list[tuple[int, str, str]]:
    """(id, title, status) of the shop's LIVEs, newest first."""
    rows = await db.execute(select(Live.id, Live.title, Live.status).where(Live.shop_id == shop_id)
                            .order_by(Live.id.desc()).limit(limit))
    return [(int(i), str(t), str(s)) for i, t, s in rows.all()]
