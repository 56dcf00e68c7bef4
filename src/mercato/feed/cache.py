"""Per-process caches and the served-impressions batch writer of the For You request path
(docs/feed.md, "The request path"). Everything here is a cache or a buffer: the database, plus
the ids a page cursor carries, are the truth (caches are never the truth).

- :class:`CandidateCache`: each viewer's ranked candidate list (≈ 300 scored videos with their
  features), kept ``feed_candidates_ttl_seconds``; dropped when this process records engagement
  or a preference change of that viewer (at once and again after the commit).
- :class:`ServedWriter`: served pages are queued and written every ``feed_served_flush_seconds``
  in ONE transaction for every page queued meanwhile (``signals.mark_served_batch``); flushed on
  shutdown. Until it lands, the page cursor (and, in this process, :meth:`ServedWriter.pending`)
  keeps the next page from repeating it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mercato.config import Settings
from mercato.feed import ranker_repository as ranker_repo
from mercato.feed import repository as repo
from mercato.feed.signals import mark_served_batch

log = logging.getLogger("mercato.feed")

TOUCHED_KEY = "mercato.feed.touched_viewers"


# --- candidate lists ----------------------------------------------------------------------------


@dataclass
class CacheEntry:
    expires: float  # monotonic
    owner: object  # what identifies the viewer beyond the id (their account's creation time)
    value: Any
    built_at: float = field(default_factory=time.monotonic)


class CandidateCache:
    """viewer id → a ranked candidate list, for ``ttl`` seconds (≤ 0: no caching)."""

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self.entries: dict[int, CacheEntry] = {}
        self.touched: dict[int, float] = {}  # viewer id → monotonic time of the last invalidation
        self.hits = 0
        self.misses = 0

    def get(self, user_id: int, owner: object) -> Any | None:
        entry = self.entries.get(user_id)
        if entry is None or entry.owner != owner or entry.expires < time.monotonic() \
                or entry.built_at <= self.touched.get(user_id, -1.0):
            self.misses += 1
            return None
        self.hits += 1
        return entry.value

    def put(self, user_id: int, owner: object, value: Any, ttl: float, built_at: float) -> None:
        if ttl <= 0:
            return
        if len(self.entries) >= self.MAX_ENTRIES:
            now = time.monotonic()
            self.entries = {k: e for k, e in self.entries.items() if e.expires >= now}
            if len(self.entries) >= self.MAX_ENTRIES:
                self.entries.clear()
            self.touched = {k: t for k, t in self.touched.items() if now - t < 3600}
        # ``built_at`` is when the inputs were read: an invalidation after it wins.
        self.entries[user_id] = CacheEntry(expires=built_at + ttl, owner=owner, value=value, built_at=built_at)

    def invalidate(self, user_id: int) -> None:
        self.entries.pop(user_id, None)
        self.touched[user_id] = time.monotonic()


_CANDIDATES: dict[str, CandidateCache] = {}


def candidates_for(database_url: str) -> CandidateCache:
    found = _CANDIDATES.get(database_url)
    if found is None:
        found = _CANDIDATES[database_url] = CandidateCache()
    return found


def invalidate_viewer(user_id: int) -> None:
    """Drop this viewer's cached candidate list in this process (every database's cache)."""
    for found in _CANDIDATES.values():
        found.invalidate(user_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for user_id in session.info.pop(TOUCHED_KEY, ()):
        invalidate_viewer(user_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(TOUCHED_KEY, None)


# --- the served-impressions batch writer --------------------------------------------------------

Writer = Callable[[list[tuple[int | None, list[int], datetime]], list[dict[str, Any]]], Any]


class ServedWriter:
    """Queues served pages and writes them in one transaction per ``interval`` seconds.

    ``write(pages, logged)`` is an async callable that stores a batch (a unit of work of its own). A
    failed batch is logged and dropped: impressions are a signal, not a fact anyone pays for,
    and the page cursor still keeps the viewer's next page free of repeats."""

    MAX_QUEUED = 100_000  # pages; beyond this a flush is due at once

    def __init__(self, write: Writer, interval: float) -> None:
        self.write = write
        self.interval = interval
        self.queue: list[tuple[int | None, list[int], datetime]] = []
        self.in_flight: list[tuple[int | None, list[int], datetime]] = []
        self.logged: list[dict[str, Any]] = []  # the learned ranker's training rows (feed_impressions)
        # Per viewer, the ids in ``queue`` / ``in_flight`` (what :meth:`pending` answers, without a scan).
        self.queued_ids: dict[int, set[int]] = {}
        self.in_flight_ids: dict[int, set[int]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self.batches = 0
        self.pages_written = 0

    def add(self, user_id: int | None, video_ids: list[int], at: datetime,
            logged: list[dict[str, Any]] | None = None) -> None:
        self.queue.append((user_id, list(video_ids), at))
        if logged:
            self.logged.extend(logged)
        if user_id is not None:
            self.queued_ids.setdefault(user_id, set()).update(video_ids)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        if len(self.queue) >= self.MAX_QUEUED:
            self._wake.set()

    def pending(self, user_id: int) -> set[int]:
        """Ids served to this viewer by this process and not yet written."""
        return self.in_flight_ids.get(user_id, set()) | self.queued_ids.get(user_id, set())

    async def _run(self) -> None:
        while self.queue and not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        if not self.queue:
            return
        self.in_flight, self.queue = self.queue, []
        self.in_flight_ids, self.queued_ids = self.queued_ids, {}
        logged, self.logged = self.logged, []
        try:
            await self.write(self.in_flight, logged)
            self.batches += 1
            self.pages_written += len(self.in_flight)
        except Exception:  # a lost batch of impressions: logged, the cursor still prevents repeats
            log.exception("writing %d served feed pages failed", len(self.in_flight))
        finally:
            self.in_flight = []
            self.in_flight_ids = {}

    async def drain(self) -> None:
        """Write everything queued now and wait for it, a batch already on its way included."""
        self._wake.set()
        if self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await self._task
        self._wake.clear()
        while self.queue:
            await self.flush()

    def discard(self) -> None:
        """Drop the queued pages unwritten (their database was emptied or replaced meanwhile)."""
        self.queue = []
        self.queued_ids = {}
        self.logged = []

    async def close(self) -> None:
        """Write what is queued (the app's shutdown)."""
        self._closed = True
        self._wake.set()
        if self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await self._task
        while self.queue:
            await self.flush()


_WRITERS: dict[tuple[str, int], ServedWriter] = {}


def served_writer(database: Any, settings: Settings) -> ServedWriter:
    """The process's writer for this database (``database``: a ``kit.db.Database``)."""
    key = (database.url, id(database))
    found = _WRITERS.get(key)
    if found is None:
        found = _WRITERS[key] = ServedWriter(_Store(database, settings).write, settings.feed_served_flush_seconds)
    return found


class _Store:
    def __init__(self, database: Any, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    async def write(self, pages: list[tuple[int | None, list[int], datetime]], logged: list[dict[str, Any]]) -> None:
        try:
            async with self.database.unit_of_work() as db:
                await mark_served_batch(db, pages, self.settings)
                await ranker_repo.log_impressions(db, logged)
            return
        except IntegrityError:  # a video or an account deleted since it was served: write the rest
            pass
        async with self.database.unit_of_work() as db:
            videos = {v for _, ids, _ in pages for v in ids}
            users = {u for u, _, _ in pages if u is not None}
            alive = await repo.present_video_ids(db, videos)
            people = await repo.present_user_ids(db, users)
            kept = [(u, [v for v in ids if v in alive], at) for u, ids, at in pages if u is None or u in people]
            await mark_served_batch(db, [p for p in kept if p[1]], self.settings)
            await ranker_repo.log_impressions(
                db, [r for r in logged if r["video_id"] in alive and r["user_id"] in people])


async def drain_writers(database_url: str) -> None:
    """Write the served pages this process still holds for this database, and wait for them."""
    for (url, _), writer in list(_WRITERS.items()):
        if url == database_url:
            await writer.drain()


def forget(database_url: str) -> None:
    """Drop this process's candidate lists and queued served pages of this database: it was
    emptied or replaced behind the process's back, so its ids may now name other rows."""
    _CANDIDATES.pop(database_url, None)
    for (url, _), writer in _WRITERS.items():
        if url == database_url:
            writer.discard()


async def close_writers() -> None:
    """Flush every served-pages writer of this process (called from the app's lifespan)."""
    for writer in list(_WRITERS.values()):
        await writer.close()
    _WRITERS.clear()


__all__ = [
    "TOUCHED_KEY", "CandidateCache", "ServedWriter", "candidates_for", "close_writers", "drain_writers", "forget",
    "invalidate_viewer", "served_writer",
]
