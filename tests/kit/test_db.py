from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, text

from mercato.kit.db import Database, UTCDateTime
from mercato.kit.sql.params import expand_lists


def test_sqlite_database_in_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    """A fresh checkout has no var/ folder: the first start must create it, not fail."""
    path = tmp_path / "var" / "nested" / "mercato.db"

    async def touch() -> int:
        db = Database(f"sqlite+aiosqlite:///{path}", pool=False)
        try:
            async with db.unit_of_work() as session:
                return int((await session.execute(text("SELECT 1"))).scalar_one())
        finally:
            await db.dispose()

    assert asyncio.run(touch()) == 1
    assert path.is_file()


def test_expand_lists_gives_each_list_item_a_parameter_of_its_own() -> None:
    sql, params = expand_lists("SELECT 1 FROM t WHERE id IN :ids AND kind = :kind AND x IN :none",
                               {"ids": [3, 1], "kind": "a", "none": []})
    assert sql == "SELECT 1 FROM t WHERE id IN (:ids_0, :ids_1) AND kind = :kind AND x IN (NULL)"
    assert params == {"ids_0": 3, "ids_1": 1, "kind": "a"}
    # A name that merely starts like a list parameter is left alone.
    assert expand_lists("a = :idsx OR b IN :ids", {"ids": (5,), "idsx": 1})[0] == "a = :idsx OR b IN (:ids_0)"


def test_fast_reads_see_committed_rows_and_compare_datetimes_like_the_orm(tmp_path: Path) -> None:
    """The SQLite fast path: its own read-only connection, datetime parameters in SQLAlchemy's
    stored text form, every commit of another connection visible to the next statement."""
    from datetime import UTC, datetime, timedelta

    from mercato.kit.sql.params import as_datetime

    async def go() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}", pool=False)
        try:
            async with db.unit_of_work() as session:
                await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME)"))
            now = datetime.now(UTC)
            for i in range(1, 4):
                async with db.unit_of_work() as session:
                    await session.execute(text("INSERT INTO t (id, at) VALUES (:i, :at)").bindparams(
                        bindparam("at", now - timedelta(hours=i), type_=UTCDateTime())), {"i": i})
                rows = await db.committed_reads.rows(
                    "SELECT id, at FROM t WHERE id IN :ids AND at >= :since ORDER BY id",
                    {"ids": [1, 2, 3], "since": now - timedelta(hours=2, minutes=1)})
                assert [r[0] for r in rows] == [1, 2][:i]
            assert as_datetime(rows[0][1]) == now - timedelta(hours=1)
            try:
                await db.committed_reads.rows("DELETE FROM t")
            except sqlite3.OperationalError as exc:
                assert "readonly" in str(exc)
            else:
                raise AssertionError("the fast read connection must be read-only")
        finally:
            await db.dispose()

    asyncio.run(go())


def test_named_parameters_become_asyncpg_numbers_for_fast_reads_on_postgresql() -> None:
    from mercato.kit.sql.params import numbered

    sql, names = numbered("SELECT a::text, :x, 'user:' || ':checkouts' FROM t WHERE b = :x "
                           "AND c IN (:ids_0, :ids_1) AND d = CAST(:y AS int)",
                           frozenset({"x", "y", "ids_0", "ids_1"}))
    assert sql == ("SELECT a::text, $1, 'user:' || ':checkouts' FROM t WHERE b = $1 "
                   "AND c IN ($2, $3) AND d = CAST($4 AS int)")
    # A name used twice keeps its number; casts and text in string literals are untouched.
    assert names == ("x", "ids_0", "ids_1", "y")


def test_concurrent_first_fast_reads_on_postgresql_share_one_small_pool(backend: tuple[str, str | None, Path],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of first reads (a flash sale opening) must make one pool, not one per request:
    each pool holds connections, and PostgreSQL refuses clients beyond max_connections."""
    import asyncpg

    from mercato.kit.sql.committed import READS_PG_POOL

    url = backend[0]
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL fast reads")
    made: list[object] = []
    create_pool = asyncpg.create_pool

    def counting_create_pool(*args: object, **kwargs: object) -> object:
        made.append(kwargs)
        return create_pool(*args, **kwargs)

    monkeypatch.setattr(asyncpg, "create_pool", counting_create_pool)

    async def burst() -> tuple[list[int], int]:
        db = Database(url, pool=False)
        try:
            results = await asyncio.gather(*(db.committed_reads.rows("SELECT :n + 1", {"n": n}) for n in range(50)))
            pool = db.committed_reads._pool
            assert pool is not None
            return [int(rows[0][0]) for rows in results], pool.get_size()
        finally:
            await db.dispose()

    values, size = asyncio.run(burst())
    assert values == [n + 1 for n in range(50)]
    assert len(made) == 1
    assert 1 <= size <= READS_PG_POOL


def test_a_write_unit_on_sqlite_ends_in_place_and_gives_its_connection_back(tmp_path: Path) -> None:
    """The inline writer's unit of work closes its session in the request's own task (no task
    behind ``asyncio.shield``): requests finish in the order they were served. Its connection is
    back in the pool, the write lock free, after a commit and after a rollback alike."""

    async def go() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'close.db'}")
        try:
            async with db.unit_of_work() as session:
                await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            loop = asyncio.get_running_loop()
            created: list[object] = []

            def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
                created.append(coro)
                return asyncio.Task(coro, loop=loop, **kwargs)

            loop.set_task_factory(factory)
            async with db.unit_of_work() as session:
                await session.execute(text("INSERT INTO t (id) VALUES (1)"))
            loop.set_task_factory(None)
            assert created == []  # no task of its own to close the session
            with pytest.raises(RuntimeError):
                async with db.unit_of_work() as session:
                    await session.execute(text("INSERT INTO t (id) VALUES (2)"))
                    raise RuntimeError("rolled back")
            assert db.write_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            assert db.write_lock is not None and not db.write_lock.locked()
            assert [r[0] for r in await db.committed_reads.rows("SELECT id FROM t", {})] == [1]
        finally:
            await db.dispose()

    asyncio.run(go())
