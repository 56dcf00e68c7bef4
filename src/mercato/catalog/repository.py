"""Every query of the catalog domain, including full-text search on both databases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, literal_column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.catalog import hooks
from mercato.catalog.models import (
    Brand,
    Category,
    Favourite,
    ImportRun,
    Product,
    ProductImage,
    Shop,
    ShopMember,
    Variant,
    VariantPrice,
)
from mercato.kit.pagination import cursor_datetime, cursor_int
from mercato.kit.sql.committed import CommittedReads
from mercato.kit.sql.transaction import InTransaction

WORD_RE = re.compile(r"\w+", re.UNICODE)


async def shop_by_slug(db: AsyncSession, slug: str) -> Shop | None:
    return (await db.execute(select(Shop).where(Shop.slug == slug.lower()))).scalar_one_or_none()


async def membership(db: AsyncSession, shop_id: int, user_id: int) -> ShopMember | None:
    return await db.get(ShopMember, (shop_id, user_id))


async def shops_of_user(db: AsyncSession, user_id: int) -> list[tuple[Shop, str]]:
    stmt = (
        select(Shop, ShopMember.role)
        .join(ShopMember, ShopMember.shop_id == Shop.id)
        .where(ShopMember.user_id == user_id)
        .order_by(Shop.name)
    )
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


async def list_shops(db: AsyncSession, limit: int, after_id: int | None) -> list[Shop]:
    stmt = select(Shop).order_by(Shop.id).limit(limit + 1)
    if after_id is not None:
        stmt = stmt.where(Shop.id > after_id)
    return list((await db.execute(stmt)).scalars())


async def shop_members(db: AsyncSession, shop_id: int) -> list[ShopMember]:
    stmt = select(ShopMember).where(ShopMember.shop_id == shop_id).order_by(ShopMember.created_at)
    return list((await db.execute(stmt)).scalars())


async def category_by_slug(db: AsyncSession, slug: str) -> Category | None:
    return (await db.execute(select(Category).where(Category.slug == slug))).scalar_one_or_none()


async def brand_by_slug(db: AsyncSession, slug: str) -> Brand | None:
    return (await db.execute(select(Brand).where(Brand.slug == slug))).scalar_one_or_none()


async def all_categories(db: AsyncSession) -> list[Category]:
    return list((await db.execute(select(Category).order_by(Category.path))).scalars())


async def used_brands(db: AsyncSession) -> list[Brand]:
    sub = select(Product.brand_id).where(Product.status == "active", Product.brand_id.is_not(None)).distinct()
    return list((await db.execute(select(Brand).where(Brand.id.in_(sub)).order_by(Brand.name))).scalars())


async def used_categories(db: AsyncSession) -> list[Category]:
    sub = select(Product.category_id).where(Product.status == "active", Product.category_id.is_not(None))
    stmt = select(Category).where(Category.id.in_(sub.distinct())).order_by(Category.path)
    return list((await db.execute(stmt)).scalars())


async def product(db: AsyncSession, product_id: int) -> Product | None:
    return await db.get(Product, product_id)


async def product_by_external(db: AsyncSession, shop_id: int, external_id: str) -> Product | None:
    stmt = select(Product).where(Product.shop_id == shop_id, Product.external_id == external_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def variants_of(db: AsyncSession, product_id: int) -> list[Variant]:
    stmt = select(Variant).where(Variant.product_id == product_id).order_by(Variant.position, Variant.id)
    return list((await db.execute(stmt)).scalars())


async def variant_by_sku(db: AsyncSession, shop_id: int, sku: str) -> Variant | None:
    stmt = select(Variant).where(Variant.shop_id == shop_id, Variant.sku == sku)
    return (await db.execute(stmt)).scalar_one_or_none()


async def images_of(db: AsyncSession, product_id: int) -> list[ProductImage]:
    stmt = select(ProductImage).where(ProductImage.product_id == product_id).order_by(
        ProductImage.position, ProductImage.id
    )
    return list((await db.execute(stmt)).scalars())


_IMAGES_OF_PRODUCTS_SQL = (f"SELECT {InTransaction.columns(ProductImage, 'i')} FROM product_images i "  # noqa: S608 (columns)
                           "WHERE i.product_id IN :ids ORDER BY i.product_id, i.position, i.id")


async def first_images(db: AsyncSession, product_ids: Sequence[int]) -> dict[int, ProductImage]:
    """The cover image of each product (lowest position), in one query."""
    if not product_ids:
        return {}
    covers: dict[int, ProductImage] = {}
    for image in await InTransaction.of(db).load_all(ProductImage, _IMAGES_OF_PRODUCTS_SQL, {"ids": list(product_ids)},
                                             attach=False):
        covers.setdefault(image.product_id, image)
    return covers



async def shops_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, Shop]:
    if not ids:
        return {}
    return {s.id: s for s in (await db.execute(select(Shop).where(Shop.id.in_(set(ids))))).scalars()}


async def favourite_ids(db: AsyncSession, user_id: int, product_ids: Sequence[int]) -> set[int]:
    if not product_ids:
        return set()
    stmt = select(Favourite.product_id).where(Favourite.user_id == user_id, Favourite.product_id.in_(product_ids))
    return set((await db.execute(stmt)).scalars())


async def add_favourite(db: AsyncSession, user_id: int, product_id: int) -> bool:
    if await db.get(Favourite, (user_id, product_id)) is not None:
        return False
    db.add(Favourite(user_id=user_id, product_id=product_id))
    await db.flush()
    await db.execute(
        update(Product).where(Product.id == product_id).values(favourites_count=Product.favourites_count + 1)
    )
    return True


async def remove_favourite(db: AsyncSession, user_id: int, product_id: int) -> bool:
    result = await db.execute(
        delete(Favourite).where(Favourite.user_id == user_id, Favourite.product_id == product_id)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await db.execute(
            update(Product).where(Product.id == product_id).values(favourites_count=Product.favourites_count - 1)
        )
        return True
    return False


async def recount_shop_products(db: AsyncSession, shop_id: int) -> None:
    count = select(func.count()).select_from(Product).where(Product.shop_id == shop_id, Product.status == "active")
    await db.execute(update(Shop).where(Shop.id == shop_id).values(product_count=count.scalar_subquery())
                     .execution_options(synchronize_session=False))


async def import_runs(db: AsyncSession, shop_id: int, limit: int = 20) -> list[ImportRun]:
    stmt = select(ImportRun).where(ImportRun.shop_id == shop_id).order_by(ImportRun.id.desc()).limit(limit)
    return list((await db.execute(stmt)).scalars())


# --- listing and search -------------------------------------------------------------------


@dataclass
class ProductQuery:
    q: str | None = None
    category: Category | None = None
    brand_id: int | None = None
    shop_id: int | None = None
    statuses: tuple[str, ...] = ("active",)
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    favourites_of: int | None = None
    sort: str = "newest"
    cursor: list[Any] | None = None
    limit: int = 24


def search_terms(q: str) -> list[str]:
    return [w.lower() for w in WORD_RE.findall(q)][:12]


def _fts_match(terms: list[str]) -> str:
    return " ".join(f'"{t}"*' for t in terms)


def _ts_query(terms: list[str]) -> str:
    return " & ".join(f"{t}:*" for t in terms)


_SORTS: dict[str, tuple[Any, bool]] = {
    # name: (column, descending)
    "newest": (Product.created_at, True),
    "price_asc": (Product.min_price, False),
    "price_desc": (Product.min_price, True),
    "rating": (Product.rating_avg, True),
    "popular": (Product.sold_count, True),
    "saved": (Product.favourites_count, True),
}


def _keyset(column: Any, descending: bool, value: Any, last_id: int) -> ColumnElement[bool]:
    if descending:
        return or_(column < value, and_(column == value, Product.id < last_id))
    return or_(column > value, and_(column == value, Product.id > last_id))


async def search_products(
    db: AsyncSession, query: ProductQuery, dialect: str
) -> tuple[list[Product], list[Any] | None]:
    """One page of products and the cursor values of the next page (or ``None``)."""
    stmt: Select[Any] = select(Product).where(Product.status.in_(query.statuses))
    rank: Any = None
    terms = search_terms(query.q) if query.q else []
    if query.q and not terms:
        return [], None
    if terms:
        if dialect == "sqlite":
            fts = (
                select(
                    literal_column("rowid").label("pid"),
                    literal_column("bm25(product_fts, 8.0, 1.0)").label("rank"),
                )
                .select_from(text("product_fts"))
                .where(text("product_fts MATCH :match").bindparams(match=_fts_match(terms)))
                .subquery()
            )
            stmt = stmt.join(fts, fts.c.pid == Product.id)
            rank = fts.c.rank  # lower is better
        else:
            tsq = func.to_tsquery("simple", _ts_query(terms))
            vector: Any = literal_column("products.search_vector")
            stmt = stmt.where(vector.op("@@")(tsq))
            rank = -func.ts_rank(vector, tsq)  # lower is better, like bm25
    if query.category is not None:
        sub = select(Category.id).where(
            or_(Category.id == query.category.id, Category.path.like(f"{query.category.path} > %"))
        )
        stmt = stmt.where(Product.category_id.in_(sub))
    if query.brand_id is not None:
        stmt = stmt.where(Product.brand_id == query.brand_id)
    if query.shop_id is not None:
        stmt = stmt.where(Product.shop_id == query.shop_id)
    if query.min_price is not None:
        stmt = stmt.where(Product.min_price >= query.min_price)
    if query.max_price is not None:
        stmt = stmt.where(Product.min_price <= query.max_price)
    if query.in_stock:
        stmt = stmt.where(Product.total_stock > 0)
    if query.favourites_of is not None:
        stmt = stmt.join(Favourite, and_(Favourite.product_id == Product.id, Favourite.user_id == query.favourites_of))

    sort = query.sort if query.sort in _SORTS or (query.sort == "relevance" and rank is not None) else "newest"
    if sort == "relevance":
        paged = query.cursor if query.cursor and len(query.cursor) == 2 and query.cursor[0] == "o" else None
        offset = cursor_int(paged[1], maximum=10**6) if paged else 0
        stmt = stmt.order_by(rank, Product.id).offset(offset).limit(query.limit + 1)
        rows = list((await db.execute(stmt)).scalars())
        nxt = ["o", offset + query.limit] if len(rows) > query.limit else None
        return rows[: query.limit], nxt

    column, descending = _SORTS[sort]
    if query.cursor and len(query.cursor) == 3 and query.cursor[0] == sort:
        value: Any = cursor_datetime(query.cursor[1]) if sort == "newest" else cursor_int(query.cursor[1])
        stmt = stmt.where(_keyset(column, descending, value, cursor_int(query.cursor[2])))
    order = (column.desc(), Product.id.desc()) if descending else (column.asc(), Product.id.asc())
    stmt = stmt.order_by(*order).limit(query.limit + 1)
    rows = list((await db.execute(stmt)).scalars())
    nxt_cursor: list[Any] | None = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        last_value = getattr(last, column.key)
        nxt_cursor = [sort, last_value.isoformat() if isinstance(last_value, datetime) else last_value, last.id]
    return rows[: query.limit], nxt_cursor


async def count_products(db: AsyncSession, shop_id: int, status: str | None = None) -> int:
    stmt = select(func.count()).select_from(Product).where(Product.shop_id == shop_id)
    if status:
        stmt = stmt.where(Product.status == status)
    return int((await db.execute(stmt)).scalar_one())


async def categories_by_slugs(db: AsyncSession, slugs: Sequence[str]) -> list[Category]:
    return list((await db.execute(select(Category).where(Category.slug.in_(slugs)))).scalars())


# --- reads and writes other domains need (through these functions only) -------------------

#: A variant with its product and shop as a buying line needs them (orders' cart and checkout
#: compose these into their statements, so that a purchase stays one joined read).
PURCHASE_LINE_COLUMNS = (
    "variants.id, variants.product_id, variants.price, variants.currency, variants.title, variants.sku, "
    "variants.stock, variants.reserved, variants.allocated, products.title, products.status, products.shop_id, "
    "shops.slug, shops.name, shops.currency, shops.shipping_fee, shops.free_shipping_above"
)
PURCHASE_LINE_JOIN = "JOIN products ON products.id = variants.product_id JOIN shops ON shops.id = products.shop_id"
#: The flash-sale gate's facts of ``:variant_id`` (availability, titles, product status, creation
#: time), as LEFT JOINs another domain's single gate statement adds (no row: NULLs).
GATE_VARIANT_COLUMNS = "v.stock - v.reserved - v.allocated AS available, v.title, p.title, p.status, v.created_at"
GATE_VARIANT_JOIN = "LEFT JOIN variants v ON v.id = :variant_id LEFT JOIN products p ON p.id = v.product_id"
#: Scalar subqueries of a shop ``:shop``: its name, and its owner's user id.
SHOP_NAME_SQL = "(SELECT name FROM shops WHERE id = :shop)"
SHOP_OWNER_SQL = ("(SELECT user_id FROM shop_members WHERE shop_id = :shop AND role = 'owner' "
                  "ORDER BY user_id LIMIT 1)")

#: A scalar subquery: the version of the product of variant ``variant_sql`` (an SQL expression),
#: bumped by the database on every change a product body shows (migration 0014).
def product_version_of_variant_sql(variant_sql: str) -> str:
    return (f"(SELECT p.version FROM variants v JOIN products p ON p.id = v.product_id "  # noqa: S608
            f"WHERE v.id = {variant_sql})")


_SHOP_SNAPSHOTS_SQL = f"SELECT {InTransaction.columns(Shop, 's')} FROM shops s WHERE s.id IN :ids"  # noqa: S608
_SOLD_SQL = "UPDATE products SET sold_count = sold_count + :q, updated_at = :now WHERE id = :id"
_PRODUCT_SHOP_SQL = "SELECT shop_id FROM products WHERE id = :id"


async def purchase_line(db: AsyncSession, variant_id: int) -> Sequence[Any] | None:
    """The :data:`PURCHASE_LINE_COLUMNS` of one variant (one plain joined statement)."""
    return await InTransaction.of(db).first(
        f"SELECT {PURCHASE_LINE_COLUMNS} FROM variants {PURCHASE_LINE_JOIN} WHERE variants.id = :id",  # noqa: S608
        {"id": variant_id})


async def shop_snapshots(db: AsyncSession, ids: Sequence[int]) -> dict[int, Shop]:
    """Shops as detached read-only objects (one plain statement; not added to the session)."""
    if not ids:
        return {}
    shops = await InTransaction.of(db).load_all(Shop, _SHOP_SNAPSHOTS_SQL, {"ids": sorted(set(ids))}, attach=False)
    return {shop.id: shop for shop in shops}


async def add_sold_counts(db: AsyncSession, sold: dict[int, int], now: datetime) -> None:
    """``products.sold_count`` grows by the units sold (one executemany, rows in id order)."""
    await InTransaction.of(db).executemany(_SOLD_SQL, [{"q": q, "now": now, "id": product_id}
                                                       for product_id, q in sorted(sold.items())])


async def product_shop_id(db: AsyncSession, product_id: int) -> int | None:
    found = await InTransaction.of(db).scalar(_PRODUCT_SHOP_SQL, {"id": product_id})
    return None if found is None else int(found)


async def set_product_rating(db: AsyncSession, product_id: int, rating_avg: int, rating_count: int) -> None:
    await db.execute(update(Product).where(Product.id == product_id)
                     .values(rating_avg=rating_avg, rating_count=rating_count))


async def set_shop_rating(db: AsyncSession, shop_id: int, rating_avg: int, rating_count: int) -> None:
    await db.execute(update(Shop).where(Shop.id == shop_id).values(rating_avg=rating_avg, rating_count=rating_count))


def shop_product_ids(shop_id: int) -> Select[Any]:
    """The ids of the shop's products, as a subquery for another domain's statement."""
    return select(Product.id).where(Product.shop_id == shop_id)


_PRODUCT_AVAILABLE_SQL = (
    "UPDATE products SET total_stock = total_stock + :delta, updated_at = :now "
    "WHERE id = (SELECT product_id FROM variants WHERE id = :variant) RETURNING id, total_stock"
)


async def add_total_stock(db: AsyncSession, variant_id: int, delta: int, now: datetime) -> None:
    """Move the variant's product's ``total_stock`` by ``delta`` (one plain statement; a loaded
    ``Product`` is kept current)."""
    raw = InTransaction.of(db)
    row = await raw.first(_PRODUCT_AVAILABLE_SQL, {"delta": delta, "now": now, "variant": variant_id})
    if row is not None:
        raw.sync(Product, row[0], total_stock=row[1])


# --- price history -------------------------------------------------------------------------


async def latest_prices(db: AsyncSession, variant_ids: Sequence[int]) -> dict[int, int]:
    """The last recorded price of each of these variants (those with a history)."""
    if not variant_ids:
        return {}
    newest = (select(func.max(VariantPrice.id)).where(VariantPrice.variant_id.in_(variant_ids))
              .group_by(VariantPrice.variant_id))
    rows = await db.execute(select(VariantPrice.variant_id, VariantPrice.price).where(VariantPrice.id.in_(newest)))
    return {int(variant_id): int(price) for variant_id, price in rows}


async def add_prices(db: AsyncSession, prices: Sequence[tuple[int, int]], now: datetime) -> None:
    """Record ``(variant id, price)`` pairs as the prices from ``now`` on (one executemany)."""
    if prices:
        await db.execute(insert(VariantPrice), [{"variant_id": variant_id, "price": price, "recorded_at": now}
                                                for variant_id, price in prices])


async def lowest_price_since(db: AsyncSession, variant_id: int, since: datetime) -> int | None:
    """The lowest price the variant had at any moment from ``since`` on: the prices recorded
    since then and the one in effect at ``since`` (the last recorded before it); ``None``
    without any history."""
    in_effect = (select(VariantPrice.price).where(VariantPrice.variant_id == variant_id,
                                                  VariantPrice.recorded_at <= since)
                 .order_by(VariantPrice.recorded_at.desc(), VariantPrice.id.desc()).limit(1)).scalar_subquery()
    since_then = (select(func.min(VariantPrice.price))
                  .where(VariantPrice.variant_id == variant_id, VariantPrice.recorded_at > since)).scalar_subquery()
    row = (await db.execute(select(in_effect, since_then))).one()
    found = [int(price) for price in row if price is not None]
    return min(found) if found else None


# --- the signed-in read path's checks (catalog/read_cache.py), on the committed-read path ----

_PRODUCT_FACTS_SQL = (
    "SELECT s.user_id, p.status, p.version, "  # noqa: S608 (fragments, no input)
    "EXISTS (SELECT 1 FROM favourites f WHERE f.user_id = s.user_id AND f.product_id = :product), "
    "EXISTS (SELECT 1 FROM shop_members m WHERE m.shop_id = p.shop_id AND m.user_id = s.user_id), "
    "u.display_name, u.avatar_path "
    f"FROM {accounts_repo.LIVE_SESSION_FROM} LEFT JOIN products p ON p.id = :product "
    f"WHERE {accounts_repo.LIVE_SESSION_WHERE}"
)
_LISTING_VERSIONS_SQL = "SELECT id, version FROM products WHERE id IN :ids AND status = 'active'"


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What a signed-in product read needs before its body: who reads (and what a page header
    shows of them), the product's status and version, and whether this reader favourited it and
    is a member of its shop (``status`` ``None``: no such product)."""

    user_id: int
    status: str | None
    version: int
    favourited: bool
    is_member: bool
    display_name: str
    avatar_path: str | None


