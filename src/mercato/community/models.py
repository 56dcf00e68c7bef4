"""Community events: an event, its missions, each participant's progress and the actions counted.

``community_actions`` holds one row per (mission, user, natural id of the action): a replayed
action meets the primary key and counts nothing. Watch minutes have no per-action id (the room
reports seconds watched) and accumulate on the progress row instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class CommunityEvent(IdMixin, Base):
    __tablename__ = "community_events"

    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # During the event a host's share of gifts goes to ``credits`` or ``commission`` (None: diamonds).
    gift_conversion: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_community_events_window", "starts_at", "ends_at"),)


class Mission(IdMixin, Base):
    __tablename__ = "community_missions"

    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(16))  # watch_minutes | comment | share | gift | buy
    title: Mapped[str] = mapped_column(String(120))
    target: Mapped[int] = mapped_column()
    reward_kind: Mapped[str] = mapped_column(String(8))  # badge | coupon | credits
    reward_badge: Mapped[str | None] = mapped_column(String(60))
    reward_amount: Mapped[int | None] = mapped_column()  # credits, or a coupon's amount off (minor units)
    reward_percent_bps: Mapped[int | None] = mapped_column()  # a percent coupon
    reward_currency: Mapped[str | None] = mapped_column(String(3))


class MissionProgress(Base):
    __tablename__ = "community_progress"

    mission_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_missions.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_events.id", ondelete="CASCADE"))
    progress: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[int] = mapped_column(default=0)  # watch seconds not yet a whole minute
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reward_reference: Mapped[str | None] = mapped_column(String(80))
    reward_code: Mapped[str | None] = mapped_column(String(60))  # the coupon code granted

    __table_args__ = (Index("ix_community_progress_user_event", "user_id", "event_id"),)


class MissionAction(Base):
    __tablename__ = "community_actions"

    mission_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_missions.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    action_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
