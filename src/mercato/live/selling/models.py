"""Tables of selling in the LIVE room: flash deals (with each buyer's units and each checkout's
hold), pinned coupons and their claims, watch time, giveaways."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow

#: Phases of a deal that is still running (one per LIVE at a time).
RUNNING = ("announced", "open")


class FlashDeal(IdMixin, TimestampMixin, Base):
    """A LIVE flash deal: ``total_units`` of a variant at ``deal_price`` from ``opens_at`` (after
    the countdown) until ``ends_at``, at most ``per_buyer_limit`` per buyer.

    Whether it can be bought is decided by the clock and ``units_left`` (guarded updates), never
    by ``phase``: ``phase`` (``announced`` → ``open`` → ``closed``, or ``cancelled``) is what the
    room was told, moved by the job (or the next request) for the frames.
    """

    __tablename__ = "live_flash_deals"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    deal_price: Mapped[int] = mapped_column(BigInteger)
    regular_price: Mapped[int] = mapped_column(BigInteger)  # the variant's price when announced
    lowest_price_30d: Mapped[int] = mapped_column(BigInteger)  # the rule's reference, when announced
    currency: Mapped[str] = mapped_column(String(3))
    total_units: Mapped[int] = mapped_column()
    units_left: Mapped[int] = mapped_column()
    per_buyer_limit: Mapped[int] = mapped_column()
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    phase: Mapped[str] = mapped_column(String(10), default="announced")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("units_left >= 0 AND units_left <= total_units", name="units_within_total"),
        CheckConstraint("deal_price > 0", name="deal_price_positive"),
        Index("ix_live_flash_deals_phase", "phase", "opens_at"),
    )


# One running deal per LIVE (the database says so too, whatever two hosts' tabs do at once).
Index("uq_live_flash_deals_running", FlashDeal.live_id, unique=True, sqlite_where=FlashDeal.phase.in_(RUNNING),
      postgresql_where=FlashDeal.phase.in_(RUNNING))


class DealBuyer(Base):
    """How many units of a deal a buyer holds (paid or in an open checkout): the per-buyer limit
    is a guarded upsert on this row."""

    __tablename__ = "live_deal_buyers"

    deal_id: Mapped[int] = mapped_column(BigId, ForeignKey("live_flash_deals.id", ondelete="CASCADE"),
                                         primary_key=True)
    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    quantity: Mapped[int] = mapped_column()

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)


class DealHold(IdMixin, Base):
    """The deal units an order line took; given back (``released``) when its checkout expires or
    the unpaid order is cancelled, as the stock reservations are."""

    __tablename__ = "live_deal_holds"

    deal_id: Mapped[int] = mapped_column(BigId, ForeignKey("live_flash_deals.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    checkout_id: Mapped[int] = mapped_column(BigId, ForeignKey("checkouts.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | released
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LiveCoupon(IdMixin, Base):
    """A promotions coupon pinned in a LIVE's room, optionally unlocked by watching
    ``watch_minutes`` of it. One pinned at a time per LIVE (``pinned``)."""

    __tablename__ = "live_coupons"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"))
    coupon_id: Mapped[int] = mapped_column(BigId, ForeignKey("coupons.id", ondelete="CASCADE"))
    watch_minutes: Mapped[int | None] = mapped_column()
    pinned: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("uq_live_coupons_live_coupon", "live_id", "coupon_id", unique=True),)


class LiveCouponClaim(Base):
    __tablename__ = "live_coupon_claims"

    live_coupon_id: Mapped[int] = mapped_column(BigId, ForeignKey("live_coupons.id", ondelete="CASCADE"),
                                                primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WatchTime(Base):
    """Seconds a signed-in member spent in a LIVE's room (reported by the room)."""

    __tablename__ = "live_watch_time"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Giveaway(IdMixin, Base):
    """A prize drawn among the viewers present at the draw. ``seed``, ``eligible`` (sorted user
    ids) and ``winners`` are recorded so that anyone can re-run the draw and check it."""

    __tablename__ = "live_giveaways"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    prize: Mapped[str] = mapped_column(String(200))
    winners_count: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="announced")  # announced | drawn
    seed: Mapped[str | None] = mapped_column(String(64))
    eligible: Mapped[list[int]] = mapped_column(JSON, default=list)
    winners: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
