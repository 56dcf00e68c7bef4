"""The seam through which engagement with videos reaches the ranking (the feed).

Content never imports the feed: the feed registers its handler here when the app starts
(``feed/wiring.py:install``) and content calls :func:`dispatch_engagement` inside its own unit of
work, so the event and what the ranking keeps about it commit with the fact itself (a like, a
comment, a share …). Without a registered handler (a tool that never starts the app) the fact
is still recorded; only the ranking does not hear of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

#: ``handler(db, user_id=…, video_id=…, kind=…)``; ``user_id`` is None for anonymous viewers.
EngagementHandler = Callable[..., Awaitable[None]]

_engagement: list[EngagementHandler] = []


def register_engagement(handler: EngagementHandler) -> EngagementHandler:
    """Call ``handler`` for every engagement event. Idempotent; usable as a decorator."""
    if handler not in _engagement:
        _engagement.append(handler)
    return handler


def unregister(handler: EngagementHandler) -> None:
    if handler in _engagement:
        _engagement.remove(handler)


async def dispatch_engagement(db: AsyncSession, *, user_id: int | None, video_id: int, kind: str) -> None:
    for handler in list(_engagement):
        await handler(db, user_id=user_id, video_id=video_id, kind=kind)
