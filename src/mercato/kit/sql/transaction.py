"""Plain statements in the unit of work's own transaction (the hottest write paths), and the
helpers that turn their rows into ORM objects."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from mercato.kit.sql import inline, observer
from mercato.kit.sql.driver import asyncpg_adapter, asyncpg_fetch, asyncpg_run, pooled_connection
from mercato.kit.sql.params import expand_lists, positional, sqlite_stamp, sqlite_values, typed_text

M = TypeVar("M")


class InTransaction:
    """Plain SQL statements inside a session's own transaction, for the hottest write paths (the
    checkout and payment flow), without the ORM's per-statement cost (a compiled, cached
    ``UPDATE`` or a flush of one new row costs an order of magnitude more CPU; benchmarks/README.md).

    Statements are SQL text with ``:name`` parameters (``IN :ids`` takes a list, see
    :func:`expand_lists`), spelled so that both databases accept them (``INSERT … ON CONFLICT``
    and ``RETURNING`` exist on both). On SQLite with the inline write engine
    (``kit/sql/inline.py``) they go straight to the transaction's ``sqlite3`` connection; on
    PostgreSQL to the transaction's asyncpg connection under SQLAlchemy's adapter (parameters
    numbered ``$1…``, the transaction started as the adapter would); otherwise through
    ``AsyncSession.execute(text(…))``. Parameters are converted the way SQLAlchemy stores them
    (UTC datetimes as text on SQLite, JSON as text). Values come back as the driver gives them
    (text datetimes and JSON on SQLite). Errors are the driver's own (not SQLAlchemy-wrapped).

    Pending ORM changes (objects added, changed or deleted and not yet flushed) are flushed
    before a statement runs, so a statement always sees what the unit of work did before it,
    as an ORM query would (the sessions do not autoflush). The ORM does not see what the
    statements change: the caller updates objects it keeps (:meth:`sync`,
    ``set_committed_value``) when a statement changes their rows. INSERT and UPDATE text comes
    from :mod:`~mercato.kit.sql.statements` (column lists from the models). Get one with :meth:`of`.
    """

    __slots__ = ("_conn", "_session", "_transaction")

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._conn: Any = None
        self._transaction: object | None = None

    @classmethod
    def of(cls, session: AsyncSession) -> InTransaction:
        raw = session.info.get("mercato.raw")
        if raw is None:
            raw = session.info["mercato.raw"] = cls(session)
        assert isinstance(raw, InTransaction)
        return raw

    async def _driver(self) -> Any:
        """The transaction's driver connection when statements can go to it directly: the
        ``sqlite3`` connection of the inline engine, SQLAlchemy's asyncpg adapter on PostgreSQL;
        None to go through ``AsyncSession.execute``."""
        transaction = self._session.sync_session.get_transaction()
        if transaction is not None and transaction is self._transaction and transaction.is_active:
            return self._conn  # the same transaction as the last statement: the same connection
        # One hop into SQLAlchemy's greenlet for both (``AsyncSession.connection`` and then
        # ``AsyncConnection.get_raw_connection`` would take one each).
        raw = await self._session.run_sync(pooled_connection)  # begins the transaction if needed
        driver = raw.driver_connection
        self._conn = driver if isinstance(driver, inline.InlineConnection) else asyncpg_adapter(raw)
        self._transaction = self._session.sync_session.get_transaction()
        return self._conn

    async def _flush_pending(self) -> None:
        """Flush the session's pending objects, if it has any, so the statement sees them. The
        check reads three small collections (nothing to do on the usual path)."""
        session = self._session.sync_session
        if session.new or session.deleted or session.identity_map.check_modified():
            await self._session.flush()

    async def _run(self, sql: str, params: Mapping[str, Any] | None, *, rows: bool) -> Any:
        sql, values = expand_lists(sql, params or {})
        await self._flush_pending()
        conn = await self._driver()
        result: Any
        if isinstance(conn, inline.InlineConnection):
            started = time.perf_counter()
            result = await conn.run(sql, sqlite_values(values))
            started += conn.lock_wait_s
        elif conn is not None:
            started = time.perf_counter()
            result = await asyncpg_run(conn, sql, values, rows=rows)
        else:  # through the engine, which reports to the observer itself
            return await self._session.execute(typed_text(sql, values), values)
        observer.observe(sql, time.perf_counter() - started, "plain")
        return result

    @staticmethod
    def columns(model: type[Any], alias: str) -> str:
        """The select list of every column of ``model``'s table, prefixed with ``alias``, in the
        order :meth:`load_one` reads them."""
        return ", ".join(f'{alias}."{column.name}"' for column in model.__table__.columns)

    async def load_one(self, model: type[M], sql: str, params: Mapping[str, Any] | None = None) -> M | None:
        """The first row of :meth:`load_all`, or None."""
        loaded = await self.load_all(model, sql, params)
        return loaded[0] if loaded else None

    async def load_all(self, model: type[M], sql: str, params: Mapping[str, Any] | None = None, *,
                       attach: bool = True) -> list[M]:
        """Rows of ``model`` read by a plain statement that selects :meth:`columns`, as persistent
        objects of the session — as if the ORM had loaded them (every column set and converted
        by the column types, in the identity map, changes flushed as usual). A row the session
        holds already is returned as held (a plain statement that changed it must have said so
        with :meth:`sync`).

        ``attach=False`` is for reading only (building an answer): rows the session does not hold
        come back as detached :func:`snapshot` objects, not added to the session (cheaper
        a row); changes made to them are never saved."""
        rows = await self.all(sql, params)
        if not rows:
            return []
        dialect = self._session.get_bind().dialect
        processors, id_index = _processors(model, dialect)
        identity_map = self._session.sync_session.identity_map
        out: list[M] = []
        for row in rows:
            held = identity_map.get(identity_key(model, row[id_index]))
            if held is not None:
                assert isinstance(held, model)
                out.append(held)
                continue
            loaded = snapshot(model, {key: (process(value) if process is not None else value)
                                      for (key, process), value in zip(processors, row, strict=True)})
            if attach:
                make_transient_to_detached(loaded)
                self._session.add(loaded)
            out.append(loaded)
        return out

    def sync(self, model: type[Any], ident: int | tuple[int, ...], **values: Any) -> None:
        """Tell the session's loaded copy of a row (if any) what a plain statement just wrote to it
        (``ident``: its primary key; a tuple for a composite one)."""
        loaded = self._session.sync_session.identity_map.get(identity_key(model, ident))
        if loaded is not None:
            for key, value in values.items():
                set_committed_value(loaded, key, value)

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement; its row count."""
        result = await self._run(sql, params, rows=False)
        return int(result.rowcount)

    async def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]:
        result = await self._run(sql, params, rows=True)
        return list(result.fetchall())

    async def first(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        row = await self.first(sql, params)
        return None if row is None else row[0]

    async def all_positional(self, sql: str, values: Sequence[Any]) -> list[Sequence[Any]]:
        """The rows of one statement with positional ``?`` parameters, for statements with
        thousands of them (a multi-row ``INSERT … RETURNING``): ``sqlite3`` binds that many named
        parameters far more slowly than positional ones. Datetimes are converted as for
        :meth:`all`; the statement must have no ``?`` of its own."""
        await self._flush_pending()
        conn = await self._driver()
        dollars, named = positional(sql)
        if isinstance(conn, inline.InlineConnection):
            started = time.perf_counter()
            cursor = await conn.run(sql, [sqlite_stamp(v) if isinstance(v, datetime) else v for v in values])
            rows: list[Sequence[Any]] = list(cursor.fetchall())
            started += conn.lock_wait_s
        elif conn is not None:
            started = time.perf_counter()
            rows = await asyncpg_fetch(conn, dollars, values)
        else:  # through the engine, which reports to the observer itself
            params = {f"p{i}": value for i, value in enumerate(values)}
            return list((await self._session.execute(typed_text(named, params), params)).fetchall())
        observer.observe(sql, time.perf_counter() - started, "plain")
        return rows

    async def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for many parameter sets (no RETURNING)."""
        if not rows:
            return
        await self._flush_pending()
        conn = await self._driver()
        if isinstance(conn, inline.InlineConnection):
            started = time.perf_counter()
            await conn.run_many(sql, [sqlite_values(dict(row)) for row in rows])
            started += conn.lock_wait_s
        elif conn is not None:
            started = time.perf_counter()
            await asyncpg_run(conn, sql, rows[0], rows=False, many=rows)
        else:  # through the engine, which reports to the observer itself
            await self._session.execute(typed_text(sql, rows[0]), [dict(row) for row in rows])
            return
        observer.observe(sql, time.perf_counter() - started, "plain")


async def take_write_lock(session: AsyncSession) -> None:
    """Take the database's write lock now, before the transaction's reads, for a read-modify-write
    that other writers must not interleave with: on SQLite the inline writer otherwise takes it
    at the first write (``kit/sql/inline.py``); on PostgreSQL lock the rows instead
    (``SELECT … FOR UPDATE``, which SQLite ignores — call both)."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if isinstance(driver, inline.InlineConnection):
        await driver.prepare()


def snapshot(model: type[M], values: Mapping[str, Any]) -> M:
    """A ``model`` object holding ``values`` (attribute names), built without the declarative
    constructor's per-attribute events (several times cheaper): for detached
    snapshots of rows a plain statement just wrote or read, and for :meth:`InTransaction.load_all`. An
    attribute not given reads None, as on a new object. Never add a snapshot to a session as a
    new row (it carries no pending changes); :meth:`InTransaction.load_all` attaches its own properly."""
    mapper = sa_inspect(model)
    if not mapper.configured:
        configure_mappers()
    made = mapper.class_manager.new_instance()
    made.__dict__.update(values)
    assert isinstance(made, model)
    return made


_PROCESSORS: dict[tuple[type[Any], str], tuple[list[tuple[str, Any]], int]] = {}


def _processors(model: type[Any], dialect: Any) -> tuple[list[tuple[str, Any]], int]:
    """(attribute name, result processor) of each column of ``model`` — what the ORM applies to a
    raw value — and the position of ``id``."""
    found = _PROCESSORS.get((model, dialect.name))
    if found is None:
        mapper = sa_inspect(model)
        columns = list(model.__table__.columns)
        found = ([(mapper.get_property_by_column(column).key,
                   column.type.dialect_impl(dialect).result_processor(dialect, None)) for column in columns],
                 [column.name for column in columns].index("id"))
        _PROCESSORS[(model, dialect.name)] = found
    return found
