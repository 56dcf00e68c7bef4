"""Use cases of products, variants, images, categories, brands and favourites (service layer)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as repo
from mercato.catalog.errors import CatalogError
from mercato.catalog.models import Brand, Category, Product, ProductImage, Shop, Variant
from mercato.catalog.schemas import ProductIn, ProductUpdate, VariantIn, VariantUpdate
from mercato.config import Settings
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mercato.kit.images import store_image
from mercato.web.text import plain_text


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:120] or "item"


def variant_title(options: dict[str, str]) -> str:
    return " / ".join(options.values()) if options else "Default"


async def category_for_path(db: AsyncSession, path: str | Sequence[str] | None) -> Category | None:
    """Find or create every level of ``"Clothing > Tshirts"``."""
    if path is None:
        return None
    names = [p.strip() for p in (path.split(">") if isinstance(path, str) else path) if p.strip()]
    if not names:
        return None
    parent: Category | None = None
    for depth in range(len(names)):
        full = " > ".join(names[: depth + 1])
        slug = "--".join(slugify(n) for n in names[: depth + 1])[:200]
        found = await repo.category_by_slug(db, slug)
        if found is None:
            found = Category(name=names[depth][:120], slug=slug, path=full[:500],
                             parent_id=parent.id if parent else None)
            db.add(found)
            await db.flush()
        parent = found
    return parent


async def brand_for_name(db: AsyncSession, name: str | None) -> Brand | None:
    if not name or not name.strip():
        return None
    slug = slugify(name)
    found = await repo.brand_by_slug(db, slug)
    if found is None:
        found = Brand(name=name.strip()[:120], slug=slug)
        db.add(found)
        await db.flush()
    return found


def clean_tags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        tag = tag.strip().lstrip("#")[:40]
        if tag and tag.lower() not in {t.lower() for t in out}:
            out.append(tag)
    return out[:30]


async def refresh_derived(db: AsyncSession, product: Product) -> None:
    """Recompute the denormalised columns the Shop Tab sorts and searches on, and record the
    variants' new prices in the price history (every create, edit and import of a product or a
    variant ends here, so this is the one place that sees every price written)."""
    variants = await repo.variants_of(db, product.id)
    await record_prices(db, variants)
    if variants:
        product.min_price = min(v.price for v in variants)
        compares = [v.compare_at_price for v in variants if v.compare_at_price and v.compare_at_price > v.price]
        product.max_compare_at_price = max(compares) if compares else None
        product.total_stock = sum(v.available for v in variants)
        names: list[str] = []
        for v in variants:
            for name in v.options:
                if name not in names:
                    names.append(name)
        product.option_names = names
    else:
        product.min_price, product.max_compare_at_price, product.total_stock = 0, None, 0
    brand = await db.get(Brand, product.brand_id) if product.brand_id else None
    category = await db.get(Category, product.category_id) if product.category_id else None
    words = [
        brand.name if brand else "",
        category.path.replace(">", " ") if category else "",
        " ".join(product.tags or []),
        " ".join(v.sku or "" for v in variants),
        plain_text(product.description)[:4000],
    ]
    # Stored as plain words: PostgreSQL's parser would read the SKU "SER-10" as "ser" and the number
    # "-10" (and "1.6MHz" as "1.6" + "mhz"), which the word-split query ("ser", "10") cannot match.
    product.search_text = " ".join(repo.WORD_RE.findall(" ".join(w for w in words if w)))
    await db.flush()


async def record_prices(db: AsyncSession, variants: Sequence[Variant]) -> None:
    """Add a price-history entry for each variant whose price differs from its last one."""
    known = await repo.latest_prices(db, [v.id for v in variants])
    changed = [(v.id, v.price) for v in variants if known.get(v.id) != v.price]
    await repo.add_prices(db, changed, utcnow())


async def lowest_price_30d(db: AsyncSession, variant: Variant, now: datetime) -> int:
    """The lowest price ``variant`` had at any moment of the last 30 days (its current price
    when it has no history: a variant older than the price history)."""
    lowest = await repo.lowest_price_since(db, variant.id, now - timedelta(days=30))
    return variant.price if lowest is None else min(lowest, variant.price)


async def _check_sku(db: AsyncSession, shop_id: int, sku: str | None, variant_id: int | None = None) -> None:
    if not sku:
        return
    existing = await repo.variant_by_sku(db, shop_id, sku)
    if existing is not None and existing.id != variant_id:
        raise Conflict(f"SKU {sku!r} is already used in this shop.",
                       code=CatalogError.SKU_TAKEN, details={"field": "sku"})


def _check_compare_at(price: int, compare_at: int | None) -> None:
    if compare_at is not None and compare_at <= price:
        raise ValidationFailed(
            "The compare-at price must be higher than the price.", code=CatalogError.COMPARE_AT_NOT_HIGHER,
            details={"field": "compare_at_price"},
        )


async def create_product(db: AsyncSession, shop: Shop, data: ProductIn) -> Product:
    product = Product(
        shop_id=shop.id, title=data.title, description=data.description, status=data.status,
        currency=shop.currency, tags=clean_tags(data.tags), attributes={}, option_names=[], image_urls=[],
        source="manual", open_to_creators=data.open_to_creators,
    )
    category = await category_for_path(db, data.category)
    brand = await brand_for_name(db, data.brand)
    product.category_id = category.id if category else None
    product.brand_id = brand.id if brand else None
    db.add(product)
    await db.flush()
    seen: set[str] = set()
    for position, v in enumerate(data.variants):
        if v.sku:
            if v.sku in seen:
                raise Conflict(f"SKU {v.sku!r} appears twice.", code=CatalogError.SKU_TAKEN, details={"field": "sku"})
            seen.add(v.sku)
        await _add_variant(db, shop, product, v, position)
    await refresh_derived(db, product)
    await repo.recount_shop_products(db, shop.id)
    return product


async def _add_variant(db: AsyncSession, shop: Shop, product: Product, v: VariantIn, position: int) -> Variant:
    _check_compare_at(v.price, v.compare_at_price)
    await _check_sku(db, shop.id, v.sku)
    variant = Variant(
        product_id=product.id, shop_id=shop.id, sku=v.sku or None, title=variant_title(v.options),
        options=v.options, price=v.price, compare_at_price=v.compare_at_price, currency=shop.currency,
        stock=v.stock, weight_grams=v.weight_grams, position=position,
    )
    db.add(variant)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict(f"SKU {v.sku!r} is already used in this shop.", code=CatalogError.SKU_TAKEN) from exc
    return variant


async def product_for_member(db: AsyncSession, user: User, product_id: int) -> tuple[Product, Shop]:
    """A product the caller may edit. Not a member: 404 for drafts (no leak), 403 otherwise."""
    product = await repo.product(db, product_id)
    if product is None:
        raise NotFound("No such product.")
    shop = await db.get(Shop, product.shop_id)
    assert shop is not None
    if await repo.membership(db, shop.id, user.id) is None:
        if product.status != "active":
            raise NotFound("No such product.")
        raise Forbidden("You are not a member of this product's shop.", code=CatalogError.NOT_SHOP_MEMBER)
    return product, shop


async def visible_product(db: AsyncSession, user: User | None, product_id: int) -> Product:
    """Active products are public; drafts and archived ones only for the shop's members."""
    product = await repo.product(db, product_id)
    if product is None:
        raise NotFound("No such product.")
    if product.status != "active" and (user is None or await repo.membership(db, product.shop_id, user.id) is None):
        raise NotFound("No such product.")
    return product


