"""Demo coins and gifts: demo viewers (``shopper2``–``shopper7``) bought coin packs with the sandbox
card, and sent gifts in a past demo LIVE of ``creator1``, so the wallet, the creator's top gifters and
the host's diamonds on the Earnings page have something to show. The running demo LIVE gets its
gifts from the demo viewers (``demo_live_viewers.py``) through the real API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from mercato.accounts import repository as accounts_repository
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.live import repository as live_repository
from mercato.live.gifts import service
from mercato.live.models import Live
from mercato.payments import service as payments
from mercato.payments.provider import CardInput, get_provider

DOMAIN = "demo.example.com"
GIFTERS = tuple(f"shopper{n}" for n in (2, 3, 4, 5, 6, 7))
CARD = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123", name="Demo Viewer")
# (gifter index, gift name, quantity): a few sends each, the first gifters the most generous
SENDS = ((0, "Galaxy", 1), (0, "Star", 2), (1, "Star", 1), (1, "Heart", 10), (2, "Finger Heart", 5),
         (3, "Rose", 30), (4, "Heart", 3), (5, "Fan Club", 1), (2, "Rose", 12))


async def seed_gifts(db: Database, settings: Settings, console: Console) -> None:
    """Once: skipped when ``creator1`` already hosted a LIVE with gifts, or without the sandbox."""
    if settings.payment_provider.lower() != "sandbox":
        return
    provider = get_provider(settings, db)
    async with db.unit_of_work() as session:
        host = await accounts_repository.user_by_email(session, f"creator1@{DOMAIN}")
        if host is None or (await service.diamonds(session, host.id, settings))["gifts"]:
            return
        started = datetime.now(UTC) - timedelta(days=7)
        live = Live(host_id=host.id, title="Demo LIVE: last week's try-on haul", status="live", is_demo=True,
                    started_at=started)
        await live_repository.add(session, live)
        live_id = live.id
        gift_ids = {gift.name: gift.id for gift in await service.catalog(session)}
    for n, name in enumerate(GIFTERS):
        async with db.unit_of_work() as session:
            buyer = await accounts_repository.user_by_email(session, f"{name}@{DOMAIN}")
            if buyer is None:
                continue
            pack = "coins_3303" if n == 0 else "coins_330"
            _, intent = await service.start_purchase(session, buyer, pack, settings)
            await payments.confirm(session, intent, CARD, provider=provider, settings=settings)
    for index, gift, quantity in SENDS:
        async with db.unit_of_work() as session:
            sender = await accounts_repository.user_by_email(session, f"{GIFTERS[index]}@{DOMAIN}")
            if sender is not None:
                await service.send_gift(session, sender, live_id, gift_ids[gift], quantity, settings)
    async with db.unit_of_work() as session:
        ended = await live_repository.live(session, live_id)
        assert ended is not None
        ended.status, ended.ended_at, ended.ended_reason = "ended", started + timedelta(hours=1), "host"
    console.print(f"[green]Demo gifts:[/] {len(GIFTERS)} viewers bought coins, {len(SENDS)} gifts sent to "
                  f"{host.display_name}.")

