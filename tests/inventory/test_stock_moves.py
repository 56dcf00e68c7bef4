"""The stock moves of inventory/service.py, called directly: every counter change is a guarded
update whose refusal changes nothing (the variant's counters, its product's ``total_stock`` and
the reservations are read back in a separate transaction after each step)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Product, Variant
from mercato.inventory import service as inventory
from mercato.inventory.models import Reservation
from mercato.kit.errors import Conflict

State = tuple[tuple[int, int, int], int]  # ((stock, reserved, allocated), product total_stock)


@pytest.fixture
def variant(make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]]) -> dict[str, int]:
    """An active product with one variant of 5 units on hand."""
    product = make_product(make_shop(), variants=[{"sku": None, "price": 1000, "stock": 5}])
    return {"variant_id": product["variants"][0]["id"], "product_id": product["id"]}


def state(db_run: Any, ids: dict[str, int]) -> State:
    async def read(session: AsyncSession) -> State:
        row = (await session.execute(select(Variant.stock, Variant.reserved, Variant.allocated)
                                     .where(Variant.id == ids["variant_id"]))).one()
        total = (await session.execute(select(Product.total_stock).where(Product.id == ids["product_id"]))).scalar_one()
        return (int(row[0]), int(row[1]), int(row[2])), int(total)

    result: State = db_run(read)
    return result


def move(db_run: Any, name: str, variant_id: int, quantity: int) -> Any:
    async def run(session: AsyncSession) -> Any:
        return await getattr(inventory, name)(session, variant_id, quantity)

    return db_run(run)


def test_reserve_takes_available_units_and_refuses_more(db_run: Any, variant: dict[str, int]) -> None:
    (counters, total) = state(db_run, variant)
    assert counters == (5, 0, 0)
    assert move(db_run, "reserve", variant["variant_id"], 3) is True
    assert state(db_run, variant) == ((5, 3, 0), total - 3)
    assert move(db_run, "reserve", variant["variant_id"], 3) is False  # only 2 available
    assert state(db_run, variant) == ((5, 3, 0), total - 3)
    assert move(db_run, "reserve", variant["variant_id"], 2) is True
    assert state(db_run, variant) == ((5, 5, 0), total - 5)


def test_release_gives_reserved_units_back_and_refuses_more_than_reserved(db_run: Any,
                                                                          variant: dict[str, int]) -> None:
    (_, total) = state(db_run, variant)
    move(db_run, "reserve", variant["variant_id"], 3)
    assert move(db_run, "release", variant["variant_id"], 2) is True
    assert state(db_run, variant) == ((5, 1, 0), total - 1)
    assert move(db_run, "release", variant["variant_id"], 2) is False
    assert state(db_run, variant) == ((5, 1, 0), total - 1)


def test_allocate_turns_reserved_into_allocated_and_refuses_unreserved_units(db_run: Any,
                                                                             variant: dict[str, int]) -> None:
    (_, total) = state(db_run, variant)
    move(db_run, "reserve", variant["variant_id"], 3)
    assert move(db_run, "allocate", variant["variant_id"], 3) is True
    assert state(db_run, variant) == ((5, 0, 3), total - 3)  # still not available
    assert move(db_run, "allocate", variant["variant_id"], 1) is False
    assert state(db_run, variant) == ((5, 0, 3), total - 3)


def test_allocate_all_refuses_with_allocation_failed_and_the_transaction_keeps_nothing(
        db_run: Any, variant: dict[str, int]) -> None:
    (_, total) = state(db_run, variant)
    move(db_run, "reserve", variant["variant_id"], 2)

    async def allocate_more(session: AsyncSession) -> None:
        await inventory.allocate_all(session, {variant["variant_id"]: 3})

    with pytest.raises(Conflict) as refused:
        db_run(allocate_more)
    assert (refused.value.code, refused.value.status) == ("allocation_failed", 409)
    assert state(db_run, variant) == ((5, 2, 0), total - 2)


def test_deallocate_makes_units_available_again(db_run: Any, variant: dict[str, int]) -> None:
    (_, total) = state(db_run, variant)
    move(db_run, "reserve", variant["variant_id"], 3)
    move(db_run, "allocate", variant["variant_id"], 3)
    assert move(db_run, "deallocate", variant["variant_id"], 2) is True
    assert state(db_run, variant) == ((5, 0, 1), total - 1)
    assert move(db_run, "deallocate", variant["variant_id"], 2) is False
    assert state(db_run, variant) == ((5, 0, 1), total - 1)


def test_ship_takes_allocated_units_off_hand(db_run: Any, variant: dict[str, int]) -> None:
    (_, total) = state(db_run, variant)
    move(db_run, "reserve", variant["variant_id"], 3)
    move(db_run, "allocate", variant["variant_id"], 3)
    assert move(db_run, "ship", variant["variant_id"], 2) is True
    assert state(db_run, variant) == ((3, 0, 1), total - 3)  # shipping changes nothing available
    assert move(db_run, "ship", variant["variant_id"], 2) is False
    assert state(db_run, variant) == ((3, 0, 1), total - 3)


def test_restock_puts_returned_units_back_on_hand(db_run: Any, variant: dict[str, int]) -> None:
    (_, total) = state(db_run, variant)
    move(db_run, "restock", variant["variant_id"], 2)
    assert state(db_run, variant) == ((7, 0, 0), total + 2)


# --- reservations ----------------------------------------------------------------------------


@pytest.fixture
def held(api: httpx.Client, variant: dict[str, int], make_user: Callable[..., dict[str, Any]]) -> dict[str, int]:
    """A buy-now checkout of 2 units (placed over HTTP): one active reservation."""
    buyer = make_user()
    address = {"name": "Ada Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "US-CA",
               "postal_code": "94105", "country": "US"}
    response = api.post("/api/v1/checkouts", headers=buyer["headers"],
                        json={"items": [{"variant_id": variant["variant_id"], "quantity": 2}], "address": address})
    assert response.status_code == 201, response.text
    body = response.json()
    return {**variant, "checkout_id": body["id"], "line_id": body["orders"][0]["lines"][0]["id"]}


def reservations(db_run: Any, checkout_id: int) -> list[tuple[int, int, int, str]]:
    async def read(session: AsyncSession) -> list[tuple[int, int, int, str]]:
        rows = await session.execute(select(Reservation.variant_id, Reservation.order_line_id, Reservation.quantity,
                                            Reservation.status).where(Reservation.checkout_id == checkout_id))
        return [(int(r[0]), int(r[1]), int(r[2]), str(r[3])) for r in rows]

    result: list[tuple[int, int, int, str]] = db_run(read)
    return result


def test_expired_checkouts_are_found_only_after_the_ttl_and_released_once(db_run: Any, held: dict[str, int]) -> None:
    (_, total) = state(db_run, held)
    assert state(db_run, held)[0] == (5, 2, 0)
    now = datetime.now(UTC)
    assert held["checkout_id"] not in db_run(lambda session: inventory.expired_checkouts(session, now))
    later = now + timedelta(days=1)
    assert db_run(lambda session: inventory.expired_checkouts(session, later)) == [held["checkout_id"]]

    assert db_run(lambda session: inventory.release_checkout(session, held["checkout_id"])) == 1
    assert reservations(db_run, held["checkout_id"]) == [(held["variant_id"], held["line_id"], 2, "released")]
    assert state(db_run, held) == ((5, 0, 0), total + 2)
    assert db_run(lambda session: inventory.expired_checkouts(session, later)) == []
    # A second sweeper finds nothing to release and moves nothing.
    assert db_run(lambda session: inventory.release_checkout(session, held["checkout_id"])) == 0
    assert state(db_run, held) == ((5, 0, 0), total + 2)


def test_a_reservation_is_marked_once(db_run: Any, held: dict[str, int]) -> None:
    async def reservation_id(session: AsyncSession) -> int:
        return (await inventory.reservations_of_checkout(session, held["checkout_id"]))[0].id

    rid = db_run(reservation_id)
    assert db_run(lambda session: inventory.mark(session, rid, "active", "released")) is True
    assert db_run(lambda session: inventory.mark(session, rid, "active", "released")) is False
    assert reservations(db_run, held["checkout_id"])[0][3] == "released"


def test_allocate_and_ship_reservations_move_only_the_named_lines_in_the_expected_status(
        db_run: Any, held: dict[str, int]) -> None:
    checkout_id, line_id = held["checkout_id"], held["line_id"]
    # Wrong checkout or wrong line: nothing changes.
    assert db_run(lambda session: inventory.allocate_reservations(session, [checkout_id + 1], [line_id])) == 0
    assert db_run(lambda session: inventory.allocate_reservations(session, [checkout_id], [line_id + 1])) == 0
    assert db_run(lambda session: inventory.ship_reservations(session, checkout_id, [line_id])) == 0  # not allocated
    assert reservations(db_run, checkout_id)[0][3] == "active"

    assert db_run(lambda session: inventory.allocate_reservations(session, [checkout_id], [line_id])) == 1
    assert reservations(db_run, checkout_id)[0][3] == "allocated"
    assert db_run(lambda session: inventory.allocate_reservations(session, [checkout_id], [line_id])) == 0
    assert db_run(lambda session: inventory.ship_reservations(session, checkout_id, [line_id])) == 1
    assert reservations(db_run, checkout_id)[0][3] == "shipped"
    assert db_run(lambda session: inventory.ship_reservations(session, checkout_id, [line_id])) == 0


def test_active_reservations_of_lines_and_release_reservations(db_run: Any, held: dict[str, int]) -> None:
    (_, total) = state(db_run, held)

    async def release_lines(session: AsyncSession) -> int:
        found = await inventory.active_reservations_of_lines(session, [held["line_id"]])
        assert [(r.variant_id, r.quantity) for r in found] == [(held["variant_id"], 2)]
        return await inventory.release_reservations(session, found)

    assert db_run(release_lines) == 1
    assert state(db_run, held) == ((5, 0, 0), total + 2)
    assert db_run(lambda session: inventory.active_reservations_of_lines(session, [held["line_id"]])) == []
    assert db_run(lambda session: inventory.active_reservations_of_lines(session, [])) == []
