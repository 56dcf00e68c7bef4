"""The committed-read path: read-only plain statements outside any unit of work."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import make_url, text

from mercato.kit.sql import observer
from mercato.kit.sql.params import expand_lists, numbered, sqlite_stamp

if TYPE_CHECKING:
    from mercato.kit.db import Database

READS_MMAP_BYTES = 1 << 30  # address space only; pages are shared with the OS cache
READS_CACHE_KIB = 65_536
READS_BUSY_S = 0.1
READS_PG_POOL = 4


class CommittedReads:
    """Read-only statements for the hottest GET paths (the For You feed, its session lookup),
    without the ORM: plain SQL text with ``:name`` parameters, rows as tuples.

    On SQLite the statement runs on this process's own read-only ``sqlite3`` connection, inline
    on the event loop: a short indexed read in WAL mode never waits for a writer and takes tens
    of microseconds, where a round trip through aiosqlite's worker thread and SQLAlchemy's
    result processing costs many times more. Each call is one statement, so one consistent snapshot;
    it sees committed data only — never use it where the request itself has written. On
    PostgreSQL it runs on a small asyncpg pool of its own (parameters numbered ``$1…``); on an
    in-memory SQLite through the async engine. Column values come
    back as each driver gives them: datetimes are text on SQLite (see :func:`as_datetime`).
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._path: str | None = None
        if database.is_sqlite:
            path = make_url(database.url).database
            if path and path != ":memory:" and not path.startswith("file:"):
                self._path = str(Path(path).expanduser().resolve())
        self._conn: sqlite3.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._pool_guard: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._lock = threading.Lock()  # the connection is used from the loop's thread; tests may run several

    @property
    def is_sqlite(self) -> bool:
        return self._database.is_sqlite

    @property
    def available(self) -> bool:
        """False for an in-memory SQLite database (no file another connection could open)."""
        return not self._database.is_sqlite or self._path is not None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            assert self._path is not None
            # A WAL reader is practically never busy; if it is (a recovery after a crash), fail within
            # 0.1 s rather than hold the event loop.
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=READS_BUSY_S)
            conn.execute("PRAGMA query_only=ON")
            # Reads through the OS page cache by memory mapping, and a larger private page cache:
            # a viewer's scattered rows are read faster (benchmarks/README.md).
            conn.execute(f"PRAGMA mmap_size={READS_MMAP_BYTES}")
            conn.execute(f"PRAGMA cache_size=-{READS_CACHE_KIB}")
            self._conn = conn
        return self._conn

    async def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]:
        sql, values = expand_lists(sql, params or {})
        if self._path is not None:
            for key, value in values.items():
                if isinstance(value, datetime):
                    values[key] = sqlite_stamp(value)
            with self._lock:
                started = time.perf_counter()
                found = self._connection().execute(sql, values).fetchall()
            observer.observe(sql, time.perf_counter() - started, "committed")
            return found
        if self._database.url.startswith("postgresql+asyncpg"):
            sql_numbered, names = numbered(sql, frozenset(values))
            pool = await self._pg_pool()
            async with pool.acquire() as conn:
                started = time.perf_counter()
                rows = list(await conn.fetch(sql_numbered, *(values[name] for name in names)))
            observer.observe(sql, time.perf_counter() - started, "committed")
            return rows
        async with self._database.engine.connect() as conn:  # the engine reports to the observer itself
            return list((await conn.execute(text(sql), values)).all())

    async def _pg_pool(self) -> asyncpg.Pool:
        """A small asyncpg pool of this event loop for plain reads on PostgreSQL: no SQLAlchemy
        pool checkout with its pre-ping round trip, statements prepared once per connection by
        asyncpg (a fraction of the CPU of a read through the engine)."""
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._pool_loop is loop:
            return self._pool
        if self._pool_guard is None or self._pool_guard[0] is not loop:
            self._pool_guard = (loop, asyncio.Lock())
        async with self._pool_guard[1]:  # concurrent first reads make one pool, not one each
            if self._pool is None or self._pool_loop is not loop:
                if self._pool is not None:  # made on another event loop (tests): unusable here
                    self._pool.terminate()
                dsn = make_url(self._database.url).set(drivername="postgresql").render_as_string(
                    hide_password=False)
                self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=READS_PG_POOL)
                self._pool_loop = loop
        assert self._pool is not None
        return self._pool

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def aclose(self) -> None:
        self.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            if self._pool_loop is asyncio.get_running_loop():
                await pool.close()
            else:
                pool.terminate()
