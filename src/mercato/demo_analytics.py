"""The demo world's two weeks of analytics: its orders, likes, comments, shares and follows, and
impressions, views and card clicks of its videos, through the capture's own sink and fold
(``analytics/backfill.py``) at times spread over the last 14 days, so dashboards have history."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics.backfill import backfill

DAYS = 14


async def seed_analytics(session: AsyncSession, rng: random.Random, console: Console) -> int:
    now = datetime.now(UTC)

    def when() -> datetime:
        return now - timedelta(seconds=rng.uniform(0, DAYS * 86400))

    count = await backfill(session, when, rng)
    console.print(f"[green]Analytics:[/] {count} events over the last {DAYS} days.")
    return count
