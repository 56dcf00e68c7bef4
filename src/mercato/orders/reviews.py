"""Reviews of delivered items: 1–5 stars within 60 days of delivery, once per order line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Product, Shop
from mercato.config import Settings
from mercato.kit.errors import Conflict, NotFound
from mercato.orders.models import Order, OrderLine, Review


async def review_line(db: AsyncSession, user: User, order: Order, line_id: int, rating: int, text: str,
                      settings: Settings) -> Review:
    line = await db.get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise NotFound("No such item in this order.")
    if order.status not in ("delivered", "completed") or order.delivered_at is None:
        raise Conflict("You can review an item once it is delivered.", code="not_delivered")
    if datetime.now(UTC) - order.delivered_at > timedelta(days=settings.review_window_days):
        raise Conflict(f"Reviews close {settings.review_window_days} days after delivery.",
                       code="review_window_passed")
    review = Review(order_line_id=line.id, product_id=line.product_id, user_id=user.id, rating=rating,
                    text=text.strip())
    try:
        async with db.begin_nested():
            db.add(review)
    except IntegrityError as exc:
        raise Conflict("You already reviewed this item.", code="already_reviewed") from exc
    await _refresh_ratings(db, line.product_id)
    return review


async def _refresh_ratings(db: AsyncSession, product_id: int) -> None:
    """Ratings are stored in hundredths of a star, recomputed from the reviews."""
    avg, count = (await db.execute(select(func.avg(Review.rating), func.count())
                                   .where(Review.product_id == product_id))).one()
    await db.execute(update(Product).where(Product.id == product_id)
                     .values(rating_avg=round(float(avg or 0) * 100), rating_count=int(count)))
    shop_id = (await db.execute(select(Product.shop_id).where(Product.id == product_id))).scalar_one()
    s_avg, s_count = (await db.execute(select(func.avg(Review.rating), func.count()).join(
        Product, Product.id == Review.product_id).where(Product.shop_id == shop_id))).one()
    await db.execute(update(Shop).where(Shop.id == shop_id)
                     .values(rating_avg=round(float(s_avg or 0) * 100), rating_count=int(s_count)))


async def reviews_of_product(db: AsyncSession, product_id: int, limit: int = 20) -> list[tuple[Review, str]]:
    stmt = (select(Review, User.display_name).join(User, User.id == Review.user_id)
            .where(Review.product_id == product_id).order_by(Review.id.desc()).limit(limit))
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


async def reviewed_line_ids(db: AsyncSession, line_ids: list[int]) -> set[int]:
    if not line_ids:
        return set()
    return set((await db.execute(select(Review.order_line_id).where(Review.order_line_id.in_(line_ids)))).scalars())
