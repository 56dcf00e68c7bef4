"""Demo coins and gifts: demo viewers bought coins with the sandbox card and sent gifts to creator1
in a past demo LIVE; seeding twice adds nothing; the ledger identity holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.demo_gifts import GIFTERS, SENDS, seed_gifts
from mercato.kit.db import Database
from mercato.live.gifts import service
from mercato.live.gifts.models import CoinPurchase, GiftSend
from tests.conftest import run_async
from tests.live.gifts.test_gifts_api import assert_identity


def test_demo_gifts(clean_db: str, db_run: Callable[..., Any], settings: Settings,
                    count_rows: Callable[[Any], int]) -> None:
    async def people(db: AsyncSession) -> None:
        for name in ("creator1", *GIFTERS):
            db.add(User(email=f"{name}@demo.example.com", password_hash="x", display_name=name.title(),
                        date_of_birth=date(1990, 1, 1), is_creator=name == "creator1", niche_tags=[], bio=""))
        await db.flush()
    db_run(people)

    async def seed() -> None:
        database = Database(clean_db, pool=False)
        try:
            await seed_gifts(database, settings, Console(quiet=True))
        finally:
            await database.dispose()

    run_async(seed())
    run_async(seed())  # once
    assert count_rows(CoinPurchase) == len(GIFTERS) and count_rows(GiftSend) == len(SENDS)

    async def check(db: AsyncSession) -> None:
        host = (await db.scalars(select(User).where(User.email == "creator1@demo.example.com"))).one()
        diamonds = await service.diamonds(db, host.id, settings)
        assert diamonds["gifts"] == len(SENDS)
        assert diamonds["diamonds"] == 1000 + 2 * 99 + 99 + 50 + 50 + 30 + 15 + 1 + 12
        board = await service.leaderboard(db, host_id=host.id)
        assert board[0]["display_name"] == "Shopper2" and board[0]["coins"] == 1198
        assert {p.status for p in (await db.scalars(select(CoinPurchase))).all()} == {"paid"}
    db_run(check)
    assert_identity(db_run)
