"""The demo world's Fan Club (members at several levels) and running Community Fest (missions
some demo shoppers completed, rewards granted); seeding twice adds nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.community.models import MissionProgress
from mercato.config import Settings
from mercato.demo_community import COMPLETED, FANS, seed_community
from mercato.live.fanclub.models import FanMembership
from mercato.promotions import credits


def test_demo_fan_club_and_fest(db_run: Callable[..., Any], settings: Settings, api: Any) -> None:
    async def people(db: AsyncSession) -> None:
        for name in ("creator1", *(f"shopper{n}" for n in range(1, 7))):
            db.add(User(email=f"{name}@demo.example.com", password_hash="x", display_name=name.title(),
                        date_of_birth=date(1990, 1, 1), is_creator=name.startswith("creator"), niche_tags=[], bio="",
                        followers_count=0))
        await db.flush()

    db_run(people)

    async def seed(db: AsyncSession) -> bool:
        return await seed_community(db, settings, Console(quiet=True))

    assert db_run(seed) is True
    assert db_run(seed) is False  # once

    async def check(db: AsyncSession) -> tuple[list[int], int, int]:
        levels = list((await db.scalars(select(FanMembership.level).order_by(FanMembership.level))).all())
        done = int(await db.scalar(select(func.count()).select_from(MissionProgress)
                                   .where(MissionProgress.completed_at.is_not(None))) or 0)
        shopper2 = (await db.scalars(select(User.id).where(User.email == "shopper2@demo.example.com"))).one()
        return levels, done, await credits.balance(db, shopper2, "USD")

    levels, done, shopper2_credits = db_run(check)
    assert levels == [1, 2, 3, 4, 5] and len(levels) == len(FANS)
    assert done == sum(len(d) for d in COMPLETED.values())
    assert shopper2_credits == 300  # the "buy" mission's credits (shopper2 did not finish the gifts)
    assert api.get("/api/v1/events/community-fest").json()["running"] is True
