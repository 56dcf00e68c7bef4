"""Database plumbing: declarative base, engines for SQLite and PostgreSQL, the unit of work.

One unit of work per request or job (docs/architecture.md): the request
dependency :func:`session_scope` commits when the handler succeeds and rolls back
when it raises; services only ``flush``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from mercato.kit.sql import inline, observer
from mercato.kit.sql.committed import CommittedReads
from mercato.kit.sql.sqlite_setup import install_sqlite_hooks

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


def make_engine(url: str, *, immediate: bool = False, write_lock: asyncio.Lock | None = None,
                **kwargs: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs.

    On SQLite, ``immediate=True`` makes every transaction begin with ``BEGIN IMMEDIATE`` (the
    write lock) so that concurrent writers queue instead of failing on a read-to-write lock
    upgrade: with the inline writer at its first write, after taking ``write_lock`` (see
    ``kit/sql/inline.py``); with aiosqlite (``MERCATO_SQLITE_INLINE_WRITES=0``) up front.
    """
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)
        path = sqlite_file(url)
        if immediate and path is not None and INLINE_WRITES:
            # The write engine drives sqlite3 inline on the event loop (kit/sql/inline.py).
            kwargs["async_creator"] = lambda: inline.connect(path, write_lock, timeout=SQLITE_BUSY_S)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_S}, **kwargs)
        install_sqlite_hooks(engine.sync_engine, immediate=immediate)
        observer.watch_engine(engine.sync_engine)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 40)
        kwargs.setdefault("pool_timeout", 120)
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    observer.watch_engine(engine.sync_engine)
    return engine


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


SQLITE_BUSY_S = 30
INLINE_WRITES = os.environ.get("MERCATO_SQLITE_INLINE_WRITES", "1") != "0"


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
        # (kit/sql/inline.py), the aiosqlite one for the whole unit of work.
        self.is_sqlite = url.startswith("sqlite")
        self.write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        extra: dict[str, Any] = {} if pool else {"poolclass": NullPool}
        self.engine = make_engine(url, **extra)
        self.write_engine = (make_engine(url, immediate=True, write_lock=self.write_lock, **extra)
                             if self.is_sqlite else self.engine)
        inline_writes = self.is_sqlite and sqlite_file(url) is not None and INLINE_WRITES
        self._lock_whole_unit = self.write_lock is not None and not inline_writes
        self._inline_writes = inline_writes
        self.reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.writer = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)
        self.committed_reads = CommittedReads(self)

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
                # they were served (the flash-sale figures: benchmarks/README.md).
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
        await self.committed_reads.aclose()
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
