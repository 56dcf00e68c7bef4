"""Engagement signals and what the ranking keeps about viewers and videos.

- ``feed_events``: the raw, append-only engagement log (impression, watch, skip, like, share,
  comment, save, product_click, add_to_cart, purchase). Analytics will read it later.
- ``feed_seen``: one row per (viewer, video) seen — no repeats within ``feed_seen_window_hours``.
- ``viewer_affinities``: the viewer's interest profile, updated on every event (real time):
  ``kind`` is ``tag``, ``creator`` or ``category``; ``score`` decays with
  ``feed_affinity_half_life_hours`` (stored at a reference time, see feed/docs).
- ``video_scores``: per-video trending (recent engagement velocity, exponentially decayed)
  and quality (completion-weighted engagement) signals, updated on every event.
- ``feed_preferences``: the viewer's personalisation opt-out.
- ``feed_counts``: per (viewer, video, kind), the client-reported events of the current window,
  so that only the first ``feed_counted_events_per_video`` of them count (docs/feed.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class FeedEvent(IdMixin, Base):
    __tablename__ = "feed_events"

    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    watch_ms: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_feed_events_user", "user_id", "created_at"),
        Index("ix_feed_events_video", "video_id", "created_at"),
    )


class FeedSeen(Base):
    __tablename__ = "feed_seen"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    watch_ms: Mapped[int] = mapped_column(default=0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_feed_seen_user_time", "user_id", "seen_at"),)


class ViewerAffinity(Base):
    __tablename__ = "viewer_affinities"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # tag | creator | category
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VideoScore(Base):
    __tablename__ = "video_scores"

    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    trending: Mapped[float] = mapped_column(Float, default=0.0)
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    impressions: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The feed's in-process index reads the rows changed since its last refresh (migration 0004).
    __table_args__ = (Index("ix_video_scores_updated", "updated_at"),)


class FeedPreference(Base):
    __tablename__ = "feed_preferences"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    personalised: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeedCount(Base):
    """A signed-in viewer's client-reported events of one kind on one video since
    ``window_start``; reset by the first event after ``feed_count_window_hours``."""

    __tablename__ = "feed_counts"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    events: Mapped[int] = mapped_column(default=0)


__all__ = ["FeedCount", "FeedEvent", "FeedPreference", "FeedSeen", "VideoScore", "ViewerAffinity"]
