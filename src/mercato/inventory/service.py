"""The only code that changes stock counters (ENGINEERING.md rule 2, rule 3).

Every change is one guarded ``UPDATE … WHERE <enough units>`` whose row count says whether
it happened: never read-then-write, so concurrent buyers can never oversell on SQLite or
PostgreSQL (the ``never_oversold`` CHECK constraint is the last line of defence).
``Product.total_stock`` (the Shop Tab's "in stock") follows every change of availability.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Product, Variant
from mercato.inventory.models import Reservation
from mercato.kit.db import utcnow
from mercato.kit.sql.transaction import InTransaction

#: Every change of a variant's counters: a guarded UPDATE (``:q`` units, ``:id``, ``:now``) that
#: returns the new counters.
_MOVES = {
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


async def _move(db: AsyncSession, move: str, variant_id: int, quantity: int) -> bool:
    """One guarded ``UPDATE variants`` (plain SQL, ``kit.sql InTransaction``); keeps a loaded ``Variant``
    current. ``False`` when the guard refused it (nothing changed)."""
    raw = InTransaction.of(db)
    row = await raw.first(_MOVES[move], {"q": quantity, "now": utcnow(), "id": variant_id})
    if row is None:
        return False
    raw.sync(Variant, variant_id, stock=row[0], reserved=row[1], allocated=row[2])
    return True


async def _product_available(db: AsyncSession, variant_id: int, delta: int) -> None:
    row = await InTransaction.of(db).first(
        "UPDATE products SET total_stock = total_stock + :delta, updated_at = :now "
        "WHERE id = (SELECT product_id FROM variants WHERE id = :variant) RETURNING id, total_stock",
        {"delta": delta, "now": utcnow(), "variant": variant_id})
    if row is not None:
        InTransaction.of(db).sync(Product, row[0], total_stock=row[1])


async def reserve(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """Hold ``quantity`` units if that many are available; ``False`` if not (nothing changed)."""
    if not await _move(db, "reserve", variant_id, quantity):
        return False
    await _product_available(db, variant_id, -quantity)
    return True


async def release(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """Give reserved units back (checkout expired or cancelled)."""
    if await _move(db, "release", variant_id, quantity):
        await _product_available(db, variant_id, quantity)


async def allocate(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """A paid order: reserved units become allocated."""
    return await _move(db, "allocate", variant_id, quantity)


async def deallocate(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """A paid order cancelled before shipping: its units are available again."""
    if await _move(db, "deallocate", variant_id, quantity):
        await _product_available(db, variant_id, quantity)


async def ship(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """Units leave the warehouse: allocated and on-hand both go down."""
    await _move(db, "ship", variant_id, quantity)


async def restock(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """Returned units back on hand."""
    await _move(db, "restock", variant_id, quantity)
    await _product_available(db, variant_id, quantity)


async def hold_for_checkout(db: AsyncSession, holds: list[dict[str, Any]]) -> None:
    """Record a checkout's reservations (one plain statement): each hold gives ``variant``,
    ``checkout``, ``line`` (the order line), ``q`` units, ``expires`` and ``now``. The counters
    themselves move in :func:`reserve`."""
    await InTransaction.of(db).executemany(
        "INSERT INTO reservations (variant_id, checkout_id, order_line_id, quantity, status, expires_at, created_at) "
        "VALUES (:variant, :checkout, :line, :q, 'active', :expires, :now)", holds)


async def reservations_of_checkout(db: AsyncSession, checkout_id: int, status: str = "active") -> list[Reservation]:
    stmt = select(Reservation).where(Reservation.checkout_id == checkout_id, Reservation.status == status)
    return list((await db.execute(stmt.order_by(Reservation.variant_id, Reservation.id))).scalars())


async def mark(db: AsyncSession, reservation_id: int, from_status: str, to_status: str) -> bool:
    """Guarded status change of a reservation (so two sweepers never release twice)."""
    done = await InTransaction.of(db).execute("UPDATE reservations SET status = :to WHERE id = :id AND status = :from",
                                    {"to": to_status, "id": reservation_id, "from": from_status})
    if done:
        InTransaction.of(db).sync(Reservation, reservation_id, status=to_status)
    return done == 1


async def expired_checkouts(db: AsyncSession, now: datetime, limit: int = 200) -> list[int]:
    stmt = (select(Reservation.checkout_id).where(Reservation.status == "active", Reservation.expires_at <= now)
            .distinct().limit(limit))
    return list((await db.execute(stmt)).scalars())
