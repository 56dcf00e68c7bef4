"""The statement observer: every SQL statement of the process, whichever path ran it.

Three paths reach the database: SQLAlchemy's engines (the ORM, ``text()``), plain statements
in a unit of work (:class:`~mercato.kit.sql.transaction.InTransaction`, straight on the
driver) and committed reads (:class:`~mercato.kit.sql.committed.CommittedReads`). All three
report here, so that

- a statement slower than ``MERCATO_SLOW_STATEMENT_MS`` is logged as a warning (logger
  ``mercato.sql``) with its SQL text — never its parameters, which may hold personal data.
  On SQLite the write path runs ``sqlite3`` inline on the event loop (``kit/sql/inline.py``),
  so a slow statement there stalls every request of the process: this log is how that shows
  in production;
- a :func:`recording` collects the statements and transactions begun while it is open (the
  statement-budget tests pin the counts of the buying loop and the feed with it).

The engines report through SQLAlchemy's ``before_cursor_execute``/``after_cursor_execute``
and ``begin`` events (:func:`watch_engine`); the two plain paths call :func:`observe` after
each statement. The work per statement is two clock reads and a comparison. The time an
inline SQLite statement spent waiting for the write lock (asyncio sleeps: other requests run
meanwhile) is not counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger("mercato.sql")

#: The default of ``MERCATO_SLOW_STATEMENT_MS``.
SLOW_STATEMENT_MS = 200.0
#: How much of a slow statement's SQL text the warning shows.
LOGGED_SQL_CHARS = 500

_STARTED = "mercato.sql.started"


@dataclass
class Recording:
    """Statements (SQL text, the path that ran it) and transactions begun while it was open."""

    statements: list[tuple[str, str]] = field(default_factory=list)
    transactions: int = 0

    @property
    def count(self) -> int:
        return len(self.statements)

    def listing(self) -> str:
        """One line per statement, for a failure message."""
        return "\n".join(f"  {i + 1:>3}. [{path}] {' '.join(sql.split())}"
                         for i, (sql, path) in enumerate(self.statements))


class _State:
    slow_s = SLOW_STATEMENT_MS / 1000.0
    recordings: tuple[Recording, ...] = ()
    lock = threading.Lock()
    slow_count = 0


def configure(*, slow_statement_ms: float) -> None:
    """Set the slow-statement threshold (the app does it from its settings at start)."""
    _State.slow_s = slow_statement_ms / 1000.0


def slow_statements() -> int:
    """How many slow statements this process has logged (``/readyz`` shows it)."""
    return _State.slow_count


def observe(sql: str, elapsed_s: float, path: str) -> None:
    """One statement ran for ``elapsed_s`` seconds on ``path`` (``engine``, ``plain``, ``committed``)."""
    if elapsed_s >= _State.slow_s:
        _State.slow_count += 1
        text = " ".join(sql.split())
        log.warning("slow SQL statement: %.1f ms on the %s path (threshold %.0f ms): %s",
                    elapsed_s * 1000.0, path, _State.slow_s * 1000.0,
                    text if len(text) <= LOGGED_SQL_CHARS else text[:LOGGED_SQL_CHARS] + " …")
    for recording in _State.recordings:
        recording.statements.append((sql, path))


def observe_transaction() -> None:
    for recording in _State.recordings:
        recording.transactions += 1


@contextmanager
def recording() -> Iterator[Recording]:
    """Collect every statement and transaction begun in this process (every thread) until exit."""
    found = Recording()
    with _State.lock:
        _State.recordings = (*_State.recordings, found)
    try:
        yield found
    finally:
        with _State.lock:
            _State.recordings = tuple(r for r in _State.recordings if r is not found)


def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    conn.info[_STARTED] = time.perf_counter()


def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    started = conn.info.pop(_STARTED, None)
    if started is not None:
        elapsed = time.perf_counter() - started
        if elapsed >= _State.slow_s:  # the inline writer's wait for the write lock is no stall: left out
            elapsed -= getattr(conn.connection.driver_connection, "lock_wait_s", 0.0)
        observe(statement, elapsed, "engine")


def _begin(conn: Any) -> None:
    observe_transaction()


def watch_engine(engine: Engine) -> None:
    """Report this engine's statements and transactions to the observer."""
    if not event.contains(engine, "before_cursor_execute", _before):
        event.listen(engine, "before_cursor_execute", _before)
        event.listen(engine, "after_cursor_execute", _after)
        event.listen(engine, "begin", _begin)
