"""What orders changes of other domains' rows goes through their services: the sale counted by
the catalog, reservations moved by inventory, shipping rules stored by the catalog; and the
one sold-out decision and message shared by the gate, the route and checkout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Shop
from mercato.inventory.models import Reservation
from mercato.kit.errors import error_body
from mercato.orders import sold_out
from tests.orders.conftest import DECLINED, checkout, pay
from tests.orders.test_checkout_api import variant_counts


def reservation_statuses(db_run: Any, checkout_id: int) -> list[str]:
    async def read(session: AsyncSession) -> list[str]:
        return [str(s) for s in (await session.execute(select(Reservation.status).where(
            Reservation.checkout_id == checkout_id).order_by(Reservation.id))).scalars()]

    result: list[str] = db_run(read)
    return result


def test_one_sold_out_rule_and_message() -> None:
    assert sold_out.short(0, 1) and sold_out.short(2, 3)
    assert not sold_out.short(3, 3)
    refusal = sold_out.out_of_stock(7, "Tote", "Blue", 0)
    assert (refusal.status, refusal.code, refusal.message, refusal.details) == (
        409, "out_of_stock", "Tote (Blue): This item is out of stock.", {"variant_id": 7, "available": 0})
    assert sold_out.out_of_stock_body(7, "Tote", "Blue", 2) == error_body(
        "out_of_stock", "Tote (Blue): Only 2 left.", {"variant_id": 7, "available": 2})


def test_a_payment_counts_the_sale_and_allocates_the_reservations(
        api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
        db_run: Any) -> None:
    item = stocked(stock=10)
    shopper = buyer()
    placed = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": 2}]).json()
    # Read signed in: anonymous product reads come from the micro-cache, which payments do not empty.
    product_url = f"/api/v1/products/{item['product']['id']}"

    declined = pay(api, shopper, placed["id"], DECLINED)
    assert declined.status_code == 402
    assert api.get(product_url, headers=shopper["headers"]).json()["sold_count"] == 0
    assert reservation_statuses(db_run, placed["id"]) == ["active"]
    assert variant_counts(db_run, item["variant_id"]) == (10, 2, 0)

    assert pay(api, shopper, placed["id"]).status_code == 200
    assert api.get(product_url, headers=shopper["headers"]).json()["sold_count"] == 2
    assert reservation_statuses(db_run, placed["id"]) == ["allocated"]
    assert variant_counts(db_run, item["variant_id"]) == (10, 0, 2)


def test_shipping_ends_the_reservation_and_an_unpaid_cancel_releases_it(
        api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
        db_run: Any) -> None:
    item = stocked(stock=5)
    shopper, seller = buyer(), item["shop"]["owner"]
    shipped = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": 1}]).json()
    assert pay(api, shopper, shipped["id"]).status_code == 200
    order_id = shipped["orders"][0]["id"]
    answer = api.post(f"/api/v1/seller/orders/{order_id}/ship", headers=seller["headers"],
                      json={"carrier": "UPS", "tracking_number": "1Z999"})
    assert answer.status_code == 200
    assert reservation_statuses(db_run, shipped["id"]) == ["shipped"]
    assert variant_counts(db_run, item["variant_id"]) == (4, 0, 0)

    unpaid = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": 3}]).json()
    assert variant_counts(db_run, item["variant_id"]) == (4, 3, 0)
    cancelled = api.post(f"/api/v1/orders/{unpaid['orders'][0]['id']}/cancel", headers=shopper["headers"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert reservation_statuses(db_run, unpaid["id"]) == ["released"]
    assert variant_counts(db_run, item["variant_id"]) == (4, 0, 0)
    again = api.post(f"/api/v1/orders/{unpaid['orders'][0]['id']}/cancel", headers=shopper["headers"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_status"
    assert variant_counts(db_run, item["variant_id"]) == (4, 0, 0)


def test_shipping_rules_are_stored_by_the_catalog_for_members_only(
        api: httpx.Client, make_shop: Callable[..., dict[str, Any]], make_user: Callable[..., dict[str, Any]],
        db_run: Any) -> None:
    shop = make_shop()

    def rules() -> tuple[int, int | None]:
        async def read(session: AsyncSession) -> tuple[int, int | None]:
            row = (await session.execute(select(Shop.shipping_fee, Shop.free_shipping_above)
                                         .where(Shop.id == shop["id"]))).one()
            return int(row[0]), row[1]

        result: tuple[int, int | None] = db_run(read)
        return result

    before = rules()
    stranger = make_user()
    refused = api.put(f"/api/v1/shops/{shop['slug']}/shipping", headers=stranger["headers"],
                      json={"shipping_fee": 900, "free_shipping_above": 5000})
    assert refused.status_code == 403
    assert rules() == before
    saved = api.put(f"/api/v1/shops/{shop['slug']}/shipping", headers=shop["owner"]["headers"],
                    json={"shipping_fee": 900, "free_shipping_above": 5000})
    assert saved.status_code == 200 and saved.json() == {"shipping_fee": 900, "free_shipping_above": 5000}
    assert rules() == (900, 5000)
