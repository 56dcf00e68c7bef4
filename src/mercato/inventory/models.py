"""Reservations of stock; the counters live on ``variants`` (``stock``, ``reserved``, ``allocated``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class Reservation(IdMixin, Base):
    """Units held for a checkout until ``expires_at``; turned into an allocation when paid."""

    __tablename__ = "reservations"

    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    checkout_id: Mapped[int] = mapped_column(BigId, ForeignKey("checkouts.id", ondelete="CASCADE"))
    order_line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order_lines.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | allocated | released | shipped
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_reservations_status_expires", "status", "expires_at"),
        Index("ix_reservations_checkout", "checkout_id"),
    )
