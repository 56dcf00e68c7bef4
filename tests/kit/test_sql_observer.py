"""The statement observer (kit/sql/observer.py) and the event-loop-lag monitor (kit/loop_lag.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from mercato.kit.db import Database
from mercato.kit.loop_lag import LoopLagMonitor
from mercato.kit.models import OutboxEvent
from mercato.kit.sql import observer
from mercato.kit.sql.transaction import InTransaction
from tests.conftest import run_async

SECRET = "secret-parameter-value"


@pytest.fixture
def every_statement_slow() -> Iterator[None]:
    observer.configure(slow_statement_ms=0.0)
    yield
    observer.configure(slow_statement_ms=observer.SLOW_STATEMENT_MS)


async def _one_of_each_path(url: str) -> None:
    db = Database(url, pool=False)
    try:
        async with db.unit_of_work() as session:
            await session.execute(select(OutboxEvent.id).where(OutboxEvent.topic == SECRET))
            await InTransaction.of(session).scalar("SELECT COUNT(*) FROM outbox_events WHERE topic = :t", {"t": SECRET})
            await InTransaction.of(session).executemany(
                "UPDATE outbox_events SET topic = :t WHERE aggregate = :a", [{"t": SECRET, "a": SECRET}] * 2)
        await db.committed_reads.rows("SELECT id FROM outbox_events WHERE topic = :t", {"t": SECRET})
    finally:
        await db.dispose()


def test_every_path_reports_a_slow_statement_with_its_sql_and_without_its_parameters(
        clean_db: str, every_statement_slow: None, caplog: pytest.LogCaptureFixture) -> None:
    before = observer.slow_statements()
    with caplog.at_level(logging.WARNING, logger="mercato.sql"), observer.recording() as seen:
        run_async(_one_of_each_path(clean_db))
    warnings = [r.getMessage() for r in caplog.records if r.name == "mercato.sql"]
    assert [path for _, path in seen.statements if "outbox_events" in _] == ["engine", "plain", "plain", "committed"]
    for path, sql in (("engine", "FROM outbox_events"), ("plain", "SELECT COUNT(*) FROM outbox_events"),
                      ("plain", "UPDATE outbox_events SET topic = :t"), ("committed", "SELECT id FROM outbox_events")):
        assert any(f"on the {path} path" in w and sql in w for w in warnings), (path, sql, warnings)
    assert all(SECRET not in w for w in warnings)
    assert all(w.startswith("slow SQL statement: ") and "(threshold 0 ms)" in w for w in warnings)
    assert observer.slow_statements() - before == len(warnings) == seen.count
    assert seen.transactions == 1  # the unit of work (a committed read is not one)


@pytest.fixture
def no_statement_slow() -> Iterator[None]:
    observer.configure(slow_statement_ms=600_000.0)
    yield
    observer.configure(slow_statement_ms=observer.SLOW_STATEMENT_MS)


def test_statements_under_the_threshold_are_counted_not_logged(
        clean_db: str, no_statement_slow: None, caplog: pytest.LogCaptureFixture) -> None:
    before = observer.slow_statements()
    with caplog.at_level(logging.WARNING, logger="mercato.sql"), observer.recording() as seen:
        run_async(_one_of_each_path(clean_db))
    assert [r for r in caplog.records if r.name == "mercato.sql"] == []
    assert observer.slow_statements() == before
    assert [path for sql, path in seen.statements if SECRET not in sql and "outbox_events" in sql] == \
        ["engine", "plain", "plain", "committed"]
    assert "UPDATE outbox_events SET topic = :t" in seen.listing()


def test_a_recording_sees_nothing_after_it_closed(clean_db: str) -> None:
    with observer.recording() as seen:
        pass
    run_async(_one_of_each_path(clean_db))
    assert (seen.count, seen.transactions) == (0, 0)


def test_a_held_loop_shows_as_lag_and_is_logged_above_the_threshold(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> LoopLagMonitor:
        monitor = LoopLagMonitor(warn_ms=1.0, interval=0.01)
        monitor.start()
        await asyncio.sleep(0)  # the monitor is now asleep
        time.sleep(0.05)  # noqa: ASYNC251 — holding the loop is the point
        while monitor.samples == 0:  # noqa: ASYNC110 — waiting for the monitor's own measurement
            await asyncio.sleep(0.001)
        await monitor.stop()
        return monitor

    with caplog.at_level(logging.WARNING, logger="mercato.loop"):
        monitor = asyncio.run(go())
    # The wake-up asked for 10 ms after it fell asleep came after the 50 ms hold at the earliest.
    assert monitor.latest_ms >= 40.0
    assert monitor.max_ms >= monitor.latest_ms
    assert monitor.warnings >= 1
    assert any(r.getMessage().startswith("event loop lag: ") and "(threshold 1 ms)" in r.getMessage()
               for r in caplog.records if r.name == "mercato.loop")


def test_lag_under_the_threshold_is_kept_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    monitor = LoopLagMonitor(warn_ms=250.0)
    with caplog.at_level(logging.WARNING, logger="mercato.loop"):
        monitor.record(12.0)
        monitor.record(3.0)
        monitor.record(-0.5)  # a timer firing early is no lag
    assert monitor.figures() == {"latest_ms": 0.0, "max_ms": 12.0, "samples": 3, "warnings": 0, "warn_ms": 250.0}
    assert [r for r in caplog.records if r.name == "mercato.loop"] == []
    monitor.record(251.0)
    assert (monitor.warnings, monitor.max_ms) == (1, 251.0)


def test_readyz_shows_the_loop_lag_and_the_slow_statements(api: httpx.Client) -> None:
    ready = api.get("/readyz").json()
    assert ready["status"] == "ok"
    assert set(ready["event_loop_lag"]) == {"latest_ms", "max_ms", "samples", "warnings", "warn_ms"}
    assert ready["event_loop_lag"]["warn_ms"] == 250.0
    assert ready["slow_sql_statements"] == observer.slow_statements()
