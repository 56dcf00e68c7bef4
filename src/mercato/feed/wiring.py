"""Connects the feed to the domains whose facts it ranks on: content's engagement and accounts'
blocks reach it through their hook registries (``content/hooks.py``, ``accounts/hooks.py``), so
neither domain imports the feed; add-to-carts and purchases reach it from the analytics event
stream (``kit/events.py``): what the server saw, credited to the video whose product card the
buyer tapped — never what a client claims. ``app.create_app`` calls :func:`install` (so does the demo
seeding, which runs without the app); installing twice changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import hooks as accounts_hooks
from mercato.content import hooks as content_hooks
from mercato.feed.signals import record_engagement, touched
from mercato.kit import events
from mercato.kit.events import Event


async def _engagement(db: AsyncSession, *, user_id: int | None, video_id: int, kind: str) -> None:
    await record_engagement(db, user_id=user_id, video_id=video_id, kind=kind)


#: Server events the ranking learns from, and the feed's kind for each.
_COMMERCE = {"add_to_cart": "add_to_cart", "order_paid": "purchase"}


async def _commerce(db: AsyncSession, new: Sequence[Event]) -> None:
    for event in new:
        kind = _COMMERCE.get(event.kind)
        if kind is None or event.video_id is None or event.viewer_id is None:
            continue
        if kind == "purchase" and event.count == 0:  # one purchase per order, not per line
            continue
        await record_engagement(db, user_id=event.viewer_id, video_id=event.video_id, kind=kind,
                                now=event.occurred_at)


def install() -> None:
    content_hooks.register_engagement(_engagement)
    events.register_listener(_commerce)
    accounts_hooks.register_ranking_inputs_changed(touched)
