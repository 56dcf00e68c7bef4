"""kit/jobs.py with the app's real jobs, on the test database.

The test server does not run jobs in its background (tests/conftest.py says why); these tests run
every registered job themselves, once directly and then through the app's own ``JobRunner``."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import mercato.app  # noqa: F401  (its import registers every domain's jobs, as in the running app)
from mercato.config import Settings
from mercato.kit import jobs
from mercato.kit.db import Database
from tests.conftest import run_async

APP_JOBS = {"affiliate_sample_reminders", "analytics_fold", "analytics_prune", "analytics_rollup",
            "auto_approve_returns", "deliver_sandbox_webhooks", "expire_reservations", "fan_club_lapse",
            "gifts_release_commissions",
            "live_end_and_replay", "live_flash_deals", "push_store_orders", "reconcile_connections",
            "release_held_payouts", "settle_orders", "sweep_video_files", "train_feed_ranker"}


def test_every_job_the_app_registers_runs_on_the_migrated_schema(
    clean_db: str, settings: Settings, tmp_path: Path
) -> None:
    empty = settings.model_copy(update={"media_dir": tmp_path})  # the session's media folder has old files

    async def go() -> dict[str, int]:
        db = Database(clean_db, pool=False)
        try:
            return await jobs.run_all_once(db, empty)
        finally:
            await db.dispose()

    assert run_async(go()) == {name: 0 for name in APP_JOBS}  # nothing due in an empty database


def test_the_runner_runs_every_job_and_retries_a_failed_one_at_the_next_tick(
    clean_db: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    runs: Counter[str] = Counter()
    everyone_ran = asyncio.Event()

    def counted(job: jobs.Job) -> jobs.Job:
        async def run(session: AsyncSession, s: Settings) -> int:
            handled = await job.run(session, s)
            runs[job.name] += 1
            if all(runs[name] >= 1 for name in registry) and runs["flaky"] >= 2:
                everyone_ran.set()
            return handled

        return jobs.Job(job.name, job.interval_seconds, run)

    async def flaky(session: AsyncSession, s: Settings) -> int:
        runs["flaky"] += 1
        if runs["flaky"] == 1:
            raise RuntimeError("first tick fails")
        if all(runs[name] >= 1 for name in registry):
            everyone_ran.set()
        return 0

    registry = {name: counted(job) for name, job in jobs.REGISTRY.items()}
    registry["flaky"] = jobs.Job("flaky", 1, flaky)
    monkeypatch.setattr(jobs, "REGISTRY", registry)
    # Intervals shrunk ten-thousandfold (the longest, an hour, becomes 0.36 s): every job ticks soon.
    fast = settings.model_copy(update={"job_interval_scale": 0.0001, "media_dir": tmp_path})

    async def go() -> None:
        db = Database(clean_db, pool=False)
        runner = jobs.JobRunner(db, fast)
        runner.start()
        try:
            # The bound only keeps a broken runner from hanging the suite; nothing here is timed.
            await asyncio.wait_for(everyone_ran.wait(), 120)
        finally:
            await runner.stop()
            await db.dispose()
        assert runner.tasks == []

    with caplog.at_level(logging.ERROR, logger="mercato.jobs"):
        run_async(go())
    assert set(runs) == APP_JOBS | {"flaky"}
    assert runs["flaky"] >= 2
    # (Stopping cancels jobs mid-statement: the pool may log closing those connections; not the runner's.)
    assert [r.getMessage() for r in caplog.records if r.name == "mercato.jobs"] == [
        "job flaky failed; retrying at the next tick"]
