"""Request and response bodies of the buying loop. Amounts are integer minor units."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field, StrictInt, field_validator

from mercato.accounts.schemas import StrictBody
from mercato.kit.fields import BodyId

REGION_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class CartItemIn(StrictBody):
    variant_id: BodyId
    quantity: int = Field(strict=True, ge=1, le=99)


class CartQuantityIn(StrictBody):
    quantity: int = Field(strict=True, ge=0, le=99, description="0 removes the item")


class AddressIn(StrictBody):
    name: str = Field(min_length=1, max_length=120)
    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=120)
    region: str = Field(min_length=2, max_length=20, description="ISO 3166-2 such as US-CA, or a country code")
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2)
    phone: str = Field(default="", max_length=40)
    is_default: bool = Field(default=False, strict=True)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        value = value.upper()
        if not value.isalpha():
            raise ValueError("use a two-letter country code")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.upper()
        if not REGION_RE.match(value):
            raise ValueError("use a code such as US-CA or DE")
        return value


class AddressOut(AddressIn):
    id: int


class CartLineOut(BaseModel):
    item_id: int
    variant_id: int
    product_id: int
    title: str
    variant_title: str
    thumb_url: str | None
    unit_price: int
    quantity: int
    line_total: int
    currency: str
    price_display: str
    line_total_display: str
    available: int
    problem: str | None  # "out_of_stock" | "not_enough_stock" | "unavailable"


class CartShopOut(BaseModel):
    shop_id: int
    shop_slug: str
    shop_name: str
    currency: str
    lines: list[CartLineOut]
    subtotal: int
    subtotal_display: str


class CartOut(BaseModel):
    shops: list[CartShopOut]
    item_count: int


class BuyNowItem(StrictBody):
    variant_id: BodyId
    quantity: int = Field(strict=True, ge=1, le=99)


class CheckoutIn(StrictBody):
    address_id: BodyId | None = None
    address: AddressIn | None = None
    coupon_codes: list[str] = Field(default_factory=list, max_length=10)
    items: list[BuyNowItem] | None = Field(default=None, max_length=50,
                                           description="Buy now: these items instead of the cart")
    expected_totals: dict[str, StrictInt] | None = Field(
        default=None, description="Totals per currency the buyer saw; a difference answers 409 prices_changed")
    live_id: BodyId | None = Field(default=None, description="Bought in this LIVE's room: a LIVE purchase, "
                                                             "priced at the LIVE's open flash deal")
    use_credits: bool = Field(default=False, description="Pay with shopping credits first: as much of each "
                                                         "currency's total as the balance allows")
    credits_amount: StrictInt | None = Field(
        default=None, ge=0, description="Pay exactly this much (minor units) with shopping credits; a "
                                        "checkout in one currency only. Above the balance: 409 credits_insufficient")


class OrderLineOut(BaseModel):
    id: int
    product_id: int
    variant_id: int
    title: str
    variant_title: str
    sku: str | None
    unit_price: int
    quantity: int
    discount: int
    total: int
    refunded_quantity: int
    reviewed: bool = False


class OrderEventOut(BaseModel):
    status: str
    note: str
    created_at: datetime


class OrderOut(BaseModel):
    id: int
    number: str
    checkout_id: int
    shop_id: int
    shop_slug: str
    shop_name: str
    buyer_id: int
    status: str
    currency: str
    subtotal: int
    seller_discount: int
    platform_discount: int
    shipping: int
    tax: int
    total: int
    total_display: str
    credits: int = 0  # the part of ``total`` paid with shopping credits (the card pays the rest)
    refunded: int
    fee: int | None = None  # seller view only
    address: dict[str, object]
    carrier: str | None
    tracking_number: str | None
    payment_intent_id: int | None
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    source: str = "direct"  # "live": bought in the room of LIVE ``live_id``
    live_id: int | None = None
    lines: list[OrderLineOut]
    history: list[OrderEventOut]
    can_cancel: bool = False
    can_return: bool = False
    can_review: bool = False


class PaymentIntentBrief(BaseModel):
    id: int
    currency: str
    amount: int
    amount_display: str
    status: str
    next_action: dict[str, object] | None
    last_error_code: str | None
    last_error_message: str | None


class CheckoutOut(BaseModel):
    id: int
    status: str
    expires_at: datetime
    orders: list[OrderOut]
    payments: list[PaymentIntentBrief]
    totals: dict[str, int]
    credits: dict[str, int] = Field(default_factory=dict,
                                    description="Per currency, the part of the totals paid with shopping credits")


class CardIn(StrictBody):
    card_number: str = Field(min_length=12, max_length=23)
    exp_month: int = Field(strict=True, ge=1, le=12)
    exp_year: int = Field(strict=True, ge=2000, le=2100)
    cvc: str = Field(min_length=3, max_length=4)
    name: str = Field(default="", max_length=120)


class ShipIn(StrictBody):
    carrier: str = Field(min_length=2, max_length=60)
    tracking_number: str = Field(min_length=3, max_length=80)


class ReturnLineIn(StrictBody):
    line_id: BodyId
    quantity: int = Field(strict=True, ge=1, le=999)


class ReturnIn(StrictBody):
    reason: str = Field(min_length=3, max_length=1000)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=100)


class ReturnAnswerIn(StrictBody):
    note: str = Field(default="", max_length=1000)


class ReturnOut(BaseModel):
    id: int
    order_id: int
    status: str
    reason: str
    lines: list[dict[str, int]]
    amount: int
    amount_display: str
    created_at: datetime
    answered_at: datetime | None
    answer_note: str
    auto_approved: bool


class RefundIn(StrictBody):
    amount: int = Field(strict=True, ge=1, le=10**12)
    reason: str = Field(default="", max_length=500)


class RefundOut(BaseModel):
    id: int
    order_id: int
    amount: int
    amount_display: str
    reason: str
    created_at: datetime


class ReviewIn(StrictBody):
    rating: int = Field(strict=True, ge=1, le=5)
    text: str = Field(default="", max_length=2000)


class ReviewOut(BaseModel):
    id: int
    product_id: int
    rating: int
    text: str
    author: str
    created_at: datetime


class ShippingRulesIn(StrictBody):
    shipping_fee: int = Field(strict=True, ge=0, le=10**9)
    free_shipping_above: int | None = Field(strict=True, default=None, ge=0, le=10**12)


class TaxRateIn(StrictBody):
    region: str = Field(min_length=2, max_length=20)
    rate_bps: int = Field(strict=True, ge=0, le=5000)
    label: str = Field(default="", max_length=80)
