"""The seam between the catalog and the domains that add to a product's page (orders' reviews).

The catalog never imports those domains (they depend on the catalog): they register a provider
here at import time, and the product page asks it. With none registered the page shows no
reviews, which keeps the catalog usable on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


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
