"""Affiliate money: links, touchpoints, the attribution decision of every order line, and
commissions (docs/affiliate.md, "Links and touchpoints", "Attribution", "Commissions").

Touchpoints are kept (not only the winner) so that a creator can check why an order line was or
was not credited to them: :class:`Attribution` stores the rule that decided and every candidate
considered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow

#: Touchpoint kinds; clicks beat views (docs/affiliate.md, "Attribution").
CLICK_KINDS = frozenset({"link_click", "card_click", "share"})
VIEW_KINDS = frozenset({"showcase_view"})
TOUCHPOINT_KINDS = CLICK_KINDS | VIEW_KINDS | {"live"}


class AffiliateLink(IdMixin, Base):
    """A creator's link to a product (``product_id``) or to their showcase (``product_id`` null)."""

    __tablename__ = "affiliate_links"

    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(24), unique=True)
    clicks: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_affiliate_links_creator_product", "creator_id", "product_id"),)


class Touchpoint(IdMixin, Base):
    """One server-side record of a shopper meeting a creator's promotion of a product (or of the
    creator's showcase when ``product_id`` is null). Keyed by the signed-in user, or by the
    anonymous visitor id until sign-up or log-in attaches it to a user."""

    __tablename__ = "affiliate_touchpoints"

    kind: Mapped[str] = mapped_column(String(16))
    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    visitor_id: Mapped[str | None] = mapped_column(String(32))
    link_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("affiliate_links.id", ondelete="SET NULL"))
    video_id: Mapped[int | None] = mapped_column(BigId)
    live_id: Mapped[int | None] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_affiliate_touchpoints_user_at", "user_id", "at"),
        Index("ix_affiliate_touchpoints_visitor", "visitor_id"),
        Index("ix_affiliate_touchpoints_creator_at", "creator_id", "at"),
    )


class Attribution(IdMixin, Base):
    """The decision for one order line: the credited creator (or none), the deciding touchpoint,
    the rule, and the candidates considered (``[{touchpoint_id, kind, at, creator_id,
    product_id, eligible, reason}]``)."""

    __tablename__ = "affiliate_attributions"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True)
    product_id: Mapped[int] = mapped_column(BigId)
    creator_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    touchpoint_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("affiliate_touchpoints.id",
                                                                       ondelete="SET NULL"))
    rule: Mapped[str] = mapped_column(String(40))
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Commission(IdMixin, Base):
    """What one order line earns its credited creator. ``amount`` is fixed when the order is paid;
    ``reversed`` grows with refunds (cumulative, pro rata); ``status`` is ``pending`` →
    ``available`` (released at settlement) or ``reversed`` (nothing left). ``paid`` is derived
    from the creator's payouts (docs/affiliate.md, "Commissions")."""

    __tablename__ = "affiliate_commissions"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True)
    shop_id: Mapped[int] = mapped_column(BigId, index=True)
    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId)
    plan_id: Mapped[int | None] = mapped_column(BigId)
    touchpoint_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("affiliate_touchpoints.id",
                                                                       ondelete="SET NULL"))
    video_id: Mapped[int | None] = mapped_column(BigId)
    live_id: Mapped[int | None] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    base: Mapped[int] = mapped_column(BigInteger)  # the line's paid amount the rate applies to
    rate_bps: Mapped[int | None] = mapped_column()
    flat_fee: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_affiliate_commissions_creator_created", "creator_id", "created_at"),)
