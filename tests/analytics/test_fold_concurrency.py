"""Writers and folds at once, each on its own connections (as from several app processes), on
both databases: every event is folded exactly once — the rollups end equal to what was recorded,
whatever the interleaving — and a re-sent batch adds nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from mercato.analytics import repository, rollup
from mercato.analytics.models import AnalyticsRollup
from mercato.kit import events
from mercato.kit.db import Database
from mercato.kit.events import Event
from tests.conftest import run_async

WRITERS, BATCHES, PER_BATCH = 4, 15, 40


def _event(writer: int, batch: int, n: int, at: datetime) -> Event:
    return Event(event_id=f"w{writer}:{batch}:{n}", kind="like", occurred_at=at, source="foryou",
                 creator_id=1 + n % 3, video_id=1 + n % 5, value=n, quantity=1)


def test_concurrent_writers_and_folds_fold_every_event_once(sql_sink: None, clean_db: str) -> None:
    at = datetime.now(UTC) - timedelta(seconds=5)

    async def scenario() -> tuple[int, int, int, int]:
        dbs = [Database(clean_db, pool=False) for _ in range(WRITERS + 2)]
        writing = True

        async def writer(index: int) -> None:
            db = dbs[index]
            for batch in range(BATCHES):
                chunk = [_event(index, batch, n, at) for n in range(PER_BATCH)]
                async with db.unit_of_work() as session:
                    await events.record_many(session, chunk)
                if batch % 5 == 0:  # a client re-sends an earlier batch
                    async with db.unit_of_work() as session:
                        await events.record_many(session, chunk)
                await asyncio.sleep(0)

        async def folder(db: Database) -> int:
            folded = 0
            while writing:
                async with db.unit_of_work() as session:
                    folded += await rollup.fold(session, datetime.now(UTC), limit=70)
                await asyncio.sleep(0.005)
            return folded

        try:
            folders = [asyncio.create_task(folder(db)) for db in dbs[WRITERS:]]
            await asyncio.gather(*(writer(i) for i in range(WRITERS)))
            writing = False
            folded = sum(await asyncio.gather(*folders))
            async with dbs[0].unit_of_work() as session:
                folded += await rollup.fold(session, datetime.now(UTC))
            async with dbs[0].unit_of_work(write=False) as session:
                count, value = (await session.execute(
                    select(func.sum(AnalyticsRollup.count), func.sum(AnalyticsRollup.value_sum))
                    .where(AnalyticsRollup.grain == "minute"))).one()
                left = await repository.pending_count(session)
            return folded, int(count), int(value), left
        finally:
            for db in dbs:
                await db.dispose()

    folded, count, value, left = run_async(scenario())
    total = WRITERS * BATCHES * PER_BATCH
    assert folded == total
    assert count == total
    assert value == WRITERS * BATCHES * sum(range(PER_BATCH))
    assert left == 0
