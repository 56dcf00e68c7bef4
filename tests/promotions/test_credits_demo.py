"""The demo world's shopping credits: welcome credits for the first demo shoppers, and one order
paid partly with them (the card paid the rest); seeding twice grants nothing more."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import date
from typing import Any

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_credits
from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.ledger import service as ledger
from mercato.orders import payflow
from mercato.orders.models import Order
from mercato.orders.schemas import AddressIn
from mercato.promotions import credits

Maker = Callable[..., dict[str, Any]]


def test_demo_shoppers_hold_welcome_credits_and_one_order_used_them(
        make_shop: Maker, make_product: Maker, db_run: Any, settings: Settings, clean_db: str) -> None:
    shop = make_shop()
    make_product(shop, title="Demo Serum", variants=[{"sku": None, "price": 2400, "stock": 10}])

    async def people(session: AsyncSession) -> list[int]:
        users = [User(email=f"shopper{n}@demo.example.com", password_hash="x", display_name=f"Shopper {n}",
                      date_of_birth=date(1990, 1, 1), niche_tags=[], bio="") for n in (1, 2, 3)]
        session.add_all(users)
        await session.flush()
        await payflow.save_address(session, users[1], AddressIn(
            name="Shopper 2", line1="1 Main St", city="Austin", region="US-TX", postal_code="73301", country="US",
            is_default=True))
        return [u.id for u in users]

    ids = db_run(people)
    out = io.StringIO()

    async def seed() -> None:
        db = Database(clean_db, pool=False)
        try:
            await demo_credits.seed_credits(db, settings, Console(file=out, width=200))
        finally:
            await db.dispose()

    asyncio.run(seed())
    assert "shopper2 paid an order partly with $10.00" in out.getvalue()

    async def facts(session: AsyncSession) -> tuple[list[int], list[tuple[str, int, int]], dict[str, int]]:
        balances = [await credits.balance(session, uid, "USD") for uid in ids]
        orders = [(o.status, o.credits, o.total) for o in (await session.execute(select(Order))).scalars()]
        return balances, orders, await ledger.trial_balance(session)

    balances, orders, trial = db_run(facts)
    assert balances == [1000, 0, 1000]
    assert len(orders) == 1 and orders[0][:2] == ("paid", 1000) and orders[0][2] > 1000
    assert trial == {"USD": 0}
    asyncio.run(seed())  # the grants are idempotent; a second order would be paid by the card only
    assert db_run(facts)[0][0] == 1000
