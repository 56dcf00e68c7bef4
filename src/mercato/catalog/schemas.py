"""Request and response bodies of the catalog API. Amounts are integer minor units."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mercato.accounts.schemas import StrictBody
from mercato.kit.money import is_supported

MAX_AMOUNT = 10**12
MAX_STOCK = 10**9
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
Status = Literal["draft", "active", "archived"]
SortKey = Literal["relevance", "newest", "price_asc", "price_desc", "rating", "popular", "saved"]


class ShopIn(StrictBody):
    name: str = Field(min_length=2, max_length=120)
    slug: str = Field(min_length=3, max_length=60)
    description: str = Field(default="", max_length=5000)
    policies: str = Field(default="", max_length=10000)
    currency: str = Field(default="USD", min_length=3, max_length=3)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        value = value.lower()
        if not SLUG_RE.match(value):
            raise ValueError("3–60 characters: lowercase letters, digits and '-' (not at the ends)")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.upper()
        if not is_supported(value):
            raise ValueError("unsupported currency")
        return value


class ShopUpdate(StrictBody):
    name: str | None = Field(default=None, min_length=2, max_length=120)
    description: str | None = Field(default=None, max_length=5000)
    policies: str | None = Field(default=None, max_length=10000)


class StaffIn(StrictBody):
    email: str = Field(min_length=3, max_length=254)


class ShopOut(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    policies: str
    currency: str
    color: str
    logo_url: str | None
    rating: float
    rating_count: int
    product_count: int
    my_role: str | None = None


class VariantIn(StrictBody):
    sku: str | None = Field(default=None, max_length=100)
    options: dict[str, str] = Field(default_factory=dict, max_length=3)
    price: int = Field(strict=True, ge=0, le=MAX_AMOUNT)
    compare_at_price: int | None = Field(strict=True, default=None, ge=0, le=MAX_AMOUNT)
    stock: int = Field(strict=True, default=0, ge=0, le=MAX_STOCK)
    weight_grams: int | None = Field(strict=True, default=None, ge=0, le=10**7)

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for name, option in value.items():
            name, option = name.strip(), option.strip()
            if not name or not option or len(name) > 40 or len(option) > 60:
                raise ValueError("option names have 1–40 characters and values 1–60")
            cleaned[name] = option
        return cleaned


class VariantUpdate(StrictBody):
    sku: str | None = Field(default=None, max_length=100)
    options: dict[str, str] | None = Field(default=None, max_length=3)
    price: int | None = Field(strict=True, default=None, ge=0, le=MAX_AMOUNT)
    compare_at_price: int | None = Field(strict=True, default=None, ge=0, le=MAX_AMOUNT)
    clear_compare_at_price: bool = Field(default=False, strict=True)
    stock: int | None = Field(strict=True, default=None, ge=0, le=MAX_STOCK)
    weight_grams: int | None = Field(strict=True, default=None, ge=0, le=10**7)


class ProductIn(StrictBody):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=20000)
    status: Status = "draft"
    category: str | None = Field(default=None, max_length=300, description="Path such as 'Clothing > Tshirts'")
    brand: str | None = Field(default=None, max_length=120)
    tags: list[str] = Field(default_factory=list, max_length=30)
    variants: list[VariantIn] = Field(min_length=1, max_length=100)
    open_to_creators: bool = Field(strict=True, default=False, description="Any creator may show it in their videos")


class ProductUpdate(StrictBody):
    title: str | None = Field(default=None, min_length=2, max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    status: Status | None = None
    category: str | None = Field(default=None, max_length=300)
    brand: str | None = Field(default=None, max_length=120)
    tags: list[str] | None = Field(default=None, max_length=30)
    open_to_creators: bool | None = Field(default=None, strict=True)


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str | None
    title: str
    options: dict[str, str]
    price: int
    compare_at_price: int | None
    currency: str
    price_display: str
    compare_at_display: str | None
    stock: int  # on hand
    available: int  # on hand − reserved by checkouts − allocated to paid orders
    in_stock: bool
    weight_grams: int | None


class ImageOut(BaseModel):
    id: int
    url: str
    thumb_url: str
    width: int | None
    height: int | None
    alt: str
    remote: bool


class CategoryOut(BaseModel):
    id: int
    name: str
    slug: str
    path: str
    parent_id: int | None


class BrandOut(BaseModel):
    id: int
    name: str
    slug: str


class ShopBrief(BaseModel):
    id: int
    slug: str
    name: str
    color: str


class ProductCard(BaseModel):
    id: int
    title: str
    status: str
    shop: ShopBrief
    price: int
    compare_at_price: int | None
    currency: str
    price_display: str
    thumb_url: str | None
    rating: float
    rating_count: int
    sold_count: int
    in_stock: bool
    favourites_count: int


class ProductOut(ProductCard):
    description: str
    category: CategoryOut | None
    brand: BrandOut | None
    tags: list[str]
    option_names: list[str]
    attributes: dict[str, object]
    variants: list[VariantOut]
    images: list[ImageOut]
    external_id: str | None
    source: str
    created_at: datetime
    updated_at: datetime
    favourited: bool = False
    open_to_creators: bool = False


class ImportRowOut(BaseModel):
    row: int
    external_id: str | None
    title: str | None
    outcome: Literal["created", "updated", "unchanged", "rejected", "warning"]
    reason: str | None


class ImportReportOut(BaseModel):
    id: int
    filename: str
    format: str
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportRowOut]
