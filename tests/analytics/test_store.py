"""The event store: insert-or-ignore by event id, the queue the fold moves into the rollups at
three grains, the read functions over rollups and queue, and the no-op without a sink."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import queries, repository, rollup
from mercato.analytics.models import AnalyticsEvent, AnalyticsPending, AnalyticsRollup
from mercato.analytics.tasks import prune_raw_events
from mercato.config import Settings
from mercato.kit import events
from mercato.kit.events import Event, age_band

T0 = datetime(2026, 11, 30, 10, 15, 30, tzinfo=UTC)


async def fold(db: AsyncSession) -> int:
    return await rollup.fold(db, datetime.now(UTC))


async def grains(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(select(AnalyticsRollup.grain, func.sum(AnalyticsRollup.value_sum))
                            .group_by(AnalyticsRollup.grain))
    return {str(g): int(v) for g, v in rows.all()}



def _order(n: int, at: datetime, *, shop: int = 7, creator: int | None = 3, value: int = 1000,
           source: str = "foryou", video: int | None = 11) -> Event:
    return Event(event_id=f"order_paid:{n}", kind="order_paid", occurred_at=at, source=source, shop_id=shop,
                 creator_id=creator, video_id=video, value=value, currency="USD", quantity=2)


def test_a_resent_event_counts_once_in_raw_and_rollups(sql_sink: None, db_run: Callable[..., Any]) -> None:
    async def first(db: AsyncSession) -> int:
        return await events.record_many(db, [_order(1, T0), _order(2, T0), _order(1, T0)])

    async def again(db: AsyncSession) -> int:
        return await events.record(db, _order(2, T0 + timedelta(seconds=5)))

    assert db_run(first) == 2
    assert db_run(again) == 0
    assert db_run(repository.pending_count) == 2
    assert db_run(fold) == 2
    assert db_run(fold) == 0  # folded once
    assert db_run(repository.pending_count) == 0

    async def read(db: AsyncSession) -> tuple[int, list[tuple[str, int, int, int]]]:
        raw = (await db.execute(select(func.count()).select_from(AnalyticsEvent))).scalar_one()
        rows = (await db.execute(select(AnalyticsRollup.grain, AnalyticsRollup.count, AnalyticsRollup.value_sum,
                                        AnalyticsRollup.quantity_sum).order_by(AnalyticsRollup.grain))).all()
        return raw, [tuple(r) for r in rows]

    raw, rollups = db_run(read)
    assert raw == 2
    assert rollups == [("day", 2, 2000, 4), ("hour", 2, 2000, 4), ("minute", 2, 2000, 4)]  # late: all three


def test_totals_series_and_breakdown_read_the_rollups(sql_sink: None, db_run: Callable[..., Any]) -> None:
    async def write(db: AsyncSession) -> None:
        await events.record_many(db, [
            _order(1, T0, value=1000),
            _order(2, T0 + timedelta(minutes=1), value=500, source="affiliate", video=12),
            _order(3, T0 + timedelta(hours=2), value=250, creator=4, video=None),
            _order(4, T0, shop=8, value=9999),  # another shop
            Event(event_id="impression:a", kind="impression", occurred_at=T0, shop_id=7, video_id=11,
                  creator_id=3, source="foryou"),
        ])

    db_run(write)
    day = datetime(2026, 11, 30, tzinfo=UTC)

    async def read(db: AsyncSession) -> Any:
        shop = queries.Scope.shop(7)
        kinds = ["order_paid", "impression"]
        totals = await queries.totals(db, shop, kinds, day, day + timedelta(days=1))
        minute = T0.replace(second=0)
        minute_totals = await queries.totals(db, shop, kinds, minute, minute + timedelta(minutes=1))
        by_hour = await queries.series(db, shop, kinds, day + timedelta(hours=9), day + timedelta(hours=13), "hour")
        by_source = await queries.breakdown(db, shop, kinds, day, day + timedelta(days=1), "source")
        by_video = await queries.breakdown(db, shop, ["order_paid"], day, day + timedelta(days=1), "video")
        creator = await queries.totals(db, queries.Scope.creator(4), kinds, day, day + timedelta(days=1))
        return totals, minute_totals, by_hour, by_source, by_video, creator

    totals, minute_totals, by_hour, by_source, by_video, creator = db_run(read)
    paid = totals["order_paid"]
    assert (paid.count, paid.value("USD"), paid.quantity) == (3, 1750, 6)
    assert totals["impression"].count == 1
    assert (minute_totals["order_paid"].count, minute_totals["order_paid"].value("USD")) == (1, 1000)
    assert [(p.at.hour, p.figures["order_paid"].count, p.figures["order_paid"].value("USD")) for p in by_hour] == [
        (9, 0, 0), (10, 2, 1500), (11, 0, 0), (12, 1, 250)]
    assert {k: (v["order_paid"].count, v["impression"].count) for k, v in by_source.items()} == {
        "foryou": (2, 1), "affiliate": (1, 0)}
    assert {k: v["order_paid"].value("USD") for k, v in by_video.items()} == {11: 1000, 12: 500}
    assert (creator["order_paid"].count, creator["order_paid"].value("USD")) == (1, 250)


def test_without_a_sink_recording_does_nothing(db_run: Callable[..., Any]) -> None:
    before = events.sink()
    events.uninstall_sink()
    try:
        async def write(db: AsyncSession) -> int:
            return await events.record(db, _order(1, T0))

        assert db_run(write) == 0

        async def count(db: AsyncSession) -> int:
            return int((await db.execute(select(func.count()).select_from(AnalyticsEvent))).scalar_one())

        assert db_run(count) == 0
    finally:
        if before is not None:
            events.install_sink(before)


def test_age_bands() -> None:
    on = date(2026, 12, 6)
    assert [age_band(date(y, 12, 7), on) for y in (2010, 2008, 2002, 1992, 1982, 1972, 1950)] == [
        "13-17", "13-17", "18-24", "25-34", "35-44", "45-54", "55+"]


def test_pruning_drops_old_raw_events_and_keeps_the_rollups(sql_sink: None, db_run: Callable[..., Any],
                                                             settings: Settings) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=settings.analytics_raw_retention_days + 1)

    async def write(db: AsyncSession) -> None:
        await events.record_many(db, [_order(1, old), _order(2, now - timedelta(days=1))])

    db_run(write)
    db_run(fold)

    async def state(db: AsyncSession) -> tuple[list[str], list[tuple[str, int]]]:
        raw = (await db.execute(select(AnalyticsEvent.event_id).order_by(AnalyticsEvent.event_id))).scalars()
        rolled = await db.execute(select(AnalyticsRollup.grain, func.sum(AnalyticsRollup.count))
                                  .group_by(AnalyticsRollup.grain).order_by(AnalyticsRollup.grain))
        return [str(r) for r in raw], [(str(g), int(n)) for g, n in rolled.all()]

    before = db_run(state)
    assert before == (["order_paid:1", "order_paid:2"], [("day", 2), ("hour", 2), ("minute", 2)])

    async def prune(db: AsyncSession) -> int:
        return await prune_raw_events(db, settings)

    assert db_run(prune) == 1
    assert db_run(state) == (["order_paid:2"], before[1])


def test_recent_events_fill_minutes_and_the_job_rolls_hours_and_days(sql_sink: None,
                                                                     db_run: Callable[..., Any]) -> None:
    now = datetime.now(UTC)
    recent = now - timedelta(minutes=1)

    async def write(db: AsyncSession) -> None:
        await events.record_many(db, [_order(1, recent, value=300), _order(2, recent, value=200)])

    db_run(write)
    assert db_run(grains) == {}  # queued
    assert db_run(fold) == 2
    assert db_run(grains) == {"minute": 500}  # hours and days are the job's
    day = datetime(recent.year, recent.month, recent.day, tzinfo=UTC)

    async def read(db: AsyncSession) -> tuple[int, int, list[int]]:
        shop = queries.Scope.shop(7)
        whole = await queries.totals(db, shop, ["order_paid"], day - timedelta(days=1), day + timedelta(days=1))
        hours = await queries.series(db, shop, ["order_paid"], day, day + timedelta(days=1), "hour")
        return (whole["order_paid"].count, whole["order_paid"].value("USD"),
                [p.figures["order_paid"].value("USD") for p in hours if p.figures["order_paid"].count])

    before = db_run(read)
    assert before == (2, 500, [500])

    async def roll(db: AsyncSession) -> int:
        return await rollup.roll_up(db, now + timedelta(hours=3))

    assert db_run(roll) >= 3
    assert db_run(grains) == {"minute": 500, "hour": 500, "day": 500}
    assert db_run(read) == before
    assert db_run(roll) >= 3  # recomputed, not added to
    assert db_run(grains) == {"minute": 500, "hour": 500, "day": 500}


def test_a_period_is_read_from_the_coarsest_complete_rows() -> None:
    cut = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    start, end = datetime(2026, 12, 3, 22, 30, tzinfo=UTC), datetime(2026, 12, 5, 16, 10, tzinfo=UTC)
    assert queries.plan(start, end, cut) == [
        ("minute", start, datetime(2026, 12, 3, 23, tzinfo=UTC)),
        ("hour", datetime(2026, 12, 3, 23, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC)),
        ("day", datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)),
        ("hour", datetime(2026, 12, 5, tzinfo=UTC), cut),
        ("minute", cut, end)]
    assert queries.plan(start, end, None) == [("minute", start, end)]
    assert queries.plan(start, end, cut, "hour")[1] == ("hour", datetime(2026, 12, 3, 23, tzinfo=UTC), cut)


def test_reads_add_the_queued_events_once_before_and_after_the_fold(sql_sink: None,
                                                                   db_run: Callable[..., Any]) -> None:
    now = datetime.now(UTC).replace(second=30)
    minute = now.replace(second=0, microsecond=0)

    async def write(db: AsyncSession) -> None:
        await events.record_many(db, [_order(1, now, value=400), _order(2, now, value=100, source="affiliate"),
                                      _order(3, now, value=50, shop=8)])

    async def read(db: AsyncSession) -> tuple[Any, ...]:
        shop = queries.Scope.shop(7)
        whole = await queries.totals(db, shop, ["order_paid"], minute - timedelta(hours=1), minute + timedelta(hours=1))
        # a minute that starts inside the period counts whole; one that started before it does not
        inside = await queries.totals(db, shop, ["order_paid"], minute, minute + timedelta(minutes=1))
        after = await queries.totals(db, shop, ["order_paid"], minute + timedelta(seconds=1),
                                     minute + timedelta(hours=1))
        points = await queries.series(db, shop, ["order_paid"], minute - timedelta(minutes=1),
                                      minute + timedelta(minutes=1), "minute")
        sources = await queries.breakdown(db, shop, ["order_paid"], minute, minute + timedelta(hours=1), "source")
        videos = await queries.breakdown(db, shop, ["order_paid"], minute, minute + timedelta(hours=1), "video")
        return (whole["order_paid"].value("USD"), whole["order_paid"].count, inside["order_paid"].count,
                after["order_paid"].count, [(p.at, p.figures["order_paid"].value("USD")) for p in points],
                {k: v["order_paid"].value("USD") for k, v in sources.items()},
                {k: v["order_paid"].count for k, v in videos.items()})

    db_run(write)
    queued = db_run(read)
    assert queued == (500, 2, 2, 0, [(minute - timedelta(minutes=1), 0), (minute, 500)],
                      {"foryou": 400, "affiliate": 100}, {11: 2})
    assert db_run(fold) == 3
    assert db_run(repository.pending_count) == 0
    assert db_run(read) == queued  # the same figures from the rollups alone


def test_a_rolled_back_recording_queues_nothing(sql_sink: None, db_run: Callable[..., Any]) -> None:
    class Abort(Exception):
        pass

    async def write_and_fail(db: AsyncSession) -> None:
        await events.record(db, _order(1, datetime.now(UTC)))
        raise Abort

    with pytest.raises(Abort):
        db_run(write_and_fail)

    async def counts(db: AsyncSession) -> tuple[int, int]:
        raw = (await db.execute(select(func.count()).select_from(AnalyticsEvent))).scalar_one()
        queued = (await db.execute(select(func.count()).select_from(AnalyticsPending))).scalar_one()
        return int(raw), int(queued)

    assert db_run(counts) == (0, 0)
    assert db_run(fold) == 0


def test_a_fold_takes_at_most_its_limit_oldest_first(sql_sink: None, db_run: Callable[..., Any]) -> None:
    now = datetime.now(UTC)

    async def write(db: AsyncSession) -> None:
        await events.record_many(db, [_order(n, now, value=n) for n in range(1, 6)])

    async def fold_two(db: AsyncSession) -> int:
        return await rollup.fold(db, datetime.now(UTC), limit=2)

    db_run(write)
    assert [db_run(fold_two) for _ in range(4)] == [2, 2, 1, 0]
    assert db_run(grains) == {"minute": 15}


def test_the_rollup_job_folds_the_queue_first(sql_sink: None, db_run: Callable[..., Any]) -> None:
    now = datetime.now(UTC)

    async def write(db: AsyncSession) -> None:
        await events.record(db, _order(1, now - timedelta(minutes=1), value=700))

    async def roll(db: AsyncSession) -> int:
        return await rollup.roll_up(db, now + timedelta(hours=3))

    db_run(write)
    db_run(roll)
    assert db_run(repository.pending_count) == 0
    assert db_run(grains) == {"minute": 700, "hour": 700, "day": 700}