async def update_product(db: AsyncSession, product: Product, data: ProductUpdate) -> Product:
    if data.title is not None:
        product.title = data.title
    if data.description is not None:
        product.description = data.description
    if data.status is not None:
        if data.status == "active" and not await repo.variants_of(db, product.id):
            raise ValidationFailed("Add a variant before publishing.", code=CatalogError.NO_VARIANTS)
        product.status = data.status
    if data.category is not None:
        category = await category_for_path(db, data.category) if data.category.strip() else None
        product.category_id = category.id if category else None
    if data.brand is not None:
        brand = await brand_for_name(db, data.brand)
        product.brand_id = brand.id if brand else None
    if data.tags is not None:
        product.tags = clean_tags(data.tags)
    if data.open_to_creators is not None:
        product.open_to_creators = data.open_to_creators
    await refresh_derived(db, product)
    await repo.recount_shop_products(db, product.shop_id)
    return product


async def add_variant(db: AsyncSession, shop: Shop, product: Product, data: VariantIn) -> Variant:
    existing = await repo.variants_of(db, product.id)
    if len(existing) >= 100:
        raise ValidationFailed("A product has at most 100 variants.", code=CatalogError.TOO_MANY_VARIANTS)
    if any(v.options == data.options for v in existing):
        raise Conflict("A variant with these options exists.", code=CatalogError.DUPLICATE_OPTIONS)
    variant = await _add_variant(db, shop, product, data, len(existing))
    await refresh_derived(db, product)
    return variant


async def variant_for_member(db: AsyncSession, user: User, variant_id: int) -> tuple[Variant, Product, Shop]:
    variant = await db.get(Variant, variant_id)
    if variant is None:
        raise NotFound("No such variant.")
    product, shop = await product_for_member(db, user, variant.product_id)
    return variant, product, shop


