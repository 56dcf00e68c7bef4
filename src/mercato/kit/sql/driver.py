"""The one module that touches driver internals: SQLAlchemy's asyncpg adapter (its execute
mutex, its transaction start, the asyncpg connection under it). Its private names are pinned by
the upper bounds on SQLAlchemy and asyncpg in ``pyproject.toml``; ``tests/kit/test_sql_driver.py``
fails, naming what moved, if an upgrade moves them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from mercato.kit.sql.params import asyncpg_value, numbered


def pooled_connection(session: Session) -> PoolProxiedConnection:
    return session.connection().connection


def asyncpg_adapter(raw: PoolProxiedConnection) -> Any:
    """SQLAlchemy's adapter around the asyncpg connection when statements can go to it directly
    (it has the private transaction API this module drives), else None."""
    if isinstance(raw.driver_connection, asyncpg.Connection) and hasattr(raw.dbapi_connection, "_start_transaction"):
        return raw.dbapi_connection
    return None


@dataclass
class AsyncpgResult:
    """What a plain statement in a transaction reads of a result: the rows, or the row count of a
    statement without."""

    rows: list[Any]
    rowcount: int

    def fetchall(self) -> list[Any]:
        return self.rows


async def asyncpg_fetch(adapter: Any, sql_numbered: str, args: Sequence[Any]) -> list[Any]:
    """The rows of one statement with numbered parameters (``$1…``) given in order, in the
    adapter's transaction (started here as :func:`asyncpg_run` does)."""
    async with adapter._execute_mutex:
        if adapter._transaction is None:
            await adapter._start_transaction()
        return list(await adapter._connection.fetch(sql_numbered, *[asyncpg_value(v) for v in args]))


async def asyncpg_run(adapter: Any, sql: str, values: Mapping[str, Any], *, rows: bool,
                       many: Sequence[Mapping[str, Any]] | None = None) -> AsyncpgResult:
    """One statement on the asyncpg connection under SQLAlchemy's adapter, in its transaction
    (started here when this is the transaction's first statement, as the adapter would): the
    named parameters numbered, dicts and lists as JSON text; prepared once per connection by
    asyncpg's statement cache."""
    sql_numbered, names = numbered(sql, frozenset(values))
    async with adapter._execute_mutex:
        if adapter._transaction is None:
            await adapter._start_transaction()
        connection = adapter._connection
        if many is not None:
            await connection.executemany(sql_numbered, [[asyncpg_value(row[name]) for name in names] for row in many])
            return AsyncpgResult([], len(many))
        args = [asyncpg_value(values[name]) for name in names]
        if rows:
            return AsyncpgResult(list(await connection.fetch(sql_numbered, *args)), -1)
        status = await connection.execute(sql_numbered, *args)  # "UPDATE 2", "INSERT 0 1", "DELETE 0"
        tail = status.rsplit(" ", 1)[-1]
        return AsyncpgResult([], int(tail) if tail.isdigit() else -1)
