"""Coupons inside the real checkout over HTTP: discounts land on the orders, a used-up coupon
stops a checkout with nothing reserved, and an expired checkout gives its coupons back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Variant
from mercato.orders import lifecycle
from tests.promotions.conftest import DbRun, error_of

Maker = Callable[..., dict[str, Any]]
ADDRESS = {"name": "Ada Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "US-CA",
           "postal_code": "94105", "country": "US"}


def place(api: httpx.Client, who: dict[str, Any], variant_id: int, codes: list[str]) -> httpx.Response:
    return api.post("/api/v1/checkouts", headers={**who["headers"], "Idempotency-Key": str(uuid.uuid4())},
                    json={"items": [{"variant_id": variant_id, "quantity": 1}], "address": ADDRESS,
                          "coupon_codes": codes})


def test_coupons_in_checkout_and_released_on_expiry(api: httpx.Client, make_shop: Maker, make_product: Maker,
                                                    make_user: Maker, operator: dict[str, Any],
                                                    db_run: DbRun) -> None:
    shop = make_shop()
    product = make_product(shop, variants=[{"sku": None, "price": 2500, "stock": 10}])
    variant_id = product["variants"][0]["id"]
    seller = api.post(f"/api/v1/shops/{shop['slug']}/coupons", headers=shop["owner"]["headers"],
                      json={"code": "SAVE10", "kind": "percent", "percent_bps": 1000, "total_limit": 1}).json()
    platform = api.post("/api/v1/admin/coupons", headers=operator["headers"],
                        json={"code": "PLAT5", "kind": "percent", "percent_bps": 500}).json()
    first, second = make_user(), make_user()

    placed = place(api, first, variant_id, ["save10", " plat5 "])
    assert placed.status_code == 201, placed.text
    [order] = placed.json()["orders"]
    assert (order["subtotal"], order["seller_discount"], order["platform_discount"]) == (2500, 250, 125)

    refused = place(api, second, variant_id, ["SAVE10"])
    assert error_of(refused) == (409, "coupon_exhausted")

    async def reserved(session: AsyncSession) -> int:
        return int((await session.execute(select(Variant.reserved).where(Variant.id == variant_id))).scalar_one())

    assert db_run(reserved) == 1  # the refused checkout reserved nothing

    def counts() -> tuple[int, int]:
        seller_now = api.get(f"/api/v1/coupons/{seller['id']}", headers=shop["owner"]["headers"]).json()
        platform_now = api.get(f"/api/v1/coupons/{platform['id']}", headers=operator["headers"]).json()
        return seller_now["redeemed_count"], platform_now["redeemed_count"]

    assert counts() == (1, 1)
    db_run(lambda session: lifecycle.expire_checkout(session, placed.json()["id"]))
    assert counts() == (0, 0)
    again = place(api, second, variant_id, ["SAVE10"])
    assert again.status_code == 201, again.text
    assert again.json()["orders"][0]["seller_discount"] == 250
    assert counts() == (1, 0)
