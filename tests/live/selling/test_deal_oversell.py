"""2,000 concurrent buyers over real HTTP for a LIVE flash deal of 100 units, one per buyer →
exactly 100 paid orders at the deal price, nobody holds two, nothing oversold — on SQLite and
on PostgreSQL. Every buyer whose first attempt went through tries again at once (the limit
must hold against the same account too)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Variant
from mercato.ledger import service as ledger
from mercato.live.selling.models import DealBuyer, FlashDeal
from mercato.orders.models import Order, OrderLine
from tests.harness import app_process
from tests.live.selling.conftest import announce, open_now
from tests.orders.conftest import ADDRESS, card
from tests.orders.test_oversell import create_buyers

BUYERS = 2000
UNITS = 100
STOCK = 1000  # more stock than the deal: the deal's own units must be what stops the crowd
DEAL_PRICE = 990


def test_no_deal_oversell_with_2000_concurrent_buyers(api: httpx.Client, clean_db: str,
                                                      live_shop: Callable[..., dict[str, Any]],
                                                      db_run: Any) -> None:
    item = live_shop(price=1500, stock=STOCK)
    live_id, variant_id = item["live_id"], item["variant_id"]
    deal = announce(api, item["host"], live_id, variant_id, deal_price=DEAL_PRICE, total_units=UNITS,
                    per_buyer_limit=1, duration_minutes=20)
    assert deal.status_code == 201, deal.text
    deal_id = deal.json()["id"]
    open_now(db_run, deal_id)
    tokens = create_buyers(db_run, BUYERS)
    body = {"items": [{"variant_id": variant_id, "quantity": 1}], "address": ADDRESS, "live_id": live_id}

    async def attempt(client: httpx.AsyncClient, headers: dict[str, str], key: str) -> str:
        created = await client.post("/api/v1/checkouts", headers={**headers, "Idempotency-Key": f"co-{key}"},
                                    json=body)
        if created.status_code == 409:
            code = created.json()["error"]["code"]
            assert code in ("deal_sold_out", "deal_limit_reached"), created.text
            return code
        assert created.status_code == 201, created.text
        assert created.json()["orders"][0]["lines"][0]["unit_price"] == DEAL_PRICE
        paid = await client.post(f"/api/v1/checkouts/{created.json()['id']}/pay",
                                 headers={**headers, "Idempotency-Key": f"pay-{key}"}, json=card())
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid"
        return "paid"

    async def buyer(client: httpx.AsyncClient, token: str, n: int, gate: asyncio.Semaphore) -> list[str]:
        headers = {"Authorization": f"Bearer {token}"}
        async with gate:
            first = await attempt(client, headers, f"{n}")
            if first != "paid":
                return [first]
            return [first, await attempt(client, headers, f"{n}-again")]

    async def run(server: str) -> Counter[str]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=server, timeout=httpx.Timeout(120, pool=None), limits=limits) as client:
            gate = asyncio.Semaphore(200)
            results = await asyncio.gather(*(buyer(client, t, n, gate) for n, t in enumerate(tokens)))
        return Counter(outcome for outcomes in results for outcome in outcomes)

    with app_process(clean_db, extra_env={"REDIS_URL": ""}) as server:
        outcomes = asyncio.run(run(server))
    # Exactly the deal's units were sold; every second try of a winner hit the per-buyer limit.
    assert outcomes["paid"] == UNITS
    assert outcomes["deal_limit_reached"] >= UNITS
    assert outcomes["paid"] + outcomes["deal_sold_out"] + outcomes["deal_limit_reached"] == BUYERS + UNITS

    async def facts(session: AsyncSession) -> dict[str, Any]:
        variant = await session.get(Variant, variant_id)
        found = await session.get(FlashDeal, deal_id)
        assert variant is not None and found is not None
        paid = select(Order.buyer_id, func.count()).where(Order.status == "paid").group_by(Order.buyer_id)
        per_buyer = [int(count) for _, count in (await session.execute(paid)).all()]
        prices = set((await session.scalars(select(OrderLine.unit_price))).all())
        sources = set((await session.execute(select(Order.source, Order.live_id))).all())
        held = (await session.execute(select(func.sum(DealBuyer.quantity)))).scalar_one()
        return {"counters": (variant.stock, variant.reserved, variant.allocated), "units_left": found.units_left,
                "per_buyer": Counter(per_buyer), "prices": prices, "sources": sources, "held": int(held or 0),
                "balance": await ledger.trial_balance(session)}

    found = db_run(facts)
    assert found["counters"] == (STOCK, 0, UNITS)
    assert found["units_left"] == 0
    assert found["per_buyer"] == Counter({1: UNITS})  # 100 buyers with one order each, nobody with two
    assert found["prices"] == {DEAL_PRICE}
    assert found["sources"] == {("live", live_id)}
    assert found["held"] == UNITS
    assert found["balance"] == {"USD": 0}