async def product_facts(reads: CommittedReads, digest: str, now: datetime, product_id: int) -> ProductFacts | None:
    """One statement: the live session of ``digest`` and product ``product_id``'s facts for that
    reader; ``None`` when the session is not live (the route then answers as it would)."""
    rows = await reads.rows(_PRODUCT_FACTS_SQL, {"digest": digest, "now": now, "product": product_id})
    if not rows:
        return None
    user_id, status, version, favourited, is_member, display_name, avatar_path = rows[0]
    return ProductFacts(int(user_id), status, int(version or 0), bool(favourited), bool(is_member), display_name,
                        avatar_path)


async def listing_versions(reads: CommittedReads, ids: Sequence[int]) -> dict[int, int]:
    """One statement: the current version of each of the active products ``ids`` (a product no
    longer active is missing). A listing page is the same for every reader, so no session."""
    rows = await reads.rows(_LISTING_VERSIONS_SQL, {"ids": list(ids)})
    return {int(row[0]): int(row[1]) for row in rows}


_SELLER_PAGE_FACTS_SQL = (
    "SELECT s.user_id, u.display_name, u.avatar_path, m.role, sh.updated_at, "  # noqa: S608 (fragments)
    "(SELECT count(*) FROM products p WHERE p.shop_id = sh.id), "
    "(SELECT coalesce(sum(p.version), 0) FROM products p WHERE p.shop_id = sh.id) "
    f"FROM {accounts_repo.LIVE_SESSION_FROM} JOIN shops sh ON sh.slug = :slug "
    "LEFT JOIN shop_members m ON m.shop_id = sh.id AND m.user_id = s.user_id "
    f"WHERE {accounts_repo.LIVE_SESSION_WHERE}"
)


