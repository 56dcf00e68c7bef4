"""Fan Club tables: one membership per (host, fan), and the counters that cap points.

A membership is created by a gift whose catalog entry joins the Fan Club; points come from
watching, commenting and gifting in the host's LIVEs (live/fanclub/service.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, UTCDateTime


class FanMembership(Base):
    __tablename__ = "fan_club_members"

    host_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="active")  # active | lapsed
    points: Mapped[int] = mapped_column(default=0)
    level: Mapped[int] = mapped_column(default=1)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Last time points were earned (joining counts): the lapse rule compares the host's LIVEs with it.
    last_points_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lapsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_fan_club_members_host_status_points", "host_id", "status", "points"),)


class FanPointCounter(Base):
    """What a fan earned in one capped bucket: ``watch:<live id>`` (seconds watched, points) or
    ``comment:<YYYY-MM-DD>`` (comments, points)."""

    __tablename__ = "fan_point_counters"

    host_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    units: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(default=0)
