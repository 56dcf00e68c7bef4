"""``Idempotency-Key`` with Stripe's semantics (docs/architecture.md,
"Concurrency and money rules").

- same key + same request → the stored answer is replayed, nothing runs twice;
- same key + another request body → ``422 idempotency_key_reused``;
- the same key while the first request still runs → ``409 idempotency_in_progress``;
- a request that failed with an error leaves no key behind, so it can be retried;
- a key left ``in_progress`` by a crashed process is taken over after ``lock_seconds``.

The key row is claimed in the request's transaction, before the work (phase 1), and marked
done in that same transaction (phase 2): the claim, the work's effects and the stored answer
commit together or not at all (one transaction per request: a crash or an error leaves no key
behind, and a retry runs again — the providers' own keys keep it from charging twice).
While it runs, the claim is not visible to other transactions, so a duplicate is recognised
before it claims: by this process's registry of keys in flight, and on PostgreSQL by a
transaction-scoped advisory lock on (scope, key) that every process sees. Either answers
``409 idempotency_in_progress`` at once. (Between two SQLite *processes* a duplicate waits for
the first's write lock instead, then finds the key done and replays the answer.)

The statements on the key table are in ``kit/sql/idempotency_keys.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import on_end
from mercato.kit.errors import Conflict, KitError, ValidationFailed
from mercato.kit.sql import idempotency_keys

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255


def request_fingerprint(method: str, path: str, body: Any) -> str:
    return hashlib.sha256(orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)).hexdigest()


class FastJSONResponse(JSONResponse):
    """The same JSON as Starlette's ``JSONResponse`` (UTF-8, compact), encoded by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


@dataclass
class IdempotentCall:
    """The state of one idempotent request; ``replay`` is set when the answer is already known."""

    db: AsyncSession
    row_id: int | None
    replay: JSONResponse | None = None

    async def done(self, status: int, body: Any) -> JSONResponse:
        """Record the answer in the request's transaction and return it."""
        _end_flight(self.db)
        if self.row_id is not None:
            await idempotency_keys.record_done(self.db, self.row_id, status, body)
        return FastJSONResponse(body, status_code=status)

    async def abandon(self) -> None:
        """After a failure: roll the work back and drop the key so that a retry runs again."""
        await self.db.rollback()
        _end_flight(self.db)
        if self.row_id is not None:
            await idempotency_keys.delete_in_progress(self.db, self.row_id)
            await self.db.commit()


async def is_known(db: AsyncSession, scope: str, key: str) -> bool:
    """Whether a key exists in ``scope`` (done or still running), read without claiming it."""
    return await idempotency_keys.exists(db, scope, key.strip())


#: (engine, scope, key) of the requests of this process between their claim and its end.
_IN_FLIGHT: set[tuple[object, str, str]] = set()
_FLIGHT_INFO = "mercato.idempotency.flight"


def _start_flight(db: AsyncSession, scope: str, key: str) -> None:
    """Register a key in flight, or ``409 idempotency_in_progress`` when it already is."""
    flight = (db.get_bind().engine, scope, key)
    if flight in _IN_FLIGHT:
        raise _in_progress()
    _IN_FLIGHT.add(flight)
    db.info[_FLIGHT_INFO] = flight
    on_end(db, lambda: _end_flight(db))


def _end_flight(db: AsyncSession) -> None:
    flight = db.info.pop(_FLIGHT_INFO, None)
    if flight is not None:
        _IN_FLIGHT.discard(flight)


def _in_progress() -> Conflict:
    return Conflict("A request with this Idempotency-Key is still being processed.",
                    code=KitError.IDEMPOTENCY_IN_PROGRESS)


async def begin(db: AsyncSession, request: Request, scope: str, body: Any, *, lock_seconds: int = 60,
                required: bool = False) -> IdempotentCall:
    """Phase 1: claim the key in the request's transaction, or find the stored answer."""
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise ValidationFailed("This request needs an Idempotency-Key header.",
                                   code=KitError.IDEMPOTENCY_KEY_REQUIRED)
        return IdempotentCall(db=db, row_id=None)
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed("The Idempotency-Key must have 1–255 characters.", code=KitError.INVALID_IDEMPOTENCY_KEY)
    # scope["path"] is what request.url.path gives for these routes, without building a URL object.
    fingerprint = request_fingerprint(request.method, request.scope["path"], body)
    now = datetime.now(UTC)
    _start_flight(db, scope, key)
    if db.get_bind().dialect.name == "postgresql" and not await idempotency_keys.try_advisory_lock(db, scope, key):
        raise _in_progress()  # another process runs this key now
    # One plain statement: INSERT … ON CONFLICT (scope, key) DO NOTHING RETURNING id. A duplicate
    # key returns no row and rolls nothing back (no savepoint, no ORM flush on the hot path).
    claimed = await idempotency_keys.claim(db, scope, key, fingerprint, now)
    if claimed is not None:
        return IdempotentCall(db=db, row_id=claimed)
    existing = await idempotency_keys.find(db, scope, key)
    if existing is None:  # the other holder just abandoned it: try once more
        _end_flight(db)
        return await begin(db, request, scope, body, lock_seconds=lock_seconds, required=required)
    if existing.request_hash != fingerprint:
        raise ValidationFailed("This Idempotency-Key was used with a different request.",
                               code=KitError.IDEMPOTENCY_KEY_REUSED)
    if existing.status == "done":
        _end_flight(db)
        return IdempotentCall(db=db, row_id=None,
                              replay=JSONResponse(existing.response_body, status_code=existing.response_status or 200,
                                                  headers={"Idempotent-Replayed": "true"}))
    stale = existing.locked_at < now - timedelta(seconds=lock_seconds)
    if stale:
        taken = await idempotency_keys.take_over(db, existing, now)
        await db.commit()
        if taken:
            return IdempotentCall(db=db, row_id=existing.id)
    raise _in_progress()
