"""The Shop Tab: browsing, search, sorting and cursor pagination (service layer)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import repository as repo
from mercato.catalog.errors import CatalogError
from mercato.catalog.models import Brand, Category, Shop
from mercato.catalog.presenters import product_cards
from mercato.catalog.schemas import ProductCard
from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import decode_cursor, encode_cursor

SORTS = ("relevance", "newest", "price_asc", "price_desc", "rating", "popular", "saved")


@dataclass
class BrowseParams:
    q: str | None = None
    category: str | None = None  # slug
    brand: str | None = None  # slug
    shop: str | None = None  # slug
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    sort: str | None = None
    cursor: str | None = None
    limit: int = 24


@dataclass
class BrowseResult:
    items: list[ProductCard]
    next_cursor: str | None
    sort: str
    category: Category | None = None
    brand: Brand | None = None
    shop: Shop | None = None
    unknown_filter: bool = False
    facets: dict[str, list[object]] = field(default_factory=dict)
    # (product id, version) of the rows the cards were built from: the key of shared page bodies.
    versions: list[tuple[int, int]] = field(default_factory=list)


async def browse(
    db: AsyncSession, params: BrowseParams, *, dialect: str, statuses: tuple[str, ...] = ("active",),
    favourites_of: int | None = None, shop_id: int | None = None,
) -> BrowseResult:
    """One page of the Shop Tab. An unknown category/brand/shop slug gives an empty page, not an error."""
    if params.sort is not None and params.sort not in SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(SORTS)}.", code=CatalogError.INVALID_SORT,
                               details={"field": "sort"})
    q = (params.q or "").strip()[:200] or None
    sort = params.sort or ("relevance" if q else "newest")
    if sort == "relevance" and not q:
        sort = "newest"
    if params.min_price is not None and params.max_price is not None and params.min_price > params.max_price:
        raise ValidationFailed("min_price is above max_price.", code=CatalogError.INVALID_PRICE_RANGE)
    query = repo.ProductQuery(
        q=q, statuses=statuses, min_price=params.min_price, max_price=params.max_price,
        in_stock=params.in_stock, favourites_of=favourites_of, sort=sort, cursor=decode_cursor(params.cursor),
        limit=params.limit, shop_id=shop_id,
    )
    result = BrowseResult(items=[], next_cursor=None, sort=sort)
    if params.category:
        result.category = await repo.category_by_slug(db, params.category)
        query.category = result.category
        result.unknown_filter |= result.category is None
    if params.brand:
        result.brand = await repo.brand_by_slug(db, params.brand)
        query.brand_id = result.brand.id if result.brand else None
        result.unknown_filter |= result.brand is None
    if params.shop:
        result.shop = await repo.shop_by_slug(db, params.shop)
        query.shop_id = result.shop.id if result.shop else None
        result.unknown_filter |= result.shop is None
    if result.unknown_filter:
        return result
    rows, nxt = await repo.search_products(db, query, dialect)
    result.items = await product_cards(db, rows)
    result.versions = [(p.id, p.version) for p in rows]
    result.next_cursor = encode_cursor(nxt) if nxt else None
    return result


@dataclass
class CategoryMenu:
    """Top-level categories that hold active products, each with its used subcategories."""

    root: Category
    children: list[Category]


async def category_menu(db: AsyncSession) -> list[CategoryMenu]:
    by_path = {c.path: c for c in await repo.all_categories(db)}
    menu: dict[int, CategoryMenu] = {}
    for category in await repo.used_categories(db):
        root = by_path.get(category.path.split(" > ")[0])
        if root is None:
            continue
        entry = menu.setdefault(root.id, CategoryMenu(root=root, children=[]))
        if category.id != root.id:
            entry.children.append(category)
    return sorted(menu.values(), key=lambda m: m.root.name)
