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
