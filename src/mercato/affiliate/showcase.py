"""A creator's showcase (docs/affiliate.md, "Showcase"): up to ``affiliate_showcase_max`` (2,000)
products they may promote, in their order, shown as a shop-like grid at ``/@handle/showcase``.
Only products the creator may still promote are shown (``catalog_repository.promotable_clause``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.affiliate import plans
from mercato.affiliate import repository as repo
from mercato.affiliate.errors import AffiliateError
from mercato.affiliate.models import ShowcaseItem
from mercato.catalog.models import Product
from mercato.config import Settings
from mercato.kit.errors import Conflict, Forbidden, NotFound
from mercato.kit.pagination import decode_cursor, encode_cursor


async def add(db: AsyncSession, user: User, product_id: int, settings: Settings) -> ShowcaseItem:
    """Add a product at the end (idempotent); 403 ``product_not_promotable`` (no shop of theirs,
    no plan), 409 ``showcase_full``."""
    if not await plans.may_promote(db, user.id, product_id):
        raise Forbidden("Only products of your shop or of an affiliate plan you are in can be showcased.",
                        code=AffiliateError.NOT_PROMOTABLE, details={"product_id": product_id})
    found = await repo.showcase_item(db, user.id, product_id)
    if found is not None:
        return found
    if await repo.showcase_count(db, user.id) >= settings.affiliate_showcase_max:
        raise Conflict(f"A showcase holds at most {settings.affiliate_showcase_max:,} products.",
                       code=AffiliateError.SHOWCASE_FULL, details={"max": settings.affiliate_showcase_max})
    item = ShowcaseItem(creator_id=user.id, product_id=product_id,
                        position=await repo.showcase_last_position(db, user.id) + 1, added_at=datetime.now(UTC))
    await repo.add(db, item)
    return item


async def remove(db: AsyncSession, user: User, product_id: int) -> None:
    if not await repo.remove_showcase_item(db, user.id, product_id):
        raise NotFound("This product is not on your showcase.", code=AffiliateError.NOT_ON_SHOWCASE)


async def page(db: AsyncSession, creator_id: int, cursor: str | None,
               limit: int) -> tuple[list[Product], str | None]:
    decoded = decode_cursor(cursor, (int, int))
    rows = await repo.showcase_products(db, creator_id, datetime.now(UTC), limit + 1,
                                        (decoded[0], decoded[1]) if decoded else None)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1][0].position, rows[-1][0].product_id]) if more and rows else None
    return [product for _item, product in rows], next_cursor
