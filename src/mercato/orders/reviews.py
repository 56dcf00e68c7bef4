"""Reviews of delivered items: 1–5 stars within 60 days of delivery, once per order line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.accounts.models import User
from mercato.catalog import hooks as catalog_hooks
from mercato.catalog import products as catalog_products
from mercato.config import Settings
from mercato.kit.errors import Conflict, NotFound
from mercato.orders import repository
from mercato.orders.errors import OrdersError
from mercato.orders.models import Order, Review


async def review_line(db: AsyncSession, user: User, order: Order, line_id: int, rating: int, text: str,
                      settings: Settings) -> Review:
    line = await repository.order_line(db, line_id)
    if line is None or line.order_id != order.id:
        raise NotFound("No such item in this order.")
    if order.status not in ("delivered", "completed") or order.delivered_at is None:
        raise Conflict("You can review an item once it is delivered.", code=OrdersError.NOT_DELIVERED)
    if datetime.now(UTC) - order.delivered_at > timedelta(days=settings.review_window_days):
        raise Conflict(f"Reviews close {settings.review_window_days} days after delivery.",
                       code=OrdersError.REVIEW_WINDOW_PASSED)
    review = Review(order_line_id=line.id, product_id=line.product_id, user_id=user.id, rating=rating,
                    text=text.strip())
    try:
        async with db.begin_nested():
            db.add(review)
    except IntegrityError as exc:
        raise Conflict("You already reviewed this item.", code=OrdersError.ALREADY_REVIEWED) from exc
    await _refresh_ratings(db, line.product_id)
    return review


async def _refresh_ratings(db: AsyncSession, product_id: int) -> None:
    """The product's and its shop's ratings, recomputed from the reviews and stored by the catalog."""
    mean, count = await repository.review_stats_of_product(db, product_id)
    shop_id = await catalog_products.record_product_rating(db, product_id, mean, count)
    if shop_id is not None:
        await catalog_products.record_shop_rating(db, shop_id, *await repository.review_stats_of_shop(db, shop_id))


async def reviews_of_product(db: AsyncSession, product_id: int, limit: int = 20) -> list[tuple[Review, str]]:
    """The newest reviews with their authors' names (a review whose author is gone is left out,
    as the join did before)."""
    found = await repository.reviews_of_product(db, product_id, limit)
    names = await accounts_repo.display_names(db, [review.user_id for review in found])
    return [(review, names[review.user_id]) for review in found if review.user_id in names]


async def reviewed_line_ids(db: AsyncSession, line_ids: list[int]) -> set[int]:
    return await repository.reviewed_line_ids(db, line_ids)


async def _shown_reviews(db: AsyncSession, product_id: int, limit: int) -> list[tuple[catalog_hooks.ShownReview, str]]:
    return list(await reviews_of_product(db, product_id, limit))


# The product page (catalog) shows reviews through the catalog's hook: the catalog never
# imports orders. Registering is idempotent; importing this module is enough.
catalog_hooks.register_reviews(_shown_reviews)
