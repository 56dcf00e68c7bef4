"""Catalog tables.

Prices are integer minor units with the currency on the variant. ``Product.min_price``
and ``Product.total_stock`` are derived from the variants by the service so the
Shop Tab can sort and filter without joins. ``Product.search_text`` holds the words
(brand, category, tags, description) that full-text search looks at besides the
title; SQLite indexes it with FTS5 (triggers), PostgreSQL with a generated
``tsvector`` column (see the migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow

PRODUCT_STATUSES = ("draft", "active", "archived")
MEMBER_ROLES = ("owner", "staff")


class Shop(IdMixin, TimestampMixin, Base):
    __tablename__ = "shops"

    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    policies: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    logo_path: Mapped[str | None] = mapped_column(String(255))
    color: Mapped[str] = mapped_column(String(7), default="#ff2d55")
    rating_avg: Mapped[int] = mapped_column(default=0)  # hundredths of a star
    rating_count: Mapped[int] = mapped_column(default=0)
    product_count: Mapped[int] = mapped_column(default=0)
    shipping_fee: Mapped[int] = mapped_column(BigInteger, default=0)  # flat, per order
    free_shipping_above: Mapped[int | None] = mapped_column(BigInteger)  # items subtotal at or above: free


class ShopMember(Base):
    __tablename__ = "shop_members"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_shop_members_user", "user_id"),)


class Category(IdMixin, Base):
    __tablename__ = "categories"

    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    path: Mapped[str] = mapped_column(String(500))


class Brand(IdMixin, Base):
    __tablename__ = "brands"

    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    category_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("categories.id"))
    brand_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("brands.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20), default="manual")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    option_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    min_price: Mapped[int] = mapped_column(BigInteger, default=0)
    max_compare_at_price: Mapped[int | None] = mapped_column(BigInteger)
    total_stock: Mapped[int] = mapped_column(BigInteger, default=0)
    sold_count: Mapped[int] = mapped_column(BigInteger, default=0)
    favourites_count: Mapped[int] = mapped_column(default=0)
    rating_avg: Mapped[int] = mapped_column(default=0)  # hundredths of a star
    rating_count: Mapped[int] = mapped_column(default=0)
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The shop lets any creator anchor this product in videos (the affiliate issue refines it).
    open_to_creators: Mapped[bool] = mapped_column(default=False)
    # Bumped by the database (triggers of migration 0014) on every change a product body shows:
    # the key of the shared body caches (catalog/read_cache.py). Never written by the application.
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (
        UniqueConstraint("shop_id", "external_id", name="uq_products_shop_external"),
        Index("ix_products_status_created", "status", "created_at", "id"),
        Index("ix_products_status_price", "status", "min_price", "id"),
        Index("ix_products_shop", "shop_id", "status"),
        Index("ix_products_category", "category_id", "status"),
        Index("ix_products_brand", "brand_id", "status"),
    )


class Variant(IdMixin, TimestampMixin, Base):
    __tablename__ = "variants"

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    sku: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="Default")
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    price: Mapped[int] = mapped_column(BigInteger)
    compare_at_price: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(BigInteger, default=0)  # on hand
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)  # held by open checkouts (TTL)
    allocated: Mapped[int] = mapped_column(BigInteger, default=0)  # paid, not yet shipped
    weight_grams: Mapped[int | None] = mapped_column()
    barcode: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("shop_id", "sku", name="uq_variants_shop_sku"),
        CheckConstraint("reserved >= 0 AND allocated >= 0", name="holds_not_negative"),
        CheckConstraint("stock - reserved - allocated >= 0", name="never_oversold"),
    )

    @property
    def available(self) -> int:
        return self.stock - self.reserved - self.allocated


class VariantPrice(IdMixin, Base):
    """A variant's price from ``recorded_at`` on: the price history. Written wherever a price is
    set (``products.refresh_derived``, which every create, edit and import goes through) so that
    a LIVE flash deal can be held to "below the lowest price of the last 30 days"."""

    __tablename__ = "variant_prices"

    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    price: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_variant_prices_variant_recorded", "variant_id", "recorded_at"),)


class ProductImage(IdMixin, Base):
    """An uploaded image (``path``) or an image recorded by URL from an import (``url``)."""

    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    path: Mapped[str | None] = mapped_column(String(255))
    thumb_path: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(1000))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    alt: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Favourite(Base):
    __tablename__ = "favourites"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImportRun(IdMixin, Base):
    """One catalog import and its per-row report."""

    __tablename__ = "import_runs"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(20))
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
