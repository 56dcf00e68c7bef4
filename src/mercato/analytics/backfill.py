"""Events for facts recorded before capture existed (or without the app: the demo seeding),
written through the same sink as live capture, with historical ``occurred_at``, and folded into
the rollups before it returns.

``when(kind, key)`` chooses each event's time (the demo spreads its world over two weeks); the
event ids are the ones capture uses, so a backfill run twice, or over facts already captured,
adds nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository, rollup
from mercato.analytics.sink import SqlSink
from mercato.kit.events import SOURCES, Event

When = Callable[[], datetime]


async def backfill(db: AsyncSession, when: When, rng: random.Random, *, views_per_video: tuple[int, int] = (20, 120)
                   ) -> int:
    """Orders, engagement and a plausible stream of impressions, views and card clicks per
    published video; the number of new events."""
    sink = SqlSink()
    events: list[Event] = []
    order_time: dict[int, datetime] = {}
    last_order = None
    for order_id, line_id, buyer, shop, currency, live_id, product, quantity, total in await repository.paid_lines(db):
        at = order_time.setdefault(order_id, when())
        events.append(Event(event_id=f"order_paid:{order_id}:{line_id}", kind="order_paid", occurred_at=at,
                            source="live" if live_id else "direct", live_id=live_id, product_id=product,
                            shop_id=shop, viewer_id=buyer, value=total, currency=currency, quantity=quantity,
                            count=0 if order_id == last_order else 1))
        last_order = order_id
    facts = await repository.engagement(db)
    cards = await repository.videos_and_cards(db, await repository.published_videos(db))
    for user, video in facts["likes"]:
        events.append(Event(event_id=f"like:{user}:{video}", kind="like", occurred_at=when(),
                            creator_id=cards.get(video, (None,))[0], video_id=video, viewer_id=user))
    for kind, rows in (("comment", facts["comments"]), ("share", facts["shares"])):
        for ident, user, video in rows:
            events.append(Event(event_id=f"{kind}:{ident}", kind=kind, occurred_at=when(),
                                creator_id=cards.get(video, (None,))[0], video_id=video, viewer_id=user))
    for follower, followee in facts["follows"]:
        events.append(Event(event_id=f"follow:{follower}:{followee}", kind="follow", occurred_at=when(),
                            creator_id=followee, viewer_id=follower))
    sources = sorted(SOURCES - {"ads"})
    for video, (creator, product, shop) in sorted(cards.items()):
        for n in range(rng.randint(*views_per_video)):
            at, source = when(), rng.choice(sources)
            seen = Event(event_id=f"backfill:impression:{video}:{n}", kind="impression", occurred_at=at,
                         source=source, creator_id=creator, video_id=video, product_id=product, shop_id=shop)
            events.append(seen)
            if rng.random() < 0.6:
                events.append(replace(seen, event_id=f"backfill:view:{video}:{n}", kind="view",
                                      watch_ms=rng.randint(1_000, 30_000)))
            if product is not None and rng.random() < 0.08:
                events.append(replace(seen, event_id=f"backfill:click:{video}:{n}", kind="product_card_click"))
    count = len(await sink.write(db, events))
    now = datetime.now(UTC)
    while await rollup.fold(db, now) == rollup.FOLD_LIMIT:  # folded here: history is not the job's backlog
        pass
    return count
