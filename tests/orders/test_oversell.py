"""R1: 2,000 concurrent buyers over real HTTP for 100 units → exactly 100 paid orders,
1,900 clean 409s, stock never below zero — on SQLite and on PostgreSQL, with the flash-sale
gate's in-flight claims in process memory (one app process, no Redis) and in Redis (two app
processes sharing them)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Session, User
from mercato.catalog.models import Variant
from mercato.kit.security import hash_password, new_token, token_digest
from mercato.ledger import service as ledger
from mercato.orders.models import Order
from mercato.payments.models import SandboxCharge
from tests.harness import app_process, missing
from tests.orders.conftest import ADDRESS, card

BUYERS = 2000
STOCK = 100


def create_buyers(db_run: Any, count: int) -> list[str]:
    """Accounts and sessions written straight to the database (2,000 sign-ups over HTTP would
    only measure argon2); every request of the test itself goes over HTTP."""
    tokens = [new_token() for _ in range(count)]
    password = hash_password("not-used-here")

    async def write(session: AsyncSession) -> None:
        now = datetime.now(UTC)
        await session.execute(insert(User), [
            {"email": f"buyer{i}@example.com", "password_hash": password, "display_name": f"Buyer {i}",
             "date_of_birth": date(1990, 1, 1), "niche_tags": [], "bio": "", "is_admin": False,
             "is_creator": False, "followers_count": 0, "following_count": 0, "created_at": now, "updated_at": now}
            for i in range(count)])
        ids = list((await session.execute(select(User.id).where(User.email.like("buyer%@example.com"))
                                          .order_by(User.id))).scalars())
        await session.execute(insert(Session), [
            {"token_digest": token_digest(token), "user_id": uid, "created_at": now,
             "expires_at": now + timedelta(days=1), "user_agent": "r1"}
            for token, uid in zip(tokens, ids, strict=True)])

    db_run(write)
    return tokens


@pytest.mark.parametrize("gate", ["one process, no redis", "two processes, redis"])
def test_no_oversell_with_2000_concurrent_buyers(api: httpx.Client, clean_db: str,
                                                 stocked: Callable[..., dict[str, Any]], db_run: Any,
                                                 backend: tuple[str, str | None, Path], gate: str) -> None:
    redis_url = backend[1]
    if gate.endswith(", redis") and redis_url is None:
        missing("redis")
    item = stocked(price=1500, stock=STOCK, title="Hot Drop Sneaker")
    tokens = create_buyers(db_run, BUYERS)
    variant_id = item["variant_id"]
    lowest_available: list[int] = []

    async def buyer(client: httpx.AsyncClient, token: str, n: int, gate: asyncio.Semaphore) -> str:
        async with gate:
            return await buy(client, token, n)

    async def buy(client: httpx.AsyncClient, token: str, n: int) -> str:
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post("/api/v1/checkouts", headers={**headers, "Idempotency-Key": f"co-{n}"},
                                    json={"items": [{"variant_id": variant_id, "quantity": 1}], "address": ADDRESS})
        if created.status_code == 409:
            assert created.json()["error"]["code"] == "out_of_stock"
            return "409"
        assert created.status_code == 201, created.text
        paid = await client.post(f"/api/v1/checkouts/{created.json()['id']}/pay",
                                 headers={**headers, "Idempotency-Key": f"pay-{n}"}, json=card())
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid"
        return "paid"

    async def watch(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            product = (await client.get(f"/api/v1/products/{item['product']['id']}")).json()
            lowest_available.append(product["variants"][0]["available"])
            await asyncio.sleep(0.05)

    async def run(servers: list[str]) -> Counter[str]:
        # All 2,000 buyers are launched at once; 200 connections carry their requests, spread
        # over the app processes.
        limits = httpx.Limits(max_connections=200 // len(servers), max_keepalive_connections=200 // len(servers))
        timeout = httpx.Timeout(120, pool=None)
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=s, timeout=timeout, limits=limits))
                       for s in servers]
            gate = asyncio.Semaphore(200)
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch(clients[0], stop))
            try:
                outcomes = await asyncio.gather(*(buyer(clients[n % len(clients)], t, n, gate)
                                                  for n, t in enumerate(tokens)))
            finally:
                stop.set()
                await watcher
        return Counter(outcomes)

    env = {"REDIS_URL": redis_url or ""} if gate.endswith(", redis") else {"REDIS_URL": ""}
    with contextlib.ExitStack() as stack:
        # Server processes of their own: the clients here load them, not the test's interpreter.
        servers = [stack.enter_context(app_process(clean_db, extra_env=env))
                   for _ in range(2 if gate.startswith("two") else 1)]
        outcomes = asyncio.run(run(servers))
    assert outcomes == Counter({"paid": STOCK, "409": BUYERS - STOCK})
    assert min(lowest_available) >= 0

    async def facts(session: AsyncSession) -> tuple[int, int, int, int, int, dict[str, int]]:
        variant = await session.get(Variant, variant_id)
        assert variant is not None
        paid_orders = select(func.count()).select_from(Order).where(Order.status == "paid")
        paid = (await session.execute(paid_orders)).scalar_one()
        charges = (await session.execute(select(func.count()).select_from(SandboxCharge))).scalar_one()
        return (variant.stock, variant.reserved, variant.allocated, int(paid), int(charges),
                await ledger.trial_balance(session))

    stock, reserved, allocated, paid, charges, balance = db_run(facts)
    assert (stock, reserved, allocated) == (STOCK, 0, STOCK)
    assert paid == STOCK and charges == STOCK
    assert balance == {"USD": 0}
