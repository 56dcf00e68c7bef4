"""The demo world's LIVEs: demo creators may host, creator2's LIVE is scheduled with reminders
(creator1's is the demo publisher's), and seeding twice adds nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.demo_live_world import seed_lives
from mercato.live import repository, service
from mercato.live.models import Live


def test_demo_lives(db_run: Callable[..., Any], settings: Settings) -> None:
    async def people(db: AsyncSession) -> None:
        for name, creator in (("creator1", True), ("creator2", True), ("shopper1", False), ("shopper2", False)):
            db.add(User(email=f"{name}@demo.example.com", password_hash="x", display_name=name.title(),
                        date_of_birth=date(1990, 1, 1), is_creator=creator, niche_tags=[], bio="",
                        followers_count=12))
        await db.flush()

    db_run(people)
    quiet = Console(quiet=True)

    async def seed(db: AsyncSession) -> bool:
        return await seed_lives(db, settings, quiet)

    assert db_run(seed) is True
    assert db_run(seed) is False  # once

    async def check(db: AsyncSession) -> None:
        creator1 = (await db.scalars(select(User).where(User.email == "creator1@demo.example.com"))).one()
        assert creator1.followers_count == 12 + settings.live_host_min_followers
        assert await service.may_host(db, creator1, settings)
        lives = list((await db.scalars(select(Live).order_by(Live.id))).all())
        assert [(live.host_id == creator1.id, live.status, live.is_demo) for live in lives] == [
            (False, "scheduled", True)]
        assert lives[0].scheduled_at is not None
        assert len(await repository.reminder_user_ids(db, lives[0].id)) == 2

    db_run(check)
