"""Set-up shared by the attribution and commission tests: a shop's open plan with creators in it,
links, buying with the sandbox card, settling and reading the ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import plans
from mercato.affiliate import repository as plans_repo
from mercato.affiliate.models import AffiliateMembership
from mercato.affiliate.money_models import Touchpoint
from mercato.catalog import repository as catalog_repository
from mercato.config import get_settings
from mercato.ledger import service as ledger
from mercato.orders import lifecycle
from mercato.orders.models import Order
from tests.orders.conftest import ADDRESS, checkout, pay

DAY = timedelta(days=1)


def now() -> datetime:
    return datetime.now(UTC)


def open_plan(db_run: Callable[..., Any], shop: dict[str, Any], product_ids: list[int], creators: list[dict[str, Any]],
              rate_bps: int = 1000, flat_fee: int | None = None) -> int:
    """A plan on the products (open; targeted for a flat fee), created and joined 30 days ago (so
    older touchpoints count)."""
    start = now() - 30 * DAY

    async def go(db: AsyncSession) -> int:
        found = await catalog_repository.shop_by_slug(db, shop["slug"])
        assert found is not None
        plan = await plans.create_plan(db, found, name="Plan", kind="targeted" if flat_fee else "open",
                                       scope="products", product_ids=product_ids,
                                       rate_bps=None if flat_fee else rate_bps, flat_fee=flat_fee,
                                       requires_approval=False, ends_at=now() + 30 * DAY if flat_fee else None,
                                       now=start)
        for creator in creators:
            await plans_repo.add(db, AffiliateMembership(plan_id=plan.id, creator_id=creator["user"]["id"],
                                                         status="active", created_at=start, decided_at=start,
                                                         joined_at=start))
        return plan.id

    plan_id: int = db_run(go)
    return plan_id


def make_link(api: httpx.Client, creator: dict[str, Any], product_id: int) -> str:
    response = api.post("/api/v1/affiliate/links", headers=creator["headers"], json={"product_id": product_id})
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url


def click(api: httpx.Client, url: str, who: dict[str, Any] | None) -> httpx.Response:
    response = api.get(url, headers=who["headers"] if who else {}, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response


def with_address(api: httpx.Client, who: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/me/addresses", headers=who["headers"], json={**ADDRESS, "is_default": True})
    assert response.status_code == 201, response.text
    return who


def buy(api: httpx.Client, who: dict[str, Any], variant_id: int, quantity: int = 1,
        before_pay: Callable[[int], None] | None = None) -> dict[str, Any]:
    created = checkout(api, who, items=[{"variant_id": variant_id, "quantity": quantity}])
    assert created.status_code == 201, created.text
    body = created.json()
    if before_pay is not None:
        before_pay(body["orders"][0]["id"])
    paid = pay(api, who, body["id"])
    assert paid.status_code == 200, paid.text
    order: dict[str, Any] = paid.json()["orders"][0]
    return order


def age_touchpoints(db_run: Callable[..., Any], creator_id: int, by: timedelta) -> None:
    async def go(db: AsyncSession) -> None:
        for row in (await db.execute(select(Touchpoint).where(Touchpoint.creator_id == creator_id))).scalars():
            row.at = row.at - by

    db_run(go)


def touchpoints_of(db_run: Callable[..., Any], **where: Any) -> list[Touchpoint]:
    async def go(db: AsyncSession) -> list[Touchpoint]:
        query = select(Touchpoint).order_by(Touchpoint.id)
        for name, value in where.items():
            query = query.where(getattr(Touchpoint, name) == value)
        return list((await db.execute(query)).scalars())

    rows: list[Touchpoint] = db_run(go)
    return rows


def settle(api: httpx.Client, db_run: Callable[..., Any], seller: dict[str, Any], order_id: int) -> None:
    assert api.post(f"/api/v1/seller/orders/{order_id}/ship", headers=seller["headers"],
                    json={"carrier": "UPS", "tracking_number": "1Z1"}).status_code == 200
    assert api.post(f"/api/v1/seller/orders/{order_id}/deliver", headers=seller["headers"]).status_code == 200

    async def go(db: AsyncSession) -> int:
        order = await db.get(Order, order_id)
        assert order is not None and order.delivered_at is not None
        await db.execute(update(Order).where(Order.id == order_id).values(delivered_at=order.delivered_at - 8 * DAY))
        return await lifecycle.settle_due(db, get_settings())

    assert db_run(go) == 1


def balances(db_run: Callable[..., Any], *codes: str) -> list[int]:
    async def go(db: AsyncSession) -> list[int]:
        return [await ledger.balance(db, code) for code in codes]

    result: list[int] = db_run(go)
    return result