async def update_variant(db: AsyncSession, variant: Variant, product: Product, data: VariantUpdate) -> Variant:
    price = data.price if data.price is not None else variant.price
    compare = None if data.clear_compare_at_price else (
        data.compare_at_price if data.compare_at_price is not None else variant.compare_at_price
    )
    _check_compare_at(price, compare)
    if data.sku is not None and data.sku != variant.sku:
        await _check_sku(db, variant.shop_id, data.sku or None, variant.id)
        variant.sku = data.sku or None
    if data.options is not None:
        variant.options = data.options
        variant.title = variant_title(data.options)
    variant.price = price
    variant.compare_at_price = compare
    if data.stock is not None:
        held = variant.reserved + variant.allocated
        if data.stock < held:
            raise Conflict(
                f"{held} units are held by checkouts and paid orders; on-hand stock cannot go below that.",
                code=CatalogError.STOCK_BELOW_HELD, details={"field": "stock", "held": held},
            )
        variant.stock = data.stock
    if data.weight_grams is not None:
        variant.weight_grams = data.weight_grams
    await db.flush()
    await refresh_derived(db, product)
    return variant


async def delete_variant(db: AsyncSession, variant: Variant, product: Product) -> None:
    if len(await repo.variants_of(db, product.id)) <= 1:
        raise Conflict("A product needs at least one variant; archive the product instead.",
                       code=CatalogError.LAST_VARIANT)
    await db.delete(variant)
    await db.flush()
    await refresh_derived(db, product)


async def add_image(db: AsyncSession, product: Product, data: bytes, settings: Settings, alt: str = "") -> ProductImage:
    images = await repo.images_of(db, product.id)
    if len(images) >= 20:
        raise ValidationFailed("A product has at most 20 images.", code=CatalogError.TOO_MANY_IMAGES)
    stored = store_image(data, settings.media_dir, f"products/{product.id}", max_bytes=settings.max_image_bytes)
    image = ProductImage(
        product_id=product.id, position=(max((i.position for i in images), default=-1) + 1),
        path=stored.path, thumb_path=stored.thumb_path, width=stored.width, height=stored.height,
        alt=alt[:200] or product.title[:200],
    )
    db.add(image)
    await db.flush()
    return image


async def image_for_member(db: AsyncSession, user: User, image_id: int) -> tuple[ProductImage, Product]:
    image = await db.get(ProductImage, image_id)
    if image is None:
        raise NotFound("No such image.")
    product, _ = await product_for_member(db, user, image.product_id)
    return image, product


async def delete_image(db: AsyncSession, image: ProductImage) -> None:
    await db.delete(image)
    await db.flush()


async def make_cover(db: AsyncSession, image: ProductImage) -> None:
    images = await repo.images_of(db, image.product_id)
    ordered = [image] + [i for i in images if i.id != image.id]
    for position, item in enumerate(ordered):
        item.position = position
    await db.flush()


async def favourite(db: AsyncSession, user: User, product: Product, on: bool) -> bool:
    if on:
        await repo.add_favourite(db, user.id, product.id)
    else:
        await repo.remove_favourite(db, user.id, product.id)
    await db.refresh(product)
    return on


async def categories_in_use(db: AsyncSession) -> list[Category]:
    return await repo.used_categories(db)


async def category_ancestors(db: AsyncSession, category: Category) -> list[Category]:
    names = [n.strip() for n in category.path.split(">")]
    slugs = ["--".join(slugify(n) for n in names[: i + 1])[:200] for i in range(len(names))]
    found = {c.slug: c for c in await repo.categories_by_slugs(db, slugs)}
    return [found[s] for s in slugs if s in found]


async def record_sale(db: AsyncSession, sold: dict[int, int], now: datetime) -> None:
    """A payment went through: each product's ``sold_count`` grows by the units sold
    (``product id → units``; one statement; the orders domain calls this, never the table)."""
    if sold:
        await repo.add_sold_counts(db, sold, now)


async def record_product_rating(db: AsyncSession, product_id: int, mean: float, count: int) -> int | None:
    """Store a product's rating (mean stars and count; stored in hundredths of a star); answers
    its shop's id (``None`` if the product is gone)."""
    await repo.set_product_rating(db, product_id, round(mean * 100), count)
    return await repo.product_shop_id(db, product_id)


async def record_shop_rating(db: AsyncSession, shop_id: int, mean: float, count: int) -> None:
    """Store a shop's rating over all its products' reviews (hundredths of a star)."""
    await repo.set_shop_rating(db, shop_id, round(mean * 100), count)


async def add_available_stock(db: AsyncSession, variant_id: int, delta: int) -> None:
    """The variant's availability moved by ``delta`` units (inventory calls this with every
    move): its product's ``total_stock``, the Shop Tab's "in stock", follows."""
    await repo.add_total_stock(db, variant_id, delta, utcnow())
