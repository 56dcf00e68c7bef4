"""The buying loop's tables. Amounts are integer minor units in the order's currency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow

ORDER_STATUSES = ("awaiting_payment", "paid", "shipped", "delivered", "completed", "cancelled", "expired")


class CartItem(IdMixin, TimestampMixin, Base):
    __tablename__ = "cart_items"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column()

    __table_args__ = (
        UniqueConstraint("user_id", "variant_id", name="uq_cart_items_user_variant"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class Address(IdMixin, TimestampMixin, Base):
    """An entry of a shopper's address book. ``region`` keys the tax table (e.g. ``US-CA``)."""

    __tablename__ = "addresses"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(20))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str] = mapped_column(String(40), default="")
    is_default: Mapped[bool] = mapped_column(default=False)


class TaxRate(IdMixin, Base):
    """Sales-tax rate by region (``US-CA``) or country (``DE``), in basis points."""

    __tablename__ = "tax_rates"

    region: Mapped[str] = mapped_column(String(20), unique=True)
    rate_bps: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(80), default="")


class Checkout(IdMixin, TimestampMixin, Base):
    """One checkout of a cart: one order per shop, stock reserved until ``expires_at``."""

    __tablename__ = "checkouts"

    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | paid | expired | cancelled
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    platform_coupon_code: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(10), default="cart")  # cart | buy_now


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "orders"

    checkout_id: Mapped[int] = mapped_column(BigId, ForeignKey("checkouts.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    seller_discount: Mapped[int] = mapped_column(BigInteger, default=0)
    platform_discount: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)  # what the buyer pays for this order
    fee: Mapped[int] = mapped_column(BigInteger, default=0)  # platform referral fee, set when paid
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    # the part of ``total`` paid with the buyer's shopping credits (promotions/credits.py); the card
    # was charged ``total - credits``
    credits: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    seller_coupon_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("coupons.id"))
    platform_coupon_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("coupons.id"))
    payment_intent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payment_intents.id"))
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where the purchase was made: ``live`` (in the room of LIVE ``live_id``: a LIVE purchase, which
    # the affiliate and analytics issues credit) or ``direct``. No foreign key: orders are kept
    # whatever happens to the LIVE.
    source: Mapped[str] = mapped_column(String(10), default="direct", server_default="direct")
    live_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        Index("ix_orders_live", "live_id"),
        Index("ix_orders_shop_status", "shop_id", "status", "id"),
        Index("ix_orders_buyer_created", "buyer_id", "id"),
        Index("ix_orders_delivered_unsettled", "status", "settled_at", "delivered_at"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("refunded >= 0 AND refunded <= total", name="refund_within_total"),
    )


class OrderLine(IdMixin, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id"))
    title: Mapped[str] = mapped_column(String(200))
    variant_title: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(100))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column()
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)  # unit_price × quantity − discount
    refunded_quantity: Mapped[int] = mapped_column(default=0)


class OrderEvent(IdMixin, Base):
    """The status history of an order."""

    __tablename__ = "order_events"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReturnRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "return_requests"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="requested")  # requested|approved|refused
    reason: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSON)  # [{"line_id": 1, "quantity": 2}]
    amount: Mapped[int] = mapped_column(BigInteger)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_note: Mapped[str] = mapped_column(Text, default="")
    auto_approved: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_return_requests_status_created", "status", "created_at"),)


class Refund(IdMixin, Base):
    __tablename__ = "refunds"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    return_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("return_requests.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Review(IdMixin, Base):
    __tablename__ = "reviews"

    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)
