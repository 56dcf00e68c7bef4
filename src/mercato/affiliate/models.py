"""Affiliate tables: plans, the products they cover, their rate history, creators' memberships
(invitations and join requests are memberships in another status), sample requests and showcases.

Commissions are integer basis points (``rate_bps``, 100 = 1 %) or a flat fee per item in the
shop's currency (integer minor units). A plan's commission is never edited in place: every
change appends an ``AffiliateRateChange`` row, so ``affiliate.plans.terms_for`` can tell the
terms in force for a creator at any past instant (the 30-day rate-cut rule, docs/affiliate.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow

PLAN_KINDS = ("open", "targeted")
PLAN_SCOPES = ("products", "shop")
PLAN_STATUSES = ("active", "paused", "ended")
MEMBER_STATUSES = ("invited", "pending", "active", "declined", "left")
SAMPLE_STATUSES = ("requested", "approved", "declined")


class AffiliatePlan(IdMixin, TimestampMixin, Base):
    __tablename__ = "affiliate_plans"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))  # open | targeted
    scope: Mapped[str] = mapped_column(String(10), default="products")  # products | shop (every product)
    # Exactly one of rate_bps / flat_fee is set (the current terms; history in affiliate_rate_changes).
    rate_bps: Mapped[int | None] = mapped_column()
    flat_fee: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="active")
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # targeted plans: the end date
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the seller ended it
    description: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("(rate_bps IS NULL) <> (flat_fee IS NULL)", name="one_commission"),
        Index("ix_affiliate_plans_shop", "shop_id", "status"),
        Index("ix_affiliate_plans_status", "status", "kind", "id"),
    )


class AffiliatePlanProduct(Base):
    """A product a ``scope="products"`` plan covers; ``added_at`` starts the promotion clock of
    members who joined before it was added."""

    __tablename__ = "affiliate_plan_products"

    plan_id: Mapped[int] = mapped_column(BigId, ForeignKey("affiliate_plans.id", ondelete="CASCADE"),
                                         primary_key=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_affiliate_plan_products_product", "product_id"),)


class AffiliateRateChange(IdMixin, Base):
    """The plan's commission from ``effective_at`` on (the first row is the plan's creation)."""

    __tablename__ = "affiliate_rate_changes"

    plan_id: Mapped[int] = mapped_column(BigId, ForeignKey("affiliate_plans.id", ondelete="CASCADE"))
    rate_bps: Mapped[int | None] = mapped_column()
    flat_fee: Mapped[int | None] = mapped_column(BigInteger)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_affiliate_rate_changes_plan", "plan_id", "effective_at", "id"),)


class AffiliateMembership(IdMixin, Base):
    """A creator in a plan. ``invited`` (targeted plans: the seller asked), ``pending`` (asked to
    join a plan needing approval), ``active`` (in the plan since ``joined_at``), ``declined``
    (by either side) or ``left`` (removed or left at ``left_at``)."""

    __tablename__ = "affiliate_memberships"

    plan_id: Mapped[int] = mapped_column(BigId, ForeignKey("affiliate_plans.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("plan_id", "creator_id", name="uq_affiliate_memberships_plan_creator"),
        Index("ix_affiliate_memberships_creator", "creator_id", "status"),
        Index("ix_affiliate_memberships_plan", "plan_id", "status", "id"),
    )


class AffiliateSampleRequest(IdMixin, TimestampMixin, Base):
    """A creator's request for a free sample of a plan's product; once approved, ``order_id`` is
    the zero-price sample order made through the orders domain and ``post_by`` the reminder's date."""

    __tablename__ = "affiliate_sample_requests"

    plan_id: Mapped[int] = mapped_column(BigId, ForeignKey("affiliate_plans.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    address_id: Mapped[int] = mapped_column(BigId)
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="requested")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_id: Mapped[int | None] = mapped_column(BigId)
    post_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_affiliate_samples_shop", "shop_id", "status", "id"),
        Index("ix_affiliate_samples_creator", "creator_id", "id"),
        Index("ix_affiliate_samples_remind", "status", "reminded_at", "post_by"),
    )


class ShowcaseItem(Base):
    """A product on a creator's showcase (``/@handle/showcase``), ordered by ``position``."""

    __tablename__ = "affiliate_showcase_items"

    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_affiliate_showcase_order", "creator_id", "position", "product_id"),)
