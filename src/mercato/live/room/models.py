"""What the room keeps in the database: its rules and counters, moderators, mutes, bans, reports.

The pinned product is ``Live.pinned_product_id`` (live/models.py). Everything else of a room
(members, recent chat, current viewers) lives in the hub: in this process or in Redis.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class LiveRoom(Base):
    """A room's rules set by the host or a moderator, and its persisted counters."""

    __tablename__ = "live_rooms"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), primary_key=True)
    slow_mode_seconds: Mapped[int] = mapped_column(default=0)
    comments: Mapped[str] = mapped_column(String(8), default="on")  # on | off
    fans_only: Mapped[bool] = mapped_column(default=False)  # only the host's Fan Club may chat (and staff)
    # Lower-case words or phrases: a chat message containing one is refused to its sender.
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    likes_total: Mapped[int] = mapped_column(default=0)
    shares_total: Mapped[int] = mapped_column(default=0)


class LiveModerator(Base):
    __tablename__ = "live_moderators"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LiveMute(Base):
    __tablename__ = "live_mutes"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class LiveBan(Base):
    __tablename__ = "live_bans"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LiveReport(IdMixin, Base):
    """A viewer's report of a LIVE: one per viewer and LIVE; operators read them at /admin/lives."""

    __tablename__ = "live_reports"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("live_id", "reporter_id"),)
