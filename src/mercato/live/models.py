"""LIVEs and the hosts' stream keys.

A LIVE's ``status``: ``scheduled`` (announced for ``scheduled_at``; a publisher may start it
early), ``live`` (a publisher is sending, or left less than the grace period ago),
``ended`` (over; ``replay_path`` names the recording when there is one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class Live(IdMixin, TimestampMixin, Base):
    __tablename__ = "lives"

    host_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    # The shop the LIVE sells for when the host goes live as a shop member (else the host's own
    # products and products open to creators make the bag).
    shop_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shops.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(120))
    cover_path: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the publisher disconnected; the LIVE ends once this is older than the grace period.
    publisher_left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    # Recording (relative to ``settings.media_dir``): an HLS VOD playlist once the LIVE ended.
    replay_path: Mapped[str | None] = mapped_column(String(255))
    pinned_product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id", ondelete="SET NULL"))
    peak_viewers: Mapped[int] = mapped_column(default=0)
    # A LIVE of the demo world (its publisher and viewers are scripted); labelled as such.
    is_demo: Mapped[bool] = mapped_column(default=False)
    # This LIVE's own publish key (SHA-256 digest; the key is shown once, in the 201 of its
    # creation): feeds this LIVE only, beside the host's persistent key (docs/live.md, "Stream keys").
    publish_key_digest: Mapped[str | None] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_lives_status_started", "status", "started_at"),
        Index("ix_lives_host_status", "host_id", "status"),
    )


class StreamKey(Base):
    """A host's secret stream key: only its SHA-256 digest is stored (shown once, rotatable).
    ``key_hint`` (its last four characters) lets the console say which key is current."""

    __tablename__ = "live_stream_keys"

    host_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LiveReminder(Base):
    """A viewer asked to be told when a scheduled LIVE starts (an in-app notification)."""

    __tablename__ = "live_reminders"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_live_reminders_user", "user_id"),)
