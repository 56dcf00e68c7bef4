"""An aiosqlite-compatible connection that runs each ``sqlite3`` call inline on the event loop.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives an aiosqlite connection: every call (execute,
fetch, commit) is handed to the connection's own thread and its answer comes back through a
future: CPU and two thread switches per call that cost more than the statements themselves
(benchmarks/README.md, "Figures moved out of the source"). This module gives the dialect
(through ``async_creator``) an object with the same coroutine API whose coroutines simply
call ``sqlite3`` and return: nothing is awaited, so the event loop is held for the duration
of the statement — microseconds for the indexed statements of the write paths.

A long transaction (an import, a big batch) must not hold the event loop for its whole
length: every ``YIELD_EVERY`` statements of a transaction a statement yields to the loop
(``asyncio.sleep(0)``) before returning, so other requests run between slices of a few
milliseconds — what aiosqlite's thread gave, at the cost of one yield per slice instead of two
thread switches per call. A request's few dozen statements never reach it. (A budget in time
was tried first: in a busy loop the "loop got control back" signal lags behind other tasks,
so short requests yielded too, mid-transaction, and throughput fell; benchmarks/README.md.)

It is used for the **write engine** only (``kit.db.Database``), where it is safe because a
transaction takes the write lock **at its first write** (:meth:`InlineConnection.prepare`):

- until then its statements are reads, run in autocommit mode (each sees the latest committed
  data — PostgreSQL's ``READ COMMITTED`` shape, which the code already meets on PostgreSQL);
- before the first write (any statement but a ``SELECT``) it takes the process's asyncio write
  lock (``write_lock``, one per ``Database``), then the file's lock with ``BEGIN IMMEDIATE``;
  from there on it is serializable, and no other writer of this process can run, so an inline
  statement never waits for a lock held by a coroutine of this same process (which could not
  run while the loop is held);
- another *process* holding the file lock is waited for with asyncio sleeps (the connection's
  ``busy_timeout`` is ``BUSY_MS``: sqlite3 itself never sleeps on the loop);
- commit or rollback ends the transaction and releases the asyncio lock.

So the locks are held from the first write to the commit — not through the reads, validation and
rendering before it — and several app processes on one SQLite file overlap everything but the
writes themselves. Readers never block a writer in WAL mode.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

#: A transaction yields to the event loop once every this many statements.
YIELD_EVERY = 200
#: The busy timeout of an inline connection: 0, sqlite3 never sleeps on the event loop; a wait
#: for another process's write lock is a series of asyncio sleeps (:meth:`InlineConnection.prepare`).
BUSY_MS = 0
#: How long the first write waits for the file's write lock in all, as ``busy_timeout`` does for aiosqlite.
BEGIN_WAIT_S = 10.0
#: The asyncio sleeps between attempts: from the first to the last, doubling.
BEGIN_PAUSES_S = (0.0002, 0.001)


def writes(sql: str) -> bool:
    """Whether a statement may write (anything but a ``SELECT``; a ``WITH`` counts as a write)."""
    return sql.lstrip()[:6].upper() != "SELECT"


class InlineCursor:
    """The coroutine API of ``aiosqlite.Cursor`` over a ``sqlite3.Cursor``."""

    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        owner = self._owner
        owner.lock_wait_s = 0.0
        if owner._pending is not None and writes(sql):
            await owner.prepare()
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        await owner.tick()
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        owner = self._owner
        owner.lock_wait_s = 0.0
        if owner._pending is not None and writes(sql):
            await owner.prepare()
        self._cursor.executemany(sql, parameters)
        await owner.tick()
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """What SQLAlchemy's dialect uses of aiosqlite's request queue (``_tx.put_nowait``) to set
    ``isolation_level`` on the driver connection: run the function now, resolve the future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(error)


class InlineConnection:
    """The coroutine API of ``aiosqlite.Connection`` over a ``sqlite3.Connection``."""

    def __init__(self, conn: sqlite3.Connection, write_lock: asyncio.Lock | None = None) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._tx = _ImmediateQueue()
        self._statements = 0
        self._write_lock = write_lock
        self._pending: str | None = None  # the BEGIN to run before the transaction's first write
        self._holds_lock = False
        #: How long the latest statement waited for the write locks (asyncio sleeps, not a stall
        #: of the event loop): the statement observer leaves it out of the statement's time.
        self.lock_wait_s = 0.0

    def begin(self, sql: str) -> None:
        """SQLAlchemy began a transaction (its ``begin`` event): remember the ``BEGIN`` to run
        before the first write; reads until then run in autocommit mode."""
        self._pending = sql

    async def prepare(self) -> None:
        """Before the transaction's first write: the process's asyncio write lock, then the
        file's (``BEGIN IMMEDIATE``), waiting for another process with asyncio sleeps so the
        loop serves other requests meanwhile — up to ``BEGIN_WAIT_S``, then "database is
        locked" as with aiosqlite."""
        sql = self._pending
        if sql is None:
            return
        waiting_since = time.perf_counter()
        if self._write_lock is not None and not self._holds_lock:
            await self._write_lock.acquire()
            self._holds_lock = True
        try:
            deadline = time.monotonic() + BEGIN_WAIT_S
            pause, longest = BEGIN_PAUSES_S
            while True:
                try:
                    self._live().execute(sql)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest)
        except BaseException:
            self._release()
            raise
        self._pending = None
        self.lock_wait_s = time.perf_counter() - waiting_since

    def _release(self) -> None:
        if self._holds_lock:
            self._holds_lock = False
            assert self._write_lock is not None
            self._write_lock.release()

    async def run(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> sqlite3.Cursor:
        """One statement straight on ``sqlite3`` (``kit.sql.transaction.InTransaction``), the write lock taken first
        when it is the transaction's first write."""
        self.lock_wait_s = 0.0
        if self._pending is not None and writes(sql):
            await self.prepare()
        cursor = self._live().execute(sql, parameters)
        await self.tick()
        return cursor

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        self.lock_wait_s = 0.0
        if self._pending is not None and writes(sql):
            await self.prepare()
        self._live().executemany(sql, rows)
        await self.tick()

    async def tick(self) -> None:
        """After each statement: every ``YIELD_EVERY``-th of a transaction gives the event loop a turn."""
        self._statements += 1
        if self._statements >= YIELD_EVERY:
            self._statements = 0
            await asyncio.sleep(0)

    @property
    def _connection(self) -> sqlite3.Connection | None:  # aiosqlite's name; None once closed
        return self._conn

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._self().__await__()

    async def _self(self) -> InlineConnection:
        return self

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._live().cursor(), self)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        try:
            self._live().commit()
        finally:
            self._end()

    async def rollback(self) -> None:
        try:
            self._live().rollback()
        finally:
            self._end()

    def _end(self) -> None:
        self._statements = 0  # counted per transaction: a short one never yields
        self._pending = None
        self._release()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._end()

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any],
                              deterministic: bool = False) -> None:
        self._live().create_function(name, num_params, func, deterministic=deterministic)

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._live().in_transaction


def connect(database: str, write_lock: asyncio.Lock | None = None, **kwargs: Any) -> InlineConnection:
    """``async_creator`` for SQLAlchemy (the engine's connect hooks then set the pragmas);
    ``write_lock`` is the process's (one per ``Database``), taken at each transaction's first write."""
    kwargs["check_same_thread"] = False
    return InlineConnection(sqlite3.connect(database, **kwargs), write_lock)
