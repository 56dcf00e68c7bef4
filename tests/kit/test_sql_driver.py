"""The driver internals ``kit/sql/driver.py`` and ``kit/sql/inline.py`` rely on are still there.

``pyproject.toml`` bounds SQLAlchemy, aiosqlite and asyncpg to the versions tested; this test
says exactly what moved when a new version is tried, instead of plain statements failing
somewhere in a checkout:

- ``kit/sql/driver.py`` drives SQLAlchemy's asyncpg adapter by its private names;
- ``kit/sql/inline.py`` stands in for an aiosqlite connection under SQLAlchemy's aiosqlite
  dialect: every name the dialect (and SQLAlchemy's generic asyncio adapter) uses on the driver's
  connection and cursor must exist on ``InlineConnection`` / ``InlineCursor``.
"""

from __future__ import annotations

import inspect
import re
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import sqlalchemy
from sqlalchemy.connectors import asyncio as sa_asyncio
from sqlalchemy.dialects.postgresql import asyncpg as sa_asyncpg
from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.sql import driver, inline

T = TypeVar("T")
Run = Callable[[Callable[[AsyncSession], Awaitable[T]]], T]

UPGRADE_HINT = (f"(SQLAlchemy {sqlalchemy.__version__}, aiosqlite {aiosqlite.__version__}): adapt kit/sql/driver.py "
                "or kit/sql/inline.py to the new version, or keep the upper bound in pyproject.toml")

#: Used by SQLAlchemy only for server-side cursors, which the inline engine never opens.
SERVER_SIDE_ONLY = {"__aiter__"}


def _used(source_of: Any, pattern: str) -> set[str]:
    return set(re.findall(pattern, Path(inspect.getfile(source_of)).read_text()))


def test_the_asyncpg_adapter_still_has_the_private_names_driver_py_uses() -> None:
    adapter = sa_asyncpg.AsyncAdapt_asyncpg_connection
    missing = [name for name in ("_connection", "_transaction", "_execute_mutex") if not hasattr(adapter, name)]
    assert not missing, f"SQLAlchemy's asyncpg adapter lost {missing} {UPGRADE_HINT}"
    start = getattr(adapter, "_start_transaction", None)
    assert start is not None and inspect.iscoroutinefunction(start), \
        f"SQLAlchemy's asyncpg adapter has no coroutine _start_transaction() any more {UPGRADE_HINT}"
    assert list(inspect.signature(start).parameters) == ["self"], \
        f"AsyncAdapt_asyncpg_connection._start_transaction takes new arguments {UPGRADE_HINT}"


def test_the_aiosqlite_dialect_uses_only_what_the_inline_connection_offers() -> None:
    on_connection = (_used(sa_aiosqlite, r"self\._connection\.(\w+)")
                     | _used(sa_asyncio, r"self\._connection\.(\w+)")) - {"_handle_exception"}
    on_cursor = _used(sa_asyncio, r"self\._cursor\.(\w+)") - SERVER_SIDE_ONLY
    assert {"commit", "rollback", "close", "isolation_level", "_tx", "_conn"} <= on_connection  # the scan works
    connection = inline.InlineConnection(sqlite3.connect(":memory:"))
    try:
        cursor = connection.cursor()
        missing = sorted(name for name in on_connection if not hasattr(connection, name))
        assert not missing, f"SQLAlchemy's aiosqlite dialect now uses {missing} of the connection {UPGRADE_HINT}"
        missing = sorted(name for name in on_cursor if not hasattr(cursor, name))
        assert not missing, f"SQLAlchemy's asyncio adapter now uses {missing} of the cursor {UPGRADE_HINT}"
        assert hasattr(cursor, "__aenter__")
    finally:
        connection.stop()
    # isolation_level is set through aiosqlite's request queue: put_nowait((future, function)).
    assert "_tx.put_nowait((future, function))" in Path(inspect.getfile(sa_aiosqlite)).read_text(), \
        f"SQLAlchemy's aiosqlite dialect sets isolation_level another way {UPGRADE_HINT}"


def test_the_write_engine_runs_statements_on_the_driver_it_expects(db_run: Run[Any]) -> None:
    """On the test database: SQLite's write engine hands out the inline connection, PostgreSQL's
    the asyncpg adapter ``driver.asyncpg_adapter`` accepts."""

    async def check(db: AsyncSession) -> str:
        raw = await db.run_sync(driver.pooled_connection)
        if db.get_bind().dialect.name == "postgresql":
            assert driver.asyncpg_adapter(raw) is raw.dbapi_connection, \
                f"the asyncpg adapter is not usable for plain statements {UPGRADE_HINT}"
        else:
            assert isinstance(raw.driver_connection, inline.InlineConnection)
        return db.get_bind().dialect.name

    assert db_run(check) in ("sqlite", "postgresql")
