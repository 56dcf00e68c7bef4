"""Videos, their hashtags, mentions and product anchors, and the community around them:
likes, saves, threaded comments, shares (links that carry attribution) and reports.

Counters on ``videos`` are updated atomically (``count = count + 1``) by the service that
records the fact; the fact tables are the truth."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class Video(IdMixin, TimestampMixin, Base):
    """One short video. ``status``: ``published`` (visible), ``removed`` (taken down by an
    operator after reports: only its creator sees it, with the reason)."""

    __tablename__ = "videos"

    creator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    caption: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="published")
    removed_reason: Mapped[str | None] = mapped_column(String(200))
    # Media, relative to ``settings.media_dir``: the file served to players (H.264/AAC MP4 or
    # the original when browsers play it), the original upload, and the poster frame (JPEG).
    media_path: Mapped[str] = mapped_column(String(255))
    original_path: Mapped[str | None] = mapped_column(String(255))
    poster_path: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(40), default="video/mp4")
    container: Mapped[str] = mapped_column(String(40), default="")
    video_codec: Mapped[str] = mapped_column(String(20), default="")
    audio_codec: Mapped[str | None] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Counters (atomic updates).
    views_count: Mapped[int] = mapped_column(BigInteger, default=0)
    likes_count: Mapped[int] = mapped_column(BigInteger, default=0)
    comments_count: Mapped[int] = mapped_column(BigInteger, default=0)
    shares_count: Mapped[int] = mapped_column(BigInteger, default=0)
    saves_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reports_count: Mapped[int] = mapped_column(default=0)
    product_clicks_count: Mapped[int] = mapped_column(BigInteger, default=0)
    completions_count: Mapped[int] = mapped_column(BigInteger, default=0)
    watch_ms_total: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index("ix_videos_creator", "creator_id", "created_at", "id"),
        Index("ix_videos_status_created", "status", "created_at", "id"),
        Index("ix_videos_updated", "updated_at"),  # the feed index's incremental refresh (migration 0004)
        # /media/videos/… looks up the video a file belongs to on every request (migration 0007).
        Index("ix_videos_media_path", "media_path"),
        Index("ix_videos_poster_path", "poster_path"),
        CheckConstraint("likes_count >= 0 AND saves_count >= 0 AND comments_count >= 0", name="counters_not_negative"),
    )


class VideoHashtag(Base):
    """``tag`` is lower-case, without the ``#``."""

    __tablename__ = "video_hashtags"

    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)

    __table_args__ = (Index("ix_video_hashtags_tag", "tag", "video_id"),)


class VideoMention(Base):
    __tablename__ = "video_mentions"

    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_video_mentions_user", "user_id"),)


class VideoProduct(Base):
    """A product anchor: a product card shown on the video (at most ``max_video_anchors``)."""

    __tablename__ = "video_products"

    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_video_products_product", "product_id"),)


class VideoLike(Base):
    __tablename__ = "video_likes"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_video_likes_video", "video_id"),)


class VideoSave(Base):
    __tablename__ = "video_saves"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_video_saves_video", "video_id"),)


class VideoComment(IdMixin, Base):
    """Threaded one level deep: a reply's ``parent_id`` is a top-level comment."""

    __tablename__ = "video_comments"

    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("video_comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    replies_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_video_comments_video", "video_id", "parent_id", "created_at", "id"),
        Index("ix_video_comments_parent", "parent_id", "created_at", "id"),
    )


class VideoShare(IdMixin, Base):
    """A share link ``/s/<token>``: who shared (None for anonymous), where, and its visits."""

    __tablename__ = "video_shares"

    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(20), default="link")
    visits_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VideoReport(IdMixin, Base):
    """A viewer's report; ``status``: open → upheld (video removed) | dismissed."""

    __tablename__ = "video_reports"

    video_id: Mapped[int] = mapped_column(BigId, ForeignKey("videos.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(30))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolved_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("video_id", "reporter_id", name="uq_video_reports_video_reporter"),
        Index("ix_video_reports_status", "status", "created_at"),
    )


__all__ = [
    "Video", "VideoComment", "VideoHashtag", "VideoLike", "VideoMention", "VideoProduct", "VideoReport",
    "VideoSave", "VideoShare",
]
