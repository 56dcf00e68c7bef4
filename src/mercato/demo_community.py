"""The demo world's Fan Club and Community Fest: members at several levels in the demo LIVE's
host's Fan Club (``creator1``), and a running "Community Fest" (three weeks around today) whose
missions some demo shoppers have completed — their rewards granted through the real services
(shopping credits in the ledger, a coupon in promotions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_repository as dr
from mercato.community import service as community
from mercato.community.schemas import EventIn, MissionIn
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.live.fanclub import service as fanclub

DOMAIN = "demo.example.com"
HOST_EMAIL = f"creator1@{DOMAIN}"
FEST = "community-fest"
#: shopperN → Fan Club points (levels 1, 2, 3, 4 and 5 with the default thresholds)
FANS = {1: 20, 2: 60, 3: 200, 4: 450, 5: 900}
#: shopperN → missions completed (by position): shopper1 finished the watch and comment missions…
COMPLETED = {1: (0, 1), 2: (0, 1, 2, 4), 3: (1,)}


def fest(now: datetime) -> EventIn:
    return EventIn(
        slug=FEST, name="Community Fest", description="Three weeks of missions: watch, chat, share, gift and shop "
        "in the community's LIVEs and videos to earn badges, a coupon and shopping credits.",
        starts_at=now - timedelta(days=10), ends_at=now + timedelta(days=11), gift_conversion=None,
        missions=[
            MissionIn(kind="watch_minutes", title="Watch 30 minutes of LIVE", target=30, reward_kind="badge",
                      reward_badge="Night owl"),
            MissionIn(kind="comment", title="Comment 10 times in LIVEs", target=10, reward_kind="badge",
                      reward_badge="Chatterbox"),
            MissionIn(kind="share", title="Share 3 videos", target=3, reward_kind="coupon", reward_percent_bps=1000),
            MissionIn(kind="gift", title="Send 5 gifts", target=5, reward_kind="credits", reward_amount=500,
                      reward_currency="USD"),
            MissionIn(kind="buy", title="Buy something", target=1, reward_kind="credits", reward_amount=300,
                      reward_currency="USD"),
        ])


async def seed_community(session: AsyncSession, settings: Settings, console: Console) -> bool:
    """Add the Fan Club and the Community Fest once; False when already there (or no demo world)."""
    host_id = await dr.user_id_by_email(session, HOST_EMAIL)
    if host_id is None or await community.event_exists(session, FEST):
        return False
    now = datetime.now(UTC)
    for n, points in FANS.items():
        fan_id = await dr.user_id_by_email(session, f"shopper{n}@{DOMAIN}")
        if fan_id is None:
            continue
        await fanclub.join(session, settings, host_id=host_id, user_id=fan_id, at=now - timedelta(days=n))
        await fanclub.add_points(session, settings, host_id=host_id, user_id=fan_id, points=points, at=now)
    _event, missions = await community.create_event(session, fest(now))
    for n, done in COMPLETED.items():
        user_id = await dr.user_id_by_email(session, f"shopper{n}@{DOMAIN}")
        if user_id is None:
            continue
        for position in done:
            mission = missions[position]
            if mission.kind == "watch_minutes":
                await community.count_watch(session, user_id=user_id, seconds=mission.target * 60, at=now)
                continue
            for i in range(mission.target):
                await community.count_action(session, kind=mission.kind, user_id=user_id,
                                             action_key=f"demo:{mission.kind}:{i}", at=now)
    console.print(f"[green]Fan Club and Community Fest:[/] {len(FANS)} fans of creator1, "
                  f"{sum(len(d) for d in COMPLETED.values())} missions completed.")
    return True


async def seed_community_if_missing(settings: Settings, console: Console) -> None:
    db = Database(settings.database_url, pool=False)
    try:
        async with db.unit_of_work() as session:
            await seed_community(session, settings, console)
    finally:
        await db.dispose()
