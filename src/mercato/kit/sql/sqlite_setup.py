"""The statements every SQLite connection runs when it opens and when a transaction begins.

``kit/db.py`` builds the engines and installs these as their event hooks; the statements live
here, behind the ``kit/sql`` wall, with the rest of the code that talks to the database directly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from mercato.kit.sql import inline
from mercato.kit.sql.committed import READS_MMAP_BYTES

#: A private page cache of 16 MiB instead of 2 MiB per pooled connection.
POOLED_CACHE_KIB = 16_384
#: How long a pooled (non-inline) connection waits inside sqlite3 for another writer's lock.
POOLED_BUSY_MS = 10_000


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """The ``connect`` hook: WAL, foreign keys, the busy wait and the caches of a new connection."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # An inline write connection never waits inside sqlite3 (on the event loop): it waits for
    # another process's write lock with asyncio sleeps (inline.InlineConnection.prepare).
    is_inline = isinstance(getattr(dbapi_conn, "driver_connection", None), inline.InlineConnection)
    cur.execute(f"PRAGMA busy_timeout={inline.BUSY_MS if is_inline else POOLED_BUSY_MS}")
    # A larger private page cache and reads through memory mapping: writes to big tables (the
    # feed's impressions) re-read fewer index pages from the OS.
    cur.execute(f"PRAGMA cache_size=-{POOLED_CACHE_KIB}")
    cur.execute(f"PRAGMA mmap_size={READS_MMAP_BYTES}")
    cur.close()


def begin_statement(*, immediate: bool) -> str:
    """``BEGIN IMMEDIATE`` takes the write lock up front, so concurrent writers queue instead of
    failing on a read-to-write lock upgrade; readers begin a plain deferred transaction."""
    return "BEGIN IMMEDIATE" if immediate else "BEGIN"


def install_sqlite_hooks(sync_engine: Engine, *, immediate: bool) -> None:
    """Run :func:`sqlite_pragmas` on every new connection and begin transactions ourselves."""
    begin_sql = begin_statement(immediate=immediate)
    event.listen(sync_engine, "connect", sqlite_pragmas)

    # pysqlite defers BEGIN on its own; take control of when and how transactions start.
    @event.listens_for(sync_engine, "connect")
    def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(sync_engine, "begin")
    def _begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if isinstance(driver, inline.InlineConnection):
            driver.begin(begin_sql)  # run before the transaction's first write
        else:
            conn.exec_driver_sql(begin_sql)
