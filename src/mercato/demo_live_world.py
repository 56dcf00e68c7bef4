"""LIVE in the demo world: demo creators meet the hosts' follower minimum, and ``creator2`` has a
LIVE scheduled for tomorrow that demo shoppers asked to be reminded of (labelled demo,
``Live.is_demo``). ``creator1``'s LIVE on air is the demo publisher's (``demo_live.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_repository as dr
from mercato.accounts import repository as accounts_repository
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.live import repository as live_repository
from mercato.live.models import Live

DOMAIN = "demo.example.com"
REMINDING_SHOPPERS = 15


async def seed_lives(session: AsyncSession, settings: Settings, console: Console) -> bool:
    """Add the demo LIVEs once (a demo world from before LIVE gains them); False when already there."""
    creators = await dr.demo_creators(session, DOMAIN)
    if len(creators) < 2 or await dr.demo_live_ids(session, creators[1].id):
        return False
    for creator in creators:  # they stand for established creators: an audience beyond the demo's accounts
        if creator.followers_count < settings.live_host_min_followers:
            creator.followers_count += settings.live_host_min_followers
    tomorrow = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    upcoming = Live(host_id=creators[1].id, title="Demo LIVE: unboxing the new drops", status="scheduled",
                    scheduled_at=tomorrow, is_demo=True)
    await live_repository.add(session, upcoming)
    for n in range(1, REMINDING_SHOPPERS + 1):
        shopper = await accounts_repository.user_by_email(session, f"shopper{n}@{DOMAIN}")
        if shopper is not None:
            await live_repository.add_reminder(session, upcoming.id, shopper.id)
    console.print(f"[green]Demo LIVE scheduled:[/] {creators[1].display_name} tomorrow, "
                  f"{REMINDING_SHOPPERS} reminders; demo creators may host.")
    return True


async def seed_lives_if_missing(settings: Settings, console: Console) -> None:
    db = Database(settings.database_url, pool=False)
    try:
        async with db.unit_of_work() as session:
            await seed_lives(session, settings, console)
    finally:
        await db.dispose()
