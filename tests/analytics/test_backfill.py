"""The demo's history: existing facts and a stream of impressions through the capture's sink at
times spread over two weeks; facts already captured, and a second run, add nothing."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import queries
from mercato.analytics.models import AnalyticsEvent
from mercato.demo_analytics import DAYS, seed_analytics
from tests.analytics.test_capture_api import _buy, world

__all__ = ["world"]


def test_the_demo_backfill_gives_two_weeks_of_history(api: httpx.Client, world: dict[str, Any],
                                                      db_run: Callable[..., Any]) -> None:
    one = world["buyers"][0]
    _buy(api, one, world["tote"]["variants"][0]["id"], 2)  # captured live: order_paid:{order}:{line}
    assert api.post(f"/api/v1/videos/{world['video']}/like", headers=one["headers"]).status_code == 200

    async def seed(db: AsyncSession) -> int:
        return await seed_analytics(db, random.Random(5), Console(quiet=True))

    first = db_run(seed)
    assert first > 0
    assert db_run(seed) == 0  # the same ids: nothing new

    async def read(db: AsyncSession) -> tuple[dict[str, int], int]:
        kinds = dict((str(k), int(n)) for k, n in (await db.execute(
            select(AnalyticsEvent.kind, func.count()).group_by(AnalyticsEvent.kind))).all())
        now = datetime.now(UTC)
        start = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=DAYS)
        days = await queries.series(db, queries.Scope.creator(world["creator"]["user"]["id"]), ["impression"],
                                    start, now, "day")
        return kinds, sum(1 for p in days if p.figures["impression"].count)

    kinds, days_with_impressions = db_run(read)
    # Captured facts are not doubled; the stream gives the video impressions on most days.
    assert kinds["order_paid"] == 1 and kinds["like"] == 1 and kinds["add_to_cart"] == 1
    assert kinds["impression"] >= 20 and days_with_impressions >= 7
