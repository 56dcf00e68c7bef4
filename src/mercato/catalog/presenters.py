"""Turn catalog rows into API bodies (shared by the JSON API and the pages)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import repository as repo
from mercato.catalog.models import Brand, Category, Product, ProductImage, Shop, Variant
from mercato.catalog.schemas import (
    BrandOut,
    CategoryOut,
    ImageOut,
    ProductCard,
    ProductOut,
    ShopBrief,
    ShopOut,
    VariantOut,
)
from mercato.kit.images import media_url
from mercato.kit.money import format_money


def shop_out(shop: Shop, role: str | None = None) -> ShopOut:
    return ShopOut(
        id=shop.id, slug=shop.slug, name=shop.name, description=shop.description, policies=shop.policies,
        currency=shop.currency, color=shop.color, logo_url=media_url(shop.logo_path),
        rating=shop.rating_avg / 100, rating_count=shop.rating_count, product_count=shop.product_count,
        my_role=role,
    )


def image_out(image: ProductImage) -> ImageOut:
    if image.path:
        return ImageOut(
            id=image.id, url=media_url(image.path) or "", thumb_url=media_url(image.thumb_path) or "",
            width=image.width, height=image.height, alt=image.alt, remote=False,
        )
    return ImageOut(
        id=image.id, url=image.url or "", thumb_url=image.url or "", width=None, height=None, alt=image.alt,
        remote=True,
    )


def variant_out(variant: Variant) -> VariantOut:
    return VariantOut(
        id=variant.id, sku=variant.sku, title=variant.title, options=dict(variant.options or {}),
        price=variant.price, compare_at_price=variant.compare_at_price, currency=variant.currency,
        price_display=format_money(variant.price, variant.currency),
        compare_at_display=(format_money(variant.compare_at_price, variant.currency)
                            if variant.compare_at_price else None),
        stock=variant.stock, available=variant.available,
        in_stock=variant.available > 0, weight_grams=variant.weight_grams,
    )


def _card(product: Product, shop: Shop, cover: ProductImage | None) -> ProductCard:
    thumb = None
    if cover is not None:
        thumb = media_url(cover.thumb_path) if cover.path else None
    return ProductCard(
        id=product.id, title=product.title, status=product.status,
        shop=ShopBrief(id=shop.id, slug=shop.slug, name=shop.name, color=shop.color),
        price=product.min_price, compare_at_price=product.max_compare_at_price, currency=product.currency,
        price_display=format_money(product.min_price, product.currency), thumb_url=thumb,
        rating=product.rating_avg / 100, rating_count=product.rating_count, sold_count=product.sold_count,
        in_stock=product.total_stock > 0, favourites_count=product.favourites_count,
    )


async def product_cards(db: AsyncSession, products: Sequence[Product]) -> list[ProductCard]:
    ids = [p.id for p in products]
    covers = await repo.first_images(db, ids)
    shops = await repo.shops_by_ids(db, [p.shop_id for p in products])
    return [_card(p, shops[p.shop_id], covers.get(p.id)) for p in products]


async def product_detail(db: AsyncSession, product: Product, *, favourited: bool = False) -> ProductOut:
    shop = await db.get(Shop, product.shop_id)
    assert shop is not None
    images = await repo.images_of(db, product.id)
    variants = await repo.variants_of(db, product.id)
    category = await db.get(Category, product.category_id) if product.category_id else None
    brand = await db.get(Brand, product.brand_id) if product.brand_id else None
    card = _card(product, shop, images[0] if images else None)
    return ProductOut(
        **card.model_dump(),
        description=product.description,
        category=CategoryOut(id=category.id, name=category.name, slug=category.slug, path=category.path,
                             parent_id=category.parent_id) if category else None,
        brand=BrandOut(id=brand.id, name=brand.name, slug=brand.slug) if brand else None,
        tags=list(product.tags or []),
        option_names=list(product.option_names or []),
        attributes=dict(product.attributes or {}),
        variants=[variant_out(v) for v in variants],
        images=[image_out(i) for i in images],
        external_id=product.external_id, source=product.source,
        created_at=product.created_at, updated_at=product.updated_at,
        favourited=favourited,
        open_to_creators=product.open_to_creators,
    )
