"""The two marketplaces (docs/affiliate.md, "Marketplace").

- **Creators, for sellers**: adult-or-not is not shown; creators (``is_creator``) with at least
  the follower minimum, by niche (one of their niche tags), followers, region of their audience;
  each with the GMV they drove in the shop's currency (``touch.gmv_of``: 0 until the commissions
  side registers its source) and their audience: followers by age band (from followers' dates of
  birth) and by country (from followers' address books). Sorted by followers or GMV, over the
  ``CANDIDATES`` most followed matches.
- **Products, for creators**: the active products of open, live plans, by category, commission,
  price, title words; sorted by commission, price, units sold or newest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import presenters, touch
from mercato.affiliate import repository as repo
from mercato.catalog import presenters as catalog_presenters
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.content.presenters import creator_out
from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import decode_cursor, encode_cursor

CANDIDATES = 500
AGE_BANDS = ((18, "under 18"), (25, "18-24"), (35, "25-34"), (45, "35-44"))  # the last band: "45+"


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def age_cutoffs(today: date) -> list[tuple[str, date]]:
    """(band, born after this date) from the youngest band; older than the last: "45+"."""
    return [(band, _years_ago(today, years)) for years, band in AGE_BANDS]


async def find_creators(db: AsyncSession, shop: Shop, settings: Settings, *, niche: str | None,
                        min_followers: int | None, region: str | None, sort: str, cursor: str | None,
                        limit: int) -> tuple[list[dict[str, Any]], str | None]:
    decoded = decode_cursor(cursor, (int,))
    offset = decoded[0] if decoded else 0
    floor = max(settings.affiliate_min_followers, min_followers or 0)
    found = await repo.find_creators(db, niche=niche, min_followers=floor, region=region, exclude_shop_id=shop.id,
                                     limit=CANDIDATES)
    gmv = await touch.gmv_of(db, [u.id for u in found], shop.currency)
    if sort == "gmv":
        found.sort(key=lambda u: (-gmv[u.id], -u.followers_count, u.id))
    page = found[offset:offset + limit]
    ids = [u.id for u in page]
    cutoffs = age_cutoffs(datetime.now(UTC).date())
    bands = await repo.follower_age_bands(db, ids, [(band, born) for band, born in cutoffs])
    regions = await repo.follower_regions(db, ids)
    items = [{"creator": creator_out(u), "niche_tags": list(u.niche_tags or []), "gmv": gmv[u.id],
              "currency": shop.currency, "audience": {"age_bands": bands[u.id], "regions": regions[u.id]}}
             for u in page]
    more = offset + limit < len(found)
    return items, encode_cursor([offset + limit]) if more else None


SORTS = ("commission", "price", "sold", "newest")


async def find_products(db: AsyncSession, viewer_id: int | None, *, category: str | None,
                        min_rate_bps: int | None, min_price: int | None, max_price: int | None, q: str | None,
                        sort: str, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    decoded = decode_cursor(cursor, (int,))
    offset = decoded[0] if decoded else 0
    path = None
    if category:
        path = await repo.category_paths(db, category)
        if path is None:
            raise ValidationFailed("No such category.", details={"field": "category"})
    rows = await repo.find_plan_products(db, now=datetime.now(UTC), category_path=path, min_rate_bps=min_rate_bps,
                                         min_price=min_price, max_price=max_price, q=q, sort=sort, offset=offset,
                                         limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    cards = await catalog_presenters.product_cards(db, [p for p, _ in rows])
    plan_bodies = {b["id"]: b for b in await presenters.plan_outs(db, list({pl.id: pl for _, pl in rows}.values()),
                                                                  viewer_id)}
    items = [{"product": card, "plan": plan_bodies[plan.id]} for card, (_p, plan) in zip(cards, rows, strict=True)]
    return items, encode_cursor([offset + limit]) if more else None
