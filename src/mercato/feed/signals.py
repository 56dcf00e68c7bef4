"""The one entry point through which engagement reaches the ranking.

Every domain that observes engagement (content: likes, comments, shares, saves, product-card
clicks; the feed API: impressions, watch time, skips; the web app: add to cart, purchase)
calls :func:`record_engagement` inside its own unit of work, so the event, the viewer's
profile and the video's scores change in the same transaction as the fact itself.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.feed.models import FeedEvent

KINDS = frozenset({
    "impression", "watch", "skip", "like", "unlike", "share", "comment", "save", "product_click",
    "add_to_cart", "purchase", "follow",
})


async def record_engagement(
    db: AsyncSession, *, user_id: int | None, video_id: int, kind: str, watch_ms: int = 0
) -> None:
    """Record one engagement event (append-only log). feed/ extends this with the real-time
    profile and score updates; callers never need to change."""
    if kind not in KINDS:
        raise ValueError(f"unknown engagement kind {kind!r}")
    db.add(FeedEvent(user_id=user_id, video_id=video_id, kind=kind, watch_ms=max(0, watch_ms)))
