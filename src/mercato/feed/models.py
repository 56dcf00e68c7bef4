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
- ``feed_impressions``: the training log of the learned ranker — for a share of logged-in pages,
  every served item with its feature row, slot and propensity (its outcome is joined from
  ``feed_events`` at training time).
- ``feed_models``: every training run of the learned ranker (feed/ranker.py) with its
  validation scores; the newest ``promoted`` one ranks the feed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String
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


class FeedImpression(IdMixin, Base):
    """One served item of a logged page: what the learner sees (features) and how it came to be
    shown (``slot``, ``propensity``: 1 for ranked and fresh slots, the draw's chance for an
    exploration slot), under which model (``model_version``, 0: the hand weights)."""

    __tablename__ = "feed_impressions"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"))
    served_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    position: Mapped[int] = mapped_column(default=0)
    slot: Mapped[str] = mapped_column(String(12), default="ranked")
    propensity: Mapped[float] = mapped_column(Float, default=1.0)
    model_version: Mapped[int] = mapped_column(default=0)
    features: Mapped[list[float]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_feed_impressions_served", "served_at"),)


class FeedModel(IdMixin, Base):
    """A training run of the learned ranker. ``status``: promoted (it ranks the feed while it is
    the newest promoted one), rejected (no better than the hand weights on validation) or
    insufficient (too little data: nothing was fitted)."""

    __tablename__ = "feed_models"

    trained_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(12))
    feature_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    coefficients: Mapped[list[float]] = mapped_column(JSON, default=list)
    importances: Mapped[list[float]] = mapped_column(JSON, default=list)
    train_examples: Mapped[int] = mapped_column(default=0)
    validation_examples: Mapped[int] = mapped_column(default=0)
    positives: Mapped[int] = mapped_column(default=0)
    val_ndcg: Mapped[float | None] = mapped_column(Float)
    hand_val_ndcg: Mapped[float | None] = mapped_column(Float)
    val_auc: Mapped[float | None] = mapped_column(Float)
    hand_val_auc: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ix_feed_models_status", "status", "id"),)

    def coefficients_for(self, names: tuple[str, ...]) -> tuple[float, ...] | None:
        """The coefficients in ``names`` order (a feature the model lacks weighs 0); None when the
        model knows a feature this code does not (trained by newer code: not used)."""
        known = dict(zip(self.feature_names, self.coefficients, strict=True))
        if set(known) - set(names):
            return None
        return tuple(float(known.get(name, 0.0)) for name in names)


__all__ = ["FeedCount", "FeedEvent", "FeedImpression", "FeedModel", "FeedPreference", "FeedSeen", "VideoScore",
           "ViewerAffinity"]
