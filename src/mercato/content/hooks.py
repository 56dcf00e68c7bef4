"""The seams through which engagement with videos reaches the domains above content: the ranking
(the feed) and, through :func:`promotion_touch`, affiliate attribution (product-card clicks and
opened share links become touchpoints).

Content never imports the feed: the feed registers its handler here when the app starts
(``feed/wiring.py:install``) and content calls :func:`dispatch_engagement` inside its own unit of
work, so the event and what the ranking keeps about it commit with the fact itself (a like, a
comment, a share …). Without a registered handler (a tool that never starts the app) the fact
is still recorded; only the ranking does not hear of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

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


# --- promotion touches (affiliate attribution) ----------------------------------------------


@dataclass(frozen=True)
class PromotionTouch:
    """A viewer met a creator's promotion of products through a video: ``card_click`` (a tap on
    a product card) or ``share`` (a share link of the video opened). ``cookies`` are the
    request's, so a handler can key an anonymous viewer by its own signed cookie."""

    kind: str
    viewer_id: int | None
    cookies: Mapping[str, str]
    video_id: int
    creator_id: int
    product_ids: tuple[int, ...]
    at: datetime


#: A cookie a handler wants set on the answer: ``(name, value, max_age seconds)``.
SetCookie = tuple[str, str, int]
#: ``handler(db, touch)`` → the cookies to set (the affiliate domain's visitor cookie).
PromotionHandler = Callable[[AsyncSession, PromotionTouch], Awaitable[list[SetCookie]]]

_promotion: list[PromotionHandler] = []


def register_promotion_touch(handler: PromotionHandler) -> PromotionHandler:
    """The affiliate domain registers here at import (idempotent); content calls it in its unit of work."""
    if handler not in _promotion:
        _promotion.append(handler)
    return handler


async def promotion_touch(db: AsyncSession, touch: PromotionTouch) -> list[SetCookie]:
    cookies: list[SetCookie] = []
    for handler in list(_promotion):
        cookies.extend(await handler(db, touch))
    return cookies
