"""Users, sessions, follows, blocks, login failures and in-app notifications."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class User(IdMixin, TimestampMixin, Base):
    """One account. Shopping is open to all; creator and seller are capabilities on top."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(Date)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_creator: Mapped[bool] = mapped_column(Boolean, default=False)
    handle: Mapped[str | None] = mapped_column(String(30), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    niche_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    avatar_path: Mapped[str | None] = mapped_column(String(255))
    followers_count: Mapped[int] = mapped_column(default=0)
    following_count: Mapped[int] = mapped_column(default=0)


class Session(IdMixin, Base):
    """An opaque login session; only the SHA-256 of its token is stored."""

    __tablename__ = "sessions"

    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class Follow(Base):
    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    followee_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_follows_followee", "followee_id", "created_at"),)


class Block(Base):
    __tablename__ = "blocks"

    blocker_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_blocks_blocked", "blocked_id"),)


class LoginFailure(IdMixin, Base):
    """A failed log-in, counted in a sliding window for throttling (never a permanent lock)."""

    __tablename__ = "login_failures"

    email: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_login_failures_email", "email", "created_at"),
        Index("ix_login_failures_client", "client", "created_at"),
    )


__all__ = ["Block", "Follow", "LoginFailure", "Session", "User"]


class Notification(IdMixin, Base):
    """An in-app notification (the bell). ``kind`` and ``subject_id`` name what it is about
    (``live_started`` and the LIVE's id): one per user, kind and subject, so a repeated event
    (a publisher reconnecting) never notifies twice. ``text`` and ``url`` are written by the
    domain that notifies; accounts knows no other domain."""

    __tablename__ = "notifications"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigId)
    text: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("user_id", "kind", "subject_id", name="uq_notifications_user_subject"),
        Index("ix_notifications_user_id", "user_id", "id"),
    )
