"""The rollups: queued events folded into minutes (the ``analytics_fold`` job), hours and days
from minutes (the ``analytics_rollup`` job); docs/analytics.md, "Rollups".

:func:`fold` moves the events the capturing transactions queued (``analytics/sink.py``) into
their minute rows, and a late one (older than :data:`~mercato.analytics.sink.LATE`) into its
hour and day rows too, at most :data:`FOLD_LIMIT` a run, every :data:`FOLD_SECONDS`.

:func:`roll_up` folds what is queued first. Each run recomputes — replaces, never adds to — the
hour rows of every closed hour from the last complete one (``rolled_until``) or the last
:data:`WINDOW` hours, whichever is earlier, from their minute rows, then the day rows of the days
those hours touch from their hour rows, and moves ``rolled_until`` to the end of the last hour
done. An event recorded later than :data:`~mercato.analytics.sink.LATE` adds to its hour and
day rows itself, so the hours the job no longer recomputes stay complete; an event inside the
window is in a minute row the job will still read (or queued, then folded before the job's next
run). Readers (``analytics/queries.py``) take hours and days before ``rolled_until``, minutes
after it and the events still queued, so a figure is as fresh as the capturing transaction
whatever the jobs' schedules.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository
from mercato.analytics.sink import LATE, bucket_of

#: How often the app folds the queue, and how many events a fold takes at most (a backlog goes
#: on at the next run; a fold of that many takes well under a second on either database).
FOLD_SECONDS = 0.5
FOLD_LIMIT = 50_000

#: Closed hours recomputed at every run, even when already rolled: the late events of
#: ``sink.LATE`` (2 h) and the transactions still open when the last run read the minutes.
WINDOW = timedelta(hours=3)
#: Hours at most per run (a catch-up after a long stop goes on at the next run).
MAX_HOURS = 48
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


async def fold(db: AsyncSession, now: datetime, limit: int = FOLD_LIMIT) -> int:
    """Fold up to ``limit`` queued events into their rollups; how many."""
    return await repository.fold_pending(db, late=bucket_of(now, "hour") - LATE, limit=limit)


async def roll_up(db: AsyncSession, now: datetime) -> int:
    """Fold the queue, then recompute the hours and days due; the number of hours recomputed."""
    while await fold(db, now) == FOLD_LIMIT:
        pass
    current = bucket_of(now, "hour")
    done = await repository.rolled_until(db)
    start = current - WINDOW if done is None or done > current - WINDOW else done
    if done is None:
        oldest = await repository.oldest_bucket(db, "minute")
        if oldest is None:
            return 0
        start = min(start, bucket_of(oldest, "hour"))
    hour, count, days = start, 0, set()
    while hour < current and count < MAX_HOURS:
        await repository.recompute(db, grain="hour", bucket=hour, source_grain="minute", end=hour + HOUR)
        days.add(bucket_of(hour, "day"))
        hour += HOUR
        count += 1
    for day in sorted(days):
        await repository.recompute(db, grain="day", bucket=day, source_grain="hour", end=day + DAY)
    if count:
        await repository.set_rolled_until(db, hour)
    return count
