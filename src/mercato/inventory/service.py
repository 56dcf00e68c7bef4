"""The only code that changes stock counters (ENGINEERING.md rule 2, rule 3).

Every change is one guarded ``UPDATE … WHERE <enough units>`` whose row count says whether
it happened: never read-then-write, so concurrent buyers can never oversell on SQLite or
PostgreSQL (the ``never_oversold`` CHECK constraint is the last line of defence).
``Product.total_stock`` (the Shop Tab's "in stock") follows every change of availability.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Product, Variant
from mercato.inventory.models import Reservation


def _rows(result: object) -> int:
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _product_available(db: AsyncSession, variant_id: int, delta: int) -> None:
    product_id = select(Variant.product_id).where(Variant.id == variant_id).scalar_subquery()
    await db.execute(update(Product).where(Product.id == product_id)
                     .values(total_stock=Product.total_stock + delta))


async def reserve(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """Hold ``quantity`` units if that many are available; ``False`` if not (nothing changed)."""
    result = await db.execute(
        update(Variant)
        .where(Variant.id == variant_id, Variant.stock - Variant.reserved - Variant.allocated >= quantity)
        .values(reserved=Variant.reserved + quantity)
    )
    if _rows(result) != 1:
        return False
    await _product_available(db, variant_id, -quantity)
    return True


async def release(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """Give reserved units back (checkout expired or cancelled)."""
    result = await db.execute(
        update(Variant).where(Variant.id == variant_id, Variant.reserved >= quantity)
        .values(reserved=Variant.reserved - quantity)
    )
    if _rows(result) == 1:
        await _product_available(db, variant_id, quantity)


async def allocate(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """A paid order: reserved units become allocated."""
    result = await db.execute(
        update(Variant).where(Variant.id == variant_id, Variant.reserved >= quantity)
        .values(reserved=Variant.reserved - quantity, allocated=Variant.allocated + quantity)
    )
    return _rows(result) == 1


async def deallocate(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """A paid order cancelled before shipping: its units are available again."""
    result = await db.execute(
        update(Variant).where(Variant.id == variant_id, Variant.allocated >= quantity)
        .values(allocated=Variant.allocated - quantity)
    )
    if _rows(result) == 1:
        await _product_available(db, variant_id, quantity)


async def ship(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """Units leave the warehouse: allocated and on-hand both go down."""
    await db.execute(
        update(Variant).where(Variant.id == variant_id, Variant.allocated >= quantity)
        .values(allocated=Variant.allocated - quantity, stock=Variant.stock - quantity)
    )


async def restock(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """Returned units back on hand."""
    await db.execute(update(Variant).where(Variant.id == variant_id).values(stock=Variant.stock + quantity))
    await _product_available(db, variant_id, quantity)


async def hold_for_checkout(db: AsyncSession, *, variant_id: int, quantity: int, checkout_id: int,
                            order_line_id: int, expires_at: datetime) -> Reservation:
    reservation = Reservation(variant_id=variant_id, quantity=quantity, checkout_id=checkout_id,
                              order_line_id=order_line_id, status="active", expires_at=expires_at)
    db.add(reservation)
    return reservation


async def reservations_of_checkout(db: AsyncSession, checkout_id: int, status: str = "active") -> list[Reservation]:
    stmt = select(Reservation).where(Reservation.checkout_id == checkout_id, Reservation.status == status)
    return list((await db.execute(stmt.order_by(Reservation.variant_id, Reservation.id))).scalars())


async def mark(db: AsyncSession, reservation_id: int, from_status: str, to_status: str) -> bool:
    """Guarded status change of a reservation (so two sweepers never release twice)."""
    result = await db.execute(
        update(Reservation).where(Reservation.id == reservation_id, Reservation.status == from_status)
        .values(status=to_status)
    )
    return _rows(result) == 1


async def expired_checkouts(db: AsyncSession, now: datetime, limit: int = 200) -> list[int]:
    stmt = (select(Reservation.checkout_id).where(Reservation.status == "active", Reservation.expires_at <= now)
            .distinct().limit(limit))
    return list((await db.execute(stmt)).scalars())
