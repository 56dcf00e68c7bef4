"""Every query of the inventory domain: the guarded moves of a variant's stock counters and the
reservations that hold units for a checkout.

Each move is one guarded ``UPDATE … WHERE <enough units> RETURNING`` whose row (or its absence)
says whether it happened; :mod:`mercato.inventory.service` decides what to do with that answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Variant
from mercato.inventory.models import Reservation
from mercato.kit.db import utcnow
from mercato.kit.sql.statements import insert_sql
from mercato.kit.sql.transaction import InTransaction

#: Every change of a variant's counters: a guarded UPDATE (``:q`` units, ``:id``, ``:now``) that
#: returns the new counters, or no row when the guard refused it.
MOVES = {
    "reserve": "UPDATE variants SET reserved = reserved + :q, updated_at = :now "
               "WHERE id = :id AND stock - reserved - allocated >= :q RETURNING stock, reserved, allocated",
    "release": "UPDATE variants SET reserved = reserved - :q, updated_at = :now "
               "WHERE id = :id AND reserved >= :q RETURNING stock, reserved, allocated",
    "allocate": "UPDATE variants SET reserved = reserved - :q, allocated = allocated + :q, updated_at = :now "
                "WHERE id = :id AND reserved >= :q RETURNING stock, reserved, allocated",
    "deallocate": "UPDATE variants SET allocated = allocated - :q, updated_at = :now "
                  "WHERE id = :id AND allocated >= :q RETURNING stock, reserved, allocated",
    "ship": "UPDATE variants SET allocated = allocated - :q, stock = stock - :q, updated_at = :now "
            "WHERE id = :id AND allocated >= :q RETURNING stock, reserved, allocated",
    "restock": "UPDATE variants SET stock = stock + :q, updated_at = :now "
               "WHERE id = :id RETURNING stock, reserved, allocated",
}

HOLD_COLUMNS = ("variant_id", "checkout_id", "order_line_id", "quantity", "status", "expires_at", "created_at")
_HOLD_SQL = insert_sql(Reservation, HOLD_COLUMNS)
_MARK_SQL = "UPDATE reservations SET status = :to WHERE id = :id AND status = :from"
_MARK_LINES_SQL = (
    "UPDATE reservations SET status = :to WHERE checkout_id IN :checkouts AND status = :from "
    "AND order_line_id IN :lines"
)
_COUNTERS_SQL = "SELECT stock, reserved, allocated FROM variants WHERE id = :id"
#: The row is locked (PostgreSQL) / the write lock taken (SQLite) by a no-op update before the new
#: count is written, so the counts read and the count written belong to the same moment.
_LOCK_SQL = "UPDATE variants SET updated_at = :now WHERE id = :id RETURNING stock, reserved, allocated"
_SET_ON_HAND_SQL = (
    "UPDATE variants SET stock = CASE WHEN :q > reserved + allocated THEN :q ELSE reserved + allocated END, "
    "updated_at = :now WHERE id = :id RETURNING stock, reserved, allocated"
)


async def move(db: AsyncSession, name: str, variant_id: int, quantity: int) -> tuple[int, int, int] | None:
    """Run the guarded move ``name``: the new ``(stock, reserved, allocated)``, or ``None`` when
    the guard refused it (nothing changed). A loaded ``Variant`` is kept current."""
    raw = InTransaction.of(db)
    row = await raw.first(MOVES[name], {"q": quantity, "now": utcnow(), "id": variant_id})
    if row is None:
        return None
    raw.sync(Variant, variant_id, stock=row[0], reserved=row[1], allocated=row[2])
    return int(row[0]), int(row[1]), int(row[2])


async def set_on_hand(db: AsyncSession, variant_id: int, units: int) -> tuple[int, int] | None:
    """Set the units on hand to ``units``, never below what is reserved and allocated: ``(old
    stock, new stock)``, or ``None`` for an unknown variant."""
    raw = InTransaction.of(db)
    now = utcnow()
    before = await raw.first(_LOCK_SQL, {"now": now, "id": variant_id})
    if before is None:
        return None
    row = await raw.first(_SET_ON_HAND_SQL, {"q": max(0, units), "now": now, "id": variant_id})
    if row is None:  # pragma: no cover - the row was locked just above
        return None
    raw.sync(Variant, variant_id, stock=row[0], reserved=row[1], allocated=row[2])
    return int(before[0]), int(row[0])


async def counters(db: AsyncSession, variant_id: int) -> tuple[int, int, int] | None:
    """``(stock, reserved, allocated)`` of a variant as this transaction sees them."""
    row = await InTransaction.of(db).first(_COUNTERS_SQL, {"id": variant_id})
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


async def insert_holds(db: AsyncSession, holds: Sequence[Mapping[str, Any]]) -> None:
    await InTransaction.of(db).executemany(_HOLD_SQL, holds)


async def reservations_of_checkout(db: AsyncSession, checkout_id: int, status: str) -> list[Reservation]:
    stmt = select(Reservation).where(Reservation.checkout_id == checkout_id, Reservation.status == status)
    return list((await db.execute(stmt.order_by(Reservation.variant_id, Reservation.id))).scalars())


async def reservations_of_lines(db: AsyncSession, line_ids: Sequence[int], status: str) -> list[Reservation]:
    if not line_ids:
        return []
    stmt = select(Reservation).where(Reservation.order_line_id.in_(list(line_ids)), Reservation.status == status)
    return list((await db.execute(stmt.order_by(Reservation.id))).scalars())


async def mark(db: AsyncSession, reservation_id: int, from_status: str, to_status: str) -> bool:
    raw = InTransaction.of(db)
    done = await raw.execute(_MARK_SQL, {"to": to_status, "id": reservation_id, "from": from_status})
    if done:
        raw.sync(Reservation, reservation_id, status=to_status)
    return done == 1


async def mark_lines(db: AsyncSession, checkout_ids: Sequence[int], line_ids: Sequence[int], from_status: str,
                     to_status: str) -> int:
    """One statement: the reservations of ``line_ids`` (in ``checkout_ids``) still in
    ``from_status`` move to ``to_status``; how many did."""
    if not line_ids:
        return 0
    return await InTransaction.of(db).execute(_MARK_LINES_SQL, {"to": to_status, "from": from_status,
                                                                "checkouts": sorted(set(checkout_ids)),
                                                                "lines": sorted(set(line_ids))})


async def expired_checkouts(db: AsyncSession, now: datetime, limit: int) -> list[int]:
    stmt = (select(Reservation.checkout_id).where(Reservation.status == "active", Reservation.expires_at <= now)
            .distinct().limit(limit))
    return list((await db.execute(stmt)).scalars())
