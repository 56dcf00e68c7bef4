"""The SQLite write engine's inline ``sqlite3`` connection (kit/sql/inline.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mercato.kit.db import Database
from mercato.kit.sql import inline as sqlite_inline
from mercato.kit.sql.transaction import take_write_lock


def _database(tmp_path: Path) -> Database:
    return Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}", pool=False)


class LoopTurns:
    """Counts how often another task got the event loop while the block ran (a ticker task)."""

    def __init__(self, pause: float = 0.0) -> None:
        self.count = 0
        self._pause = pause
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while not self._stop.is_set():
            self.count += 1
            await asyncio.sleep(self._pause)

    async def __aenter__(self) -> LoopTurns:
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task


def test_the_write_engine_drives_sqlite3_inline_and_the_reader_keeps_aiosqlite(tmp_path: Path) -> None:
    async def go() -> tuple[type, type, str]:
        db = _database(tmp_path)
        try:
            async with db.unit_of_work() as session:
                raw = await (await session.connection()).get_raw_connection()
                writer = type(raw.driver_connection)
                mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            async with db.unit_of_work(write=False) as session:
                raw = await (await session.connection()).get_raw_connection()
                reader = type(raw.driver_connection)
            return writer, reader, mode
        finally:
            await db.dispose()

    writer, reader, mode = asyncio.run(go())
    assert writer is sqlite_inline.InlineConnection
    assert reader is not sqlite_inline.InlineConnection
    assert mode == "wal"  # the engine's connect hooks (pragmas, no implicit BEGIN) ran on it


def test_commit_rollback_and_a_failed_statement_behave_as_with_aiosqlite(tmp_path: Path) -> None:
    async def go() -> list[int]:
        db = _database(tmp_path)
        try:
            async with db.unit_of_work() as session:
                await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))
                await session.execute(text("INSERT INTO t (id, v) VALUES (1, 10)"))
            with pytest.raises(RuntimeError):
                async with db.unit_of_work() as session:
                    await session.execute(text("INSERT INTO t (id, v) VALUES (2, 20)"))
                    raise RuntimeError("the handler failed")
            with pytest.raises(IntegrityError):  # the driver's error, wrapped by SQLAlchemy as usual
                async with db.unit_of_work() as session:
                    await session.execute(text("INSERT INTO t (id, v) VALUES (3, 30)"))
                    await session.execute(text("INSERT INTO t (id, v) VALUES (1, 11)"))
            with pytest.raises(IntegrityError):  # the transaction's very first write fails
                async with db.unit_of_work() as session:
                    await session.execute(text("INSERT INTO t (id, v) VALUES (1, 12)"))
            assert db.write_lock is not None and not db.write_lock.locked()  # no failure leaks the lock
            async with db.unit_of_work() as session:  # the pooled connection is still usable
                await asyncio.wait_for(session.execute(text("INSERT INTO t (id, v) VALUES (4, 40)")), timeout=5)
            async with db.unit_of_work(write=False) as session:
                return list((await session.execute(text("SELECT id FROM t ORDER BY id"))).scalars())
        finally:
            await db.dispose()

    assert asyncio.run(go()) == [1, 4]  # 2 rolled back with the handler, 3 with the failed statement


def test_writers_of_one_process_take_turns_without_blocking_the_loop(tmp_path: Path) -> None:
    """Fifty concurrent write units of work interleaved with awaits inside their transactions:
    each takes the write lock before its read (``take_write_lock``, what ``SELECT … FOR UPDATE``
    is on PostgreSQL), the asyncio write lock serialises them, so no update is lost and no
    inline statement ever meets a lock held by another coroutine."""

    async def go() -> int:
        db = _database(tmp_path)
        try:
            async with db.unit_of_work() as session:
                await session.execute(text("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
                await session.execute(text("INSERT INTO c (id, n) VALUES (1, 0)"))

            async def bump() -> None:
                async with db.unit_of_work() as session:
                    await take_write_lock(session)
                    n = (await session.execute(text("SELECT n FROM c WHERE id = 1"))).scalar_one()
                    await asyncio.sleep(0.001)  # yield to the other writers mid-transaction
                    await session.execute(text("UPDATE c SET n = :n WHERE id = 1"), {"n": n + 1})

            await asyncio.wait_for(asyncio.gather(*(bump() for _ in range(50))), timeout=20)
            async with db.unit_of_work(write=False) as session:
                return int((await session.execute(text("SELECT n FROM c WHERE id = 1"))).scalar_one())
        finally:
            await db.dispose()

    assert asyncio.run(go()) == 50  # read-modify-write under the lock: no update lost


def test_a_transaction_takes_the_write_lock_at_its_first_write(tmp_path: Path) -> None:
    """CommittedReads before a transaction's first write take no lock (another unit of work writes and
    commits meanwhile, and the reader sees it: read committed); from the first write to the
    commit the transaction holds the lock (another writer waits for the commit)."""

    async def go() -> list[str]:
        db = _database(tmp_path)
        order: list[str] = []
        try:
            async with db.unit_of_work() as session:
                await session.execute(text("CREATE TABLE w (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
            read_done, wrote, first_wrote = asyncio.Event(), asyncio.Event(), asyncio.Event()

            async def first() -> None:
                async with db.unit_of_work() as session:
                    await session.execute(text("SELECT COUNT(*) FROM w"))
                    read_done.set()
                    await wrote.wait()  # the other unit of work writes and commits meanwhile
                    seen = (await session.execute(text("SELECT COUNT(*) FROM w"))).scalar_one()
                    order.append(f"first reads {seen}")
                    await session.execute(text("INSERT INTO w (who) VALUES ('first')"))
                    order.append("first wrote")
                    first_wrote.set()
                    await asyncio.sleep(0.05)  # holding the lock: the third waits
                    order.append("first commits")

            async def second() -> None:
                await read_done.wait()
                async with db.unit_of_work() as session:
                    await session.execute(text("INSERT INTO w (who) VALUES ('second')"))
                order.append("second committed")
                wrote.set()

            async def third() -> None:
                await first_wrote.wait()
                async with db.unit_of_work() as session:
                    await session.execute(text("INSERT INTO w (who) VALUES ('third')"))
                    order.append("third wrote")

            await asyncio.wait_for(asyncio.gather(first(), second(), third()), timeout=10)
            return order
        finally:
            await db.dispose()

    assert asyncio.run(go()) == ["second committed", "first reads 1", "first wrote", "first commits",
                                 "third wrote"]


def test_inline_connection_speaks_the_aiosqlite_api(tmp_path: Path) -> None:
    async def go() -> None:
        conn = await sqlite_inline.connect(str(tmp_path / "api.db"))
        assert isinstance(conn, sqlite_inline.InlineConnection)
        # How SQLAlchemy's dialect sets the isolation level through aiosqlite's request queue.
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        conn._tx.put_nowait((future, lambda: setattr(conn._live(), "isolation_level", None)))
        await future
        assert conn.isolation_level is None
        async with conn.cursor() as cursor:
            await cursor.execute("CREATE TABLE t (a)")
            await cursor.executemany("INSERT INTO t (a) VALUES (?)", [(1,), (2,), (3,)])
            assert cursor.rowcount == 3
            await cursor.execute("SELECT a FROM t ORDER BY a")
            assert await cursor.fetchone() == (1,)
            assert await cursor.fetchmany(1) == [(2,)]
            assert await cursor.fetchall() == [(3,)]
        await conn.close()
        with pytest.raises(ValueError, match="no active connection"):
            conn.cursor()

    asyncio.run(go())


def test_a_long_transaction_gives_the_event_loop_turns(tmp_path: Path) -> None:
    """An import-sized transaction must not freeze every other request for its whole length:
    every YIELD_EVERY statements a statement yields to the loop before returning."""

    async def go() -> tuple[int, int]:
        db = _database(tmp_path)
        try:
            async with LoopTurns() as turns, db.unit_of_work() as session:
                await session.execute(text("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
                before = turns.count
                for _ in range(3000):
                    await session.execute(text("INSERT INTO big (v) VALUES (:v)"), {"v": "x" * 100})
                during = turns.count - before
            async with db.unit_of_work(write=False) as session:
                rows = int((await session.execute(text("SELECT COUNT(*) FROM big"))).scalar_one())
            return during, rows
        finally:
            await db.dispose()

    during, rows = asyncio.run(go())
    assert rows == 3000
    assert during > 0  # other tasks ran while the transaction was open


def test_waiting_for_another_process_write_lock_does_not_hold_the_loop(tmp_path: Path) -> None:
    """Two Database objects on one file stand for two processes (each has its own asyncio write
    lock, so only the file lock is shared): while one holds a write transaction open, the other's
    BEGIN IMMEDIATE waits as asyncio sleeps — the first can finish and other tasks keep running;
    had it waited inside sqlite3 on the loop, the holder could never commit (≈ 10 s, then an error)."""

    async def go() -> tuple[list[str], int, int]:
        one, two = _database(tmp_path), _database(tmp_path)
        order: list[str] = []
        try:
            async with one.unit_of_work() as session:
                await session.execute(text("CREATE TABLE w (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
            holding = asyncio.Event()

            async def holder() -> None:
                async with one.unit_of_work() as session:
                    await session.execute(text("INSERT INTO w (who) VALUES ('one')"))
                    holding.set()
                    await asyncio.sleep(0.3)  # the file's write lock stays taken meanwhile
                    order.append("one commits")

            async def waiter() -> None:
                await holding.wait()
                async with two.unit_of_work() as session:
                    await session.execute(text("INSERT INTO w (who) VALUES ('two')"))  # BEGIN IMMEDIATE first
                    order.append("two wrote")

            async with LoopTurns(pause=0.001) as turns:
                await asyncio.wait_for(asyncio.gather(holder(), waiter()), timeout=8)
            async with two.unit_of_work(write=False) as session:
                rows = int((await session.execute(text("SELECT COUNT(*) FROM w"))).scalar_one())
            return order, turns.count, rows
        finally:
            await one.dispose()
            await two.dispose()

    order, ticks, rows = asyncio.run(go())
    assert order == ["one commits", "two wrote"]
    assert rows == 2
    # The order above already proves the loop was not held (the holder committed during the wait);
    # the loop also turned for other tasks meanwhile (few turns on a starved host, never none).
    assert ticks >= 2
