"""An aiosqlite-compatible connection that runs each ``sqlite3`` call inline on the event loop.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives an aiosqlite connection: every call (execute,
fetch, commit) is handed to the connection's own thread and its answer comes back through a
future, ≈ 0.1–0.2 ms of CPU and two thread switches per call, for statements that themselves
take microseconds. This module gives the dialect (through ``async_creator``) an object with the
same coroutine API whose coroutines simply call ``sqlite3`` and return: nothing is awaited, so
the event loop is held for the duration of the statement — microseconds for the indexed
statements of the write paths.

A long transaction (an import, a big batch) must not hold the event loop for its whole
length: every ``YIELD_EVERY`` statements of a transaction a statement yields to the loop
(``asyncio.sleep(0)``) before returning, so other requests run between slices of a few
milliseconds — what aiosqlite's thread gave, at the cost of one yield per slice instead of two
thread switches per call. A request's few dozen statements never reach it. (A budget in time
was tried first: in a busy loop the "loop got control back" signal lags behind other tasks,
so short requests yielded too, mid-transaction, and throughput fell by a fifth.)

It is used for the **write engine** only (``kit.db.Database``), where it is safe: every write
transaction of this process first takes the process's asyncio write lock, and starts with
``BEGIN IMMEDIATE``, so an inline statement never waits for a lock held by a coroutine of this
same process (which could not run while the loop is held). Another process holding the file
lock is waited for in ``BEGIN IMMEDIATE`` (:meth:`InlineConnection.begin`): ``BUSY_MS`` inside
``sqlite3``, then as asyncio sleeps; readers never block a writer in WAL mode.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

from sqlalchemy.util import await_

#: A transaction yields to the event loop once every this many statements.
YIELD_EVERY = 200
#: The busy timeout of an inline connection: a wait for another process's write lock longer
#: than this is retried with asyncio sleeps (see :meth:`InlineConnection.begin`).
BUSY_MS = 20
#: How long ``begin`` waits for the write lock in all, as ``busy_timeout`` does for aiosqlite.
BEGIN_WAIT_S = 10.0


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
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        await self._owner.tick()
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        await self._owner.tick()
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

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._tx = _ImmediateQueue()
        self._statements = 0

    def begin(self, sql: str) -> None:
        """Run ``BEGIN IMMEDIATE`` from SQLAlchemy's ``begin`` event (sync code on its greenlet).

        In WAL mode this is the one statement of a write transaction that waits for another
        *process* (this process's writers queue on its asyncio lock first). ``sqlite3`` waits
        on the loop for at most ``BUSY_MS``; beyond that the wait continues as asyncio sleeps
        (through SQLAlchemy's greenlet bridge), so the loop serves other requests meanwhile —
        up to ``BEGIN_WAIT_S``, then "database is locked" as before.
        """
        deadline = time.monotonic() + BEGIN_WAIT_S
        pause = 0.002
        while True:
            try:
                self._live().execute(sql)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            await_(asyncio.sleep(pause))
            pause = min(pause * 2, 0.05)

    async def tick(self) -> None:
        """After each statement (also those sent straight to the ``sqlite3`` connection by
        ``kit.db.Raw``): every ``YIELD_EVERY``-th gives the event loop a turn."""
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
        self._live().commit()
        self._statements = 0  # counted per transaction: a short one never yields

    async def rollback(self) -> None:
        self._live().rollback()
        self._statements = 0

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any],
                              deterministic: bool = False) -> None:
        self._live().create_function(name, num_params, func, deterministic=deterministic)

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._live().in_transaction


def connect(database: str, **kwargs: Any) -> InlineConnection:
    """``async_creator`` for SQLAlchemy (the engine's connect hooks then set the pragmas)."""
    kwargs["check_same_thread"] = False
    return InlineConnection(sqlite3.connect(database, **kwargs))