@dataclass(frozen=True, slots=True)
class SellerPageFacts:
    """The reader of a Seller Center products page and what tells whether the page changed:
    the shop's own row (``updated_at``) and its products (how many, the sum of their versions:
    versions only grow, so any product added, edited, re-stocked or moved between statuses
    changes it)."""

    user_id: int
    display_name: str
    avatar_path: str | None
    role: str | None
    fingerprint: tuple[str, int, int]


async def seller_page_facts(reads: CommittedReads, digest: str, now: datetime, slug: str) -> SellerPageFacts | None:
    """One statement: the live session of ``digest``, its role in shop ``slug`` and the shop's
    fingerprint; ``None`` when the session is not live or there is no such shop."""
    rows = await reads.rows(_SELLER_PAGE_FACTS_SQL, {"digest": digest, "now": now, "slug": slug})
    if not rows:
        return None
    user_id, display_name, avatar_path, role, updated_at, count, total = rows[0]
    return SellerPageFacts(int(user_id), display_name, avatar_path, role, (str(updated_at), int(count), int(total)))


# --- who may promote a product (video anchors, LIVE pins, showcases) ---------------------------


def promotable_clause(user_id: int, now: datetime) -> ColumnElement[bool]:
    """Products of a shop the user belongs to, or allowed by a registered promotion rule
    (``hooks.register_promotion_rule``: affiliate plans)."""
    member = select(ShopMember.shop_id).where(ShopMember.user_id == user_id)
    return or_(Product.shop_id.in_(member), *[rule(user_id, now) for rule in hooks.promotion_rules()])


async def promotable_ids(db: AsyncSession, user_id: int, product_ids: Sequence[int], now: datetime) -> set[int]:
    """Of ``product_ids``, those the user may promote (whatever their status)."""
    if not product_ids:
        return set()
    stmt = select(Product.id).where(Product.id.in_(set(product_ids)), promotable_clause(user_id, now))
    return {int(r) for r in (await db.execute(stmt)).scalars()}
