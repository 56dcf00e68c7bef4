"""Database plumbing: declarative base, engines for SQLite and PostgreSQL, the unit of work.

One unit of work per request or job (ENGINEERING.md rule 6): the request
dependency :func:`session_scope` commits when the handler succeeds and rolls back
when it raises; services only ``flush``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, bindparam, event, make_url, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    configure_mappers,
    make_transient_to_detached,
    mapped_column,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.pool import NullPool, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

from mercato.kit import sqlite_inline

M = TypeVar("M", bound="Base")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; INTEGER PRIMARY KEY (the rowid) on SQLite.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # An inline write connection never waits inside sqlite3 (on the event loop): it waits for
    # another process's write lock with asyncio sleeps (sqlite_inline.InlineConnection.prepare).
    inline = isinstance(getattr(dbapi_conn, "driver_connection", None), sqlite_inline.InlineConnection)
    cur.execute(f"PRAGMA busy_timeout={sqlite_inline.BUSY_MS if inline else 10000}")
    # A private page cache of 16 MiB instead of 2 MiB (per pooled connection) and reads through memory
    # mapping: writes to big tables (the feed's impressions) re-read fewer index pages from the OS.
    cur.execute(f"PRAGMA cache_size=-{POOLED_CACHE_KIB}")
    cur.execute(f"PRAGMA mmap_size={READS_MMAP_BYTES}")
    cur.close()


def make_engine(url: str, *, immediate: bool = False, write_lock: asyncio.Lock | None = None,
                **kwargs: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs.

    On SQLite, ``immediate=True`` makes every transaction begin with ``BEGIN IMMEDIATE`` (the
    write lock) so that concurrent writers queue instead of failing on a read-to-write lock
    upgrade: with the inline writer at its first write, after taking ``write_lock`` (see
    ``kit/sqlite_inline.py``); with aiosqlite (``MERCATO_SQLITE_INLINE_WRITES=0``) up front.
    """
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)
        path = sqlite_file(url)
        if immediate and path is not None and INLINE_WRITES:
            # The write engine drives sqlite3 inline on the event loop (kit/sqlite_inline.py).
            kwargs["async_creator"] = lambda: sqlite_inline.connect(path, write_lock, timeout=SQLITE_BUSY_S)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_S}, **kwargs)
        _install_sqlite_hooks(engine.sync_engine, "BEGIN IMMEDIATE" if immediate else "BEGIN")
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 40)
        kwargs.setdefault("pool_timeout", 120)
        kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def sqlite_file(url: str) -> str | None:
    """The absolute path of a SQLite database file; None for an in-memory or URI database."""
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        return str(Path(path).expanduser().resolve())
    return None


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file (a fresh checkout has no ``var/``)."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(sync_engine: Engine, begin_sql: str) -> None:
    event.listen(sync_engine, "connect", _sqlite_pragmas)

    # pysqlite defers BEGIN on its own; take control of when and how transactions start.
    @event.listens_for(sync_engine, "connect")
    def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(sync_engine, "begin")
    def _begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if isinstance(driver, sqlite_inline.InlineConnection):
            driver.begin(begin_sql)  # run before the transaction's first write
        else:
            conn.exec_driver_sql(begin_sql)


SQLITE_BUSY_S = 30
INLINE_WRITES = os.environ.get("MERCATO_SQLITE_INLINE_WRITES", "1") != "0"
READS_MMAP_BYTES = 1 << 30  # address space only; pages are shared with the OS cache
READS_CACHE_KIB = 65_536
READS_BUSY_S = 0.1
READS_PG_POOL = 4
POOLED_CACHE_KIB = 16_384
SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a datetime on SQLite (UTC, naive)
_PARAM_RE = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)\b")


_NAMED_RE = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)\b")


