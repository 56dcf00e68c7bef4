"""The only code that changes stock counters and reservations (docs/architecture.md, "Concurrency and money rules").

Every change is one guarded ``UPDATE … WHERE <enough units>`` (:mod:`mercato.inventory.repository`)
whose row count says whether it happened: never read-then-write, so concurrent buyers can
never oversell on SQLite or PostgreSQL (the ``never_oversold`` CHECK constraint is the last
line of defence). ``Product.total_stock`` (the Shop Tab's "in stock") follows every change of
availability (through the catalog's ``products.add_available_stock``). Other domains (orders)
change stock and reservations only through the functions here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import products as catalog_products
from mercato.inventory import repository
from mercato.inventory.errors import InventoryError
from mercato.inventory.models import Reservation
from mercato.kit.errors import Conflict


async def reserve(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """Hold ``quantity`` units if that many are available; ``False`` if not (nothing changed)."""
    if await repository.move(db, "reserve", variant_id, quantity) is None:
        return False
    await catalog_products.add_available_stock(db, variant_id, -quantity)
    return True


async def release(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """Give reserved units back (checkout expired or cancelled); ``False`` if fewer than
    ``quantity`` were reserved (nothing changed)."""
    if await repository.move(db, "release", variant_id, quantity) is None:
        return False
    await catalog_products.add_available_stock(db, variant_id, quantity)
    return True


async def allocate(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """A paid order: reserved units become allocated; ``False`` if fewer were reserved."""
    return await repository.move(db, "allocate", variant_id, quantity) is not None


async def allocate_all(db: AsyncSession, bought: Mapping[int, int]) -> None:
    """Allocate the units of a payment (``variant id → quantity``), rows in primary-key order
    (docs/architecture.md, "Concurrency and money rules"); ``409 allocation_failed`` if any variant has fewer units
    reserved than bought (the caller's transaction then rolls back)."""
    for variant_id, quantity in sorted(bought.items()):
        if not await allocate(db, variant_id, quantity):
            raise Conflict("Stock bookkeeping is inconsistent.", code=InventoryError.ALLOCATION_FAILED)


async def deallocate(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """A paid order cancelled before shipping: its units are available again."""
    if await repository.move(db, "deallocate", variant_id, quantity) is None:
        return False
    await catalog_products.add_available_stock(db, variant_id, quantity)
    return True


async def ship(db: AsyncSession, variant_id: int, quantity: int) -> bool:
    """Units leave the warehouse: allocated and on-hand both go down."""
    return await repository.move(db, "ship", variant_id, quantity) is not None


async def restock(db: AsyncSession, variant_id: int, quantity: int) -> None:
    """Returned units back on hand."""
    await repository.move(db, "restock", variant_id, quantity)
    await catalog_products.add_available_stock(db, variant_id, quantity)


async def set_on_hand(db: AsyncSession, variant_id: int, units: int) -> int | None:
    """A store that owns the stock says it has ``units`` on hand. Reserved and allocated units are
    already promised to Mercato buyers, so the count never drops below them: a store count lower
    than what is held leaves 0 available, never negative. Answers the units now available
    (``None`` for an unknown variant)."""
    moved = await repository.set_on_hand(db, variant_id, units)
    if moved is None:
        return None
    old, new = moved
    if new != old:
        await catalog_products.add_available_stock(db, variant_id, new - old)
    counts = await repository.counters(db, variant_id)
    return None if counts is None else counts[0] - counts[1] - counts[2]


async def counters(db: AsyncSession, variant_id: int) -> tuple[int, int, int] | None:
    """``(stock, reserved, allocated)`` of a variant, read in the caller's transaction."""
    return await repository.counters(db, variant_id)


async def hold_for_checkout(db: AsyncSession, holds: Sequence[Mapping[str, Any]]) -> None:
    """Record a checkout's reservations (one plain statement): each hold gives the values of
    ``repository.HOLD_COLUMNS`` (``status`` ``"active"``). The counters themselves move in
    :func:`reserve`."""
    await repository.insert_holds(db, holds)


async def reservations_of_checkout(db: AsyncSession, checkout_id: int, status: str = "active") -> list[Reservation]:
    return await repository.reservations_of_checkout(db, checkout_id, status)


async def mark(db: AsyncSession, reservation_id: int, from_status: str, to_status: str) -> bool:
    """Guarded status change of a reservation (so two sweepers never release twice)."""
    return await repository.mark(db, reservation_id, from_status, to_status)


async def allocate_reservations(db: AsyncSession, checkout_ids: Sequence[int], line_ids: Sequence[int]) -> int:
    """A payment went through: the active reservations of these order lines become allocations
    (one statement; the counters moved in :func:`allocate_all`)."""
    return await repository.mark_lines(db, checkout_ids, line_ids, "active", "allocated")


async def ship_reservations(db: AsyncSession, checkout_id: int, line_ids: Sequence[int]) -> int:
    """An order shipped: its allocated reservations are done (one statement)."""
    return await repository.mark_lines(db, [checkout_id], line_ids, "allocated", "shipped")


async def release_reservations(db: AsyncSession, reservations: Sequence[Reservation]) -> int:
    """Release each still-active reservation and give its units back; how many were released
    (a reservation another sweeper already released is skipped, nothing moves twice)."""
    released = 0
    for reservation in reservations:
        if await mark(db, reservation.id, "active", "released"):
            await release(db, reservation.variant_id, reservation.quantity)
            released += 1
    return released


async def release_checkout(db: AsyncSession, checkout_id: int) -> int:
    """Release every active reservation of an unpaid checkout (expiry)."""
    return await release_reservations(db, await repository.reservations_of_checkout(db, checkout_id, "active"))


async def active_reservations_of_lines(db: AsyncSession, line_ids: Sequence[int]) -> list[Reservation]:
    """The active reservations of these order lines, read before the order changes status."""
    return await repository.reservations_of_lines(db, line_ids, "active")


async def expired_checkouts(db: AsyncSession, now: datetime, limit: int = 200) -> list[int]:
    return await repository.expired_checkouts(db, now, limit)
