"""Touchpoints: recorded server-side when a shopper meets a creator's promotion (docs/affiliate.md,
"Links and touchpoints").

A touchpoint belongs to the signed-in user, or to the anonymous visitor id of the signed visitor
cookie (``affiliate/visitor.py``) until sign-up or log-in attaches the visitor's touchpoints to the
user (:func:`attach_visitor`). The same shopper, creator, product and kind within
``affiliate_dedupe_seconds`` is one touchpoint: its time moves to the latest meeting, so "last
click" stays true while a reload storm writes no rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import money_repository as repository
from mercato.affiliate.money_models import TOUCHPOINT_KINDS, Touchpoint
from mercato.config import Settings


async def record(db: AsyncSession, settings: Settings, *, kind: str, creator_id: int, product_id: int | None,
                 at: datetime, user_id: int | None = None, visitor_id: str | None = None,
                 link_id: int | None = None, video_id: int | None = None,
                 live_id: int | None = None) -> Touchpoint | None:
    """Record (or refresh) a touchpoint; ``None`` when there is nobody to key it by, or the
    shopper is the creator (one's own promotion is not a touchpoint)."""
    if kind not in TOUCHPOINT_KINDS:
        raise ValueError(f"unknown touchpoint kind {kind!r}")
    if user_id is None and visitor_id is None:
        return None
    if user_id is not None and user_id == creator_id:
        return None
    since = at - timedelta(seconds=settings.affiliate_dedupe_seconds)
    same = await repository.recent_touchpoint(db, kind=kind, creator_id=creator_id, product_id=product_id,
                                              user_id=user_id, visitor_id=visitor_id, since=since)
    if same is not None:
        same.at = max(same.at, at)
        if video_id is not None:
            same.video_id = video_id
        await db.flush()
        return same
    touchpoint = Touchpoint(kind=kind, creator_id=creator_id, product_id=product_id, user_id=user_id,
                            visitor_id=visitor_id, link_id=link_id,
                            video_id=video_id, live_id=live_id, at=at)
    await repository.add(db, touchpoint)
    return touchpoint


async def attach_visitor(db: AsyncSession, visitor_id: str | None, user_id: int) -> int:
    """Give an anonymous visitor's touchpoints to the user who just signed up or logged in."""
    if not visitor_id:
        return 0
    return await repository.attach_visitor(db, visitor_id, user_id)