@functools.lru_cache(maxsize=1024)
def _numbered(sql: str, given: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """The ``:name`` parameters among ``given`` as asyncpg's ``$1, $2, …`` (a name used twice
    keeps its number), and the names in number order. Anything else that looks like one (a
    ``::type`` cast, ``':text'`` in a string literal) is left alone."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in given:
            return match.group(0)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED_RE.sub(number, sql), tuple(names)


def sqlite_stamp(value: datetime) -> str:
    """A datetime as SQLAlchemy stores it on SQLite (for plain SQL on the driver): the format
    ``SQLITE_STAMP``, written by ``isoformat`` (≈ 5× faster than ``strftime``) without its offset."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


_SEQUENCES = (list, tuple, set, frozenset)  # a tuple: ``isinstance`` with ``A | B`` builds the union each time


def expand_lists(sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``IN :ids`` with a list value → ``IN (:ids_0, :ids_1, …)`` (``(NULL)`` when empty), for both
    drivers; every other parameter is passed through."""
    for value in params.values():
        if isinstance(value, _SEQUENCES):
            break
    else:  # the usual case: nothing to expand
        return sql, dict(params)
    lists = {k: list(v) for k, v in params.items() if isinstance(v, _SEQUENCES)}
    out = {k: v for k, v in params.items() if k not in lists}

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in lists:
            return match.group(0)
        values = lists[name]
        for i, value in enumerate(values):
            out[f"{name}_{i}"] = value
        return "(" + ", ".join(f":{name}_{i}" for i in range(len(values))) + ")" if values else "(NULL)"

    return _PARAM_RE.sub(placeholder, sql), out


class Reads:
    """Read-only statements for the hottest GET paths (the For You feed, its session lookup),
    without the ORM: plain SQL text with ``:name`` parameters, rows as tuples.

    On SQLite the statement runs on this process's own read-only ``sqlite3`` connection, inline
    on the event loop: a short indexed read in WAL mode never waits for a writer and takes tens
    of microseconds, where a round trip through aiosqlite's worker thread and SQLAlchemy's
    result processing costs ~0.5 ms. Each call is one statement, so one consistent snapshot;
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
            # a viewer's scattered rows cost ≈ 0.3 ms instead of ≈ 0.5 ms (100,000-video benchmark).
            conn.execute(f"PRAGMA mmap_size={READS_MMAP_BYTES}")
            conn.execute(f"PRAGMA cache_size=-{READS_CACHE_KIB}")
            self._conn = conn
        return self._conn

    async def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]:
        sql, values = expand_lists(sql, params or {})
        if self._path is not None:
            for key, value in values.items():
                if isinstance(value, datetime):
                    values[key] = sqlite_stamp(value)
            with self._lock:
                return self._connection().execute(sql, values).fetchall()
        if self._database.url.startswith("postgresql+asyncpg"):
            numbered, names = _numbered(sql, frozenset(values))
            pool = await self._pg_pool()
            async with pool.acquire() as conn:
                return list(await conn.fetch(numbered, *(values[name] for name in names)))
        async with self._database.engine.connect() as conn:
            return list((await conn.execute(text(sql), values)).all())

    async def _pg_pool(self) -> asyncpg.Pool:
        """A small asyncpg pool of this event loop for plain reads on PostgreSQL: no SQLAlchemy
        pool checkout with its pre-ping round trip, statements prepared once per connection by
        asyncpg (≈ 0.2 ms of CPU a read against ≈ 1 ms through the engine)."""
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


def _pooled_connection(session: Session) -> PoolProxiedConnection:
    return session.connection().connection


class Raw:
    """Plain SQL statements inside a session's own transaction, for the hottest write paths (the
    checkout and payment flow), without the ORM's per-statement cost (≈ 0.2–0.4 ms of CPU for a
    compiled, cached ``UPDATE`` or a flush of one new row, against ≈ 20 µs here).

    Statements are SQL text with ``:name`` parameters (``IN :ids`` takes a list, see
    :func:`expand_lists`), spelled so that both databases accept them (``INSERT … ON CONFLICT``
    and ``RETURNING`` exist on both). On SQLite with the inline write engine
    (``kit/sqlite_inline.py``) they go straight to the transaction's ``sqlite3`` connection; on
    PostgreSQL to the transaction's asyncpg connection under SQLAlchemy's adapter (parameters
    numbered ``$1…``, the transaction started as the adapter would); otherwise through
    ``AsyncSession.execute(text(…))``. Parameters are converted the way SQLAlchemy stores them
    (UTC datetimes as text on SQLite, JSON as text). Values come back as the driver gives them
    (text datetimes and JSON on SQLite). Errors are the driver's own (not SQLAlchemy-wrapped).

    The ORM does not see these statements: the caller flushes its pending objects first when a
    statement depends on them, and updates objects it keeps (``set_committed_value``) when a
    statement changes their rows. Get one with :meth:`of`.
    """

    __slots__ = ("_conn", "_session", "_transaction")

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._conn: Any = None
        self._transaction: object | None = None

    @classmethod
    def of(cls, session: AsyncSession) -> Raw:
        raw = session.info.get("mercato.raw")
        if raw is None:
            raw = session.info["mercato.raw"] = cls(session)
        assert isinstance(raw, Raw)
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
        raw = await self._session.run_sync(_pooled_connection)  # begins the transaction if needed
        driver = raw.driver_connection
        if isinstance(driver, sqlite_inline.InlineConnection):
            self._conn = driver
        elif isinstance(driver, asyncpg.Connection) and hasattr(raw.dbapi_connection, "_start_transaction"):
            self._conn = raw.dbapi_connection
        else:
            self._conn = None
        self._transaction = self._session.sync_session.get_transaction()
        return self._conn

    async def _run(self, sql: str, params: Mapping[str, Any] | None, *, rows: bool) -> Any:
        sql, values = expand_lists(sql, params or {})
        conn = await self._driver()
        if isinstance(conn, sqlite_inline.InlineConnection):
            return await conn.run(sql, _sqlite_values(values))
        if conn is not None:
            return await _asyncpg_run(conn, sql, values, rows=rows)
        return await self._session.execute(_typed_text(sql, values), values)

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
        come back as detached :func:`snapshot` objects, not added to the session (≈ 40 % cheaper
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

    def sync(self, model: type[Any], ident: int, **values: Any) -> None:
        """Tell the session's loaded copy of a row (if any) what a plain statement just wrote to it."""
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

    async def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for many parameter sets (no RETURNING)."""
        if not rows:
            return
        conn = await self._driver()
        if isinstance(conn, sqlite_inline.InlineConnection):
            await conn.run_many(sql, [_sqlite_values(dict(row)) for row in rows])
            return
        if conn is not None:
            await _asyncpg_run(conn, sql, rows[0], rows=False, many=rows)
            return
        await self._session.execute(_typed_text(sql, rows[0]), [dict(row) for row in rows])


async def take_write_lock(session: AsyncSession) -> None:
    """Take the database's write lock now, before the transaction's reads, for a read-modify-write
    that other writers must not interleave with: on SQLite the inline writer otherwise takes it
    at the first write (``kit/sqlite_inline.py``); on PostgreSQL lock the rows instead
    (``SELECT … FOR UPDATE``, which SQLite ignores — call both)."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if isinstance(driver, sqlite_inline.InlineConnection):
        await driver.prepare()


_JSON_VALUES = (dict, list)


def _sqlite_values(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters as SQLAlchemy stores them on SQLite: UTC datetimes and JSON as text (in place)."""
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = sqlite_stamp(value)
        elif isinstance(value, _JSON_VALUES):
            values[key] = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return values


@dataclass
class _AsyncpgResult:
    """What :class:`Raw` reads of a result: the rows, or the row count of a statement without."""

    rows: list[Any]
    rowcount: int

    def fetchall(self) -> list[Any]:
        return self.rows


async def _asyncpg_run(adapter: Any, sql: str, values: Mapping[str, Any], *, rows: bool,
                       many: Sequence[Mapping[str, Any]] | None = None) -> _AsyncpgResult:
    """One statement on the asyncpg connection under SQLAlchemy's adapter, in its transaction
    (started here when this is the transaction's first statement, as the adapter would): the
    named parameters numbered, dicts and lists as JSON text; prepared once per connection by
    asyncpg's statement cache."""
    numbered, names = _numbered(sql, frozenset(values))
    async with adapter._execute_mutex:
        if adapter._transaction is None:
            await adapter._start_transaction()
        connection = adapter._connection
        if many is not None:
            await connection.executemany(numbered, [[_asyncpg_value(row[name]) for name in names] for row in many])
            return _AsyncpgResult([], len(many))
        args = [_asyncpg_value(values[name]) for name in names]
        if rows:
            return _AsyncpgResult(list(await connection.fetch(numbered, *args)), -1)
        status = await connection.execute(numbered, *args)  # "UPDATE 2", "INSERT 0 1", "DELETE 0"
        tail = status.rsplit(" ", 1)[-1]
        return _AsyncpgResult([], int(tail) if tail.isdigit() else -1)


def _asyncpg_value(value: Any) -> Any:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode() if isinstance(value, dict | list) else value


def _typed_text(sql: str, sample: Mapping[str, Any]) -> Any:
    """``text(sql)`` with JSON-typed parameters for the dict / list values of ``sample``."""
    statement = text(sql)
    typed = [bindparam(key, type_=JSON()) for key, value in sample.items() if isinstance(value, dict | list)]
    return statement.bindparams(*typed) if typed else statement


def snapshot(model: type[M], values: Mapping[str, Any]) -> M:
    """A ``model`` object holding ``values`` (attribute names), built without the declarative
    constructor's per-attribute events (≈ 2 µs against ≈ 17 µs for a user row): for detached
    snapshots of rows a plain statement just wrote or read, and for :meth:`Raw.load_all`. An
    attribute not given reads None, as on a new object. Never add a snapshot to a session as a
    new row (it carries no pending changes); :meth:`Raw.load_all` attaches its own properly."""
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


def as_datetime(value: Any) -> datetime | None:
    """A datetime column read through :class:`Reads` (text on SQLite) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """The engines and session factories of one database.

    Reads and writes get separate factories: on SQLite the writer begins
    ``IMMEDIATE``; on PostgreSQL both share one engine.
    """

    def __init__(self, url: str, *, pool: bool = True) -> None:
        self.url = url
        # SQLite has one writer at a time. Queueing this process's writers on an asyncio lock
        # (instead of letting them poll the file lock through busy_timeout, which sleeps and
        # backs off) keeps throughput and latency steady under contention; other processes
        # still meet the file lock. The inline writer takes it at a transaction's first write
        # (kit/sqlite_inline.py), the aiosqlite one for the whole unit of work.
        self.is_sqlite = url.startswith("sqlite")
        self.write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        extra: dict[str, Any] = {} if pool else {"poolclass": NullPool}
        self.engine = make_engine(url, **extra)
        self.write_engine = (make_engine(url, immediate=True, write_lock=self.write_lock, **extra)
                             if self.is_sqlite else self.engine)
        inline = self.is_sqlite and sqlite_file(url) is not None and INLINE_WRITES
        self._lock_whole_unit = self.write_lock is not None and not inline
        self._inline_writes = inline
        self.reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.writer = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)
        self.reads = Reads(self)

    @asynccontextmanager
    async def unit_of_work(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any exception."""
        factory = self.writer if write else self.reader
        async with contextlib.AsyncExitStack() as stack:
            if write and self._lock_whole_unit:
                assert self.write_lock is not None
                await stack.enter_async_context(self.write_lock)
            if write and self._inline_writes:
                # Closed in place. ``AsyncSession.__aexit__`` closes in a new task behind
                # ``asyncio.shield`` (so that a cancellation cannot interrupt the connection's way
                # back to the pool); the request then waits at the back of the event loop's queue
                # after its commit, and under load every request finishes only once all those
                # in flight have done their work. An inline connection's close never suspends, so
                # there is nothing for a cancellation to interrupt: requests finish in the order
                # they were served (flash sale p99 ≈ 93 instead of ≈ 97 ms; benchmarks/README.md).
                session = factory()
                stack.push_async_callback(session.close)
            else:
                session = await stack.enter_async_context(factory())
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                for callback in session.info.pop(_ON_END, ()):
                    callback()

    async def dispose(self) -> None:
        await self.reads.aclose()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


_ON_END = "mercato.on_end"


def on_end(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the session's unit of work ends (committed or rolled back)."""
    session.info.setdefault(_ON_END, []).append(callback)


def make_null_pool_engine(url: str) -> AsyncEngine:
    """Engine for short-lived work such as migrations (no pooled connections left behind)."""
    return make_engine(url, poolclass=NullPool)
