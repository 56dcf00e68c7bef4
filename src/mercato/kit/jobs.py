"""Background jobs: periodic, idempotent, retry-safe functions (docs/architecture.md).

In the embedded setup the app runs them in-process (``JobRunner`` started by the app's
lifespan); ``mercato jobs run`` runs them from the command line (cron, tests). Each run is
its own unit of work; a failure is logged and retried at the next tick. Correctness never
depends on one runner: every job works by guarded updates, so two processes running the
same job at once do no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.db import Database

log = logging.getLogger("mercato.jobs")

JobFn = Callable[[AsyncSession, Settings], Awaitable[int]]


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: JobFn  # returns how many things it handled
    quiet: bool = False  # a job that runs every second or so logs what it handled at debug level


REGISTRY: dict[str, Job] = {}


def job(name: str, interval_seconds: float, *, quiet: bool = False) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        REGISTRY[name] = Job(name=name, interval_seconds=interval_seconds, run=fn, quiet=quiet)
        return fn

    return register


async def run_job(db: Database, settings: Settings, name: str) -> int:
    async with db.unit_of_work() as session:
        return await REGISTRY[name].run(session, settings)


async def run_all_once(db: Database, settings: Settings) -> dict[str, int]:
    return {name: await run_job(db, settings, name) for name in sorted(REGISTRY)}


class JobRunner:
    """Runs every registered job on its interval inside the app process."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for item in REGISTRY.values():
            self.tasks.append(asyncio.create_task(self._loop(item), name=f"job:{item.name}"))

    async def _loop(self, item: Job) -> None:
        interval = item.interval_seconds * self.settings.job_interval_scale
        while True:
            await asyncio.sleep(interval)
            try:
                handled = await run_job(self.db, self.settings, item.name)
                if handled:
                    log.log(logging.DEBUG if item.quiet else logging.INFO, "job %s handled %d", item.name, handled)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s failed; retrying at the next tick", item.name)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
