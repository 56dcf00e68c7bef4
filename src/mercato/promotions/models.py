"""Coupons and their redemptions. Limits hold under concurrency through guarded updates
(``redeemed_count``) and a unique (coupon, user, use number) per redemption."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class Coupon(IdMixin, Base):
    __tablename__ = "coupons"

    scope: Mapped[str] = mapped_column(String(30))  # "platform" or "shop:<id>"
    code: Mapped[str] = mapped_column(String(40))
    shop_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    funded_by: Mapped[str] = mapped_column(String(10))  # seller | platform
    kind: Mapped[str] = mapped_column(String(10))  # percent | amount
    percent_bps: Mapped[int | None] = mapped_column()
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    min_spend: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    per_user_limit: Mapped[int | None] = mapped_column()
    total_limit: Mapped[int | None] = mapped_column()
    redeemed_count: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("scope", "code", name="uq_coupons_scope_code"),
        CheckConstraint("redeemed_count >= 0", name="redeemed_not_negative"),
        CheckConstraint("total_limit IS NULL OR redeemed_count <= total_limit", name="within_total_limit"),
    )


class CouponRedemption(IdMixin, Base):
    __tablename__ = "coupon_redemptions"

    coupon_id: Mapped[int] = mapped_column(BigId, ForeignKey("coupons.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    checkout_id: Mapped[int] = mapped_column(BigId, ForeignKey("checkouts.id", ondelete="CASCADE"), index=True)
    use_number: Mapped[int] = mapped_column()
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("coupon_id", "user_id", "use_number", name="uq_coupon_redemptions_use"),)
