"""The statements of ``kit/idempotency.py`` on the ``idempotency_keys`` table.

The claim and the answer are plain statements in the request's own transaction (no ORM flush on
the hot buying path); the rarer paths (a duplicate, a stale claim, an abandoned key) use the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.models import IdempotencyKey
from mercato.kit.sql.statements import insert_sql, update_sql
from mercato.kit.sql.transaction import InTransaction

_DONE_SQL = update_sql(IdempotencyKey, ("status", "response_status", "response_body"))
# Insert-if-absent: a duplicate key returns no row.
_CLAIM_SQL = insert_sql(IdempotencyKey, ("scope", "key", "request_hash", "status", "locked_at", "created_at"),
                        on_conflict=("scope", "key"), returning="id")
_ADVISORY_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(hashtext(:scope), hashtext(:key))"


async def try_advisory_lock(db: AsyncSession, scope: str, key: str) -> bool:
    """PostgreSQL only: a transaction-scoped advisory lock on (scope, key), seen by every process."""
    return bool(await InTransaction.of(db).scalar(_ADVISORY_LOCK_SQL, {"scope": scope, "key": key}))


async def claim(db: AsyncSession, scope: str, key: str, request_hash: str, now: datetime) -> int | None:
    """``INSERT … ON CONFLICT (scope, key) DO NOTHING RETURNING id``: the new row's id, or None
    for a duplicate key (which rolls nothing back: no savepoint)."""
    claimed = await InTransaction.of(db).scalar(_CLAIM_SQL, {
        "scope": scope, "key": key, "request_hash": request_hash, "status": "in_progress",
        "locked_at": now, "created_at": now})
    return None if claimed is None else int(claimed)


async def record_done(db: AsyncSession, row_id: int, status: int, body: Any) -> None:
    await InTransaction.of(db).execute(
        _DONE_SQL, {"status": "done", "response_status": status, "response_body": body, "id": row_id})


async def delete_in_progress(db: AsyncSession, row_id: int) -> None:
    await db.execute(delete(IdempotencyKey).where(
        IdempotencyKey.id == row_id, IdempotencyKey.status == "in_progress"))


async def exists(db: AsyncSession, scope: str, key: str) -> bool:
    found = await db.execute(select(IdempotencyKey.id).where(IdempotencyKey.scope == scope,
                                                             IdempotencyKey.key == key))
    return found.first() is not None


async def find(db: AsyncSession, scope: str, key: str) -> IdempotencyKey | None:
    return (await db.execute(
        select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    )).scalar_one_or_none()


async def take_over(db: AsyncSession, existing: IdempotencyKey, now: datetime) -> bool:
    """Re-lock a stale ``in_progress`` row, guarded by its old ``locked_at``: True for the one
    caller that wins it."""
    taken = await db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == existing.id, IdempotencyKey.locked_at == existing.locked_at,
               IdempotencyKey.status == "in_progress")
        .values(locked_at=now)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]
