"""The seam between the catalog and the domains above it: what they add to a product's page (orders'
reviews) and who may promote a product (affiliate plans, ``register_promotion_rule``).

The catalog never imports those domains (they depend on the catalog): they register a provider
here at import time, and the product page asks it. With none registered the page shows no
reviews, which keeps the catalog usable on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement


class ShownReview(Protocol):
    """What the product page shows of a review."""

    rating: int
    text: str
    created_at: datetime


ReviewsProvider = Callable[[AsyncSession, int, int], Awaitable[list[tuple[ShownReview, str]]]]

_reviews: list[ReviewsProvider] = []


def register_reviews(provider: ReviewsProvider) -> ReviewsProvider:
    """``provider(db, product_id, limit)`` answers the product's newest reviews with their
    authors' names. Registering is idempotent; the last one registered answers."""
    if provider not in _reviews:
        _reviews.append(provider)
    return provider


async def reviews_of_product(db: AsyncSession, product_id: int, limit: int = 20) -> list[tuple[ShownReview, str]]:
    if not _reviews:
        return []
    return await _reviews[-1](db, product_id, limit)


#: ``rule(user_id, now)`` → a condition on ``Product`` columns: the products the user may promote
#: (anchor in a video, pin in a LIVE, put on a showcase) besides their own shops' (affiliate plans).
PromotionRule = Callable[[int, datetime], "ColumnElement[bool]"]

_promotion_rules: list[PromotionRule] = []


def register_promotion_rule(rule: PromotionRule) -> PromotionRule:
    """Add a way to be allowed to promote another shop's product (the affiliate domain registers
    "active in a live plan covering it" at app start). Idempotent. With none registered a user
    promotes only the products of shops they belong to."""
    if rule not in _promotion_rules:
        _promotion_rules.append(rule)
    return rule


def promotion_rules() -> list[PromotionRule]:
    return list(_promotion_rules)


# --- the Seller Center home's panels (analytics' "today") ----------------------------------------

ShopPanel = Callable[[AsyncSession, int, str], Awaitable[str]]

_shop_panels: list[ShopPanel] = []


def register_shop_panel(panel: ShopPanel) -> ShopPanel:
    """``panel(db, shop_id, currency)`` answers an HTML fragment (already escaped) that the Seller
    Center home shows under the shop's name — analytics shows today's figures. Idempotent."""
    if panel not in _shop_panels:
        _shop_panels.append(panel)
    return panel


async def shop_panels(db: AsyncSession, shop_id: int, currency: str) -> list[str]:
    return [await panel(db, shop_id, currency) for panel in _shop_panels]
