"""Checkout is rate limited per buyer (issue 18, item 6): the refused checkout reserves nothing
and places nothing; the page form spends the same budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Variant
from mercato.orders.models import Checkout, Order
from tests.orders.conftest import ADDRESS, checkout


def test_checkouts_are_limited_per_buyer(
    set_rates: Callable[..., None], api: httpx.Client, stocked: Callable[..., dict[str, Any]],
    buyer: Callable[..., dict[str, Any]], db_run: Callable[..., Any], server: str,
) -> None:
    set_rates(checkout="2/hour")
    item = stocked(stock=10)
    shopper, other = buyer(), buyer()
    body = {"items": [{"variant_id": item["variant_id"], "quantity": 1}], "address": ADDRESS}
    for _ in range(2):
        assert checkout(api, shopper, **body).status_code == 201
    response = checkout(api, shopper, **body)
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert response.json()["error"]["details"]["rule"] == "checkout"
    assert 1 <= int(response.headers["Retry-After"]) <= 3600

    async def state(db: AsyncSession) -> tuple[int, int, int]:
        checkouts = (await db.execute(select(func.count()).select_from(Checkout))).scalar_one()
        orders = (await db.execute(select(func.count()).select_from(Order))).scalar_one()
        reserved = (await db.execute(select(Variant.reserved).where(Variant.id == item["variant_id"]))).scalar_one()
        return int(checkouts), int(orders), int(reserved)

    assert db_run(state) == (2, 2, 2)
    # The checkout page spends the same budget and answers with a page.
    with httpx.Client(base_url=server, timeout=60, cookies={"mercato_csrf": "t" * 32}) as web:
        page = web.post("/checkout", headers=shopper["headers"],
                        data={"csrf_token": "t" * 32, "item": str(item["variant_id"]), "qty": "1"})
    assert page.status_code == 429 and "Slow down" in page.text
    assert db_run(state) == (2, 2, 2)
    # Another buyer has a budget of their own.
    assert checkout(api, other, **body).status_code == 201
