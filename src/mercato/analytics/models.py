"""The analytics event store (docs/analytics.md).

- ``analytics_events``: the raw stream, one row per event, unique by ``event_id`` (a retry or a
  re-sent beacon inserts nothing). Kept ``analytics_raw_retention_days`` and then pruned by the
  ``analytics_prune`` job. No foreign keys: an event outlives what it names and the hot insert
  path checks nothing it does not need.
- ``analytics_rollups``: the aggregates dashboards read, one row per grain (``minute``, ``hour``,
  ``day``) × bucket start × kind × source × dimensions (creator, video, LIVE, product, shop, age
  band, region, currency) with ``count``, ``value_sum``, ``quantity_sum`` and ``watch_ms``.
  Minute rows are folded from ``analytics_pending`` by the ``analytics_fold`` job; hour and day
  rows are recomputed from them by the ``analytics_rollup`` job (an event older than that job's
  window is folded into all three grains). Kept forever. A dimension that
  does not apply is ``0`` / ``''`` rather than NULL, so the unique key matches it (NULLs are
  distinct in a unique index). No viewer id in rollups.
- ``analytics_pending``: the events recorded and not yet folded into the minute rollups (what
  the fold needs of each), appended by the capturing transaction; the ``analytics_fold`` job
  moves them into the rollups (deletes them in the transaction that adds them), and reads add
  what is still queued (analytics/sink.py).
- ``analytics_rollup_state``: one row, how far the hour and day rollups are complete
  (``rolled_until``): readers take hours and days before it, minutes after.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime

GRAINS = ("minute", "hour", "day")
DIMENSIONS = ("creator_id", "video_id", "live_id", "product_id", "shop_id", "age_band", "region", "currency")


class AnalyticsEvent(IdMixin, Base):
    __tablename__ = "analytics_events"

    event_id: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(12))
    creator_id: Mapped[int | None] = mapped_column(BigId)
    video_id: Mapped[int | None] = mapped_column(BigId)
    live_id: Mapped[int | None] = mapped_column(BigId)
    product_id: Mapped[int | None] = mapped_column(BigId)
    shop_id: Mapped[int | None] = mapped_column(BigId)
    viewer_id: Mapped[int | None] = mapped_column(BigId)
    age_band: Mapped[str | None] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    watch_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    count: Mapped[int] = mapped_column(Integer, default=1)  # what it adds to its rollup's count (kit/events.py)

    __table_args__ = (
        UniqueConstraint("event_id", name="uq_analytics_events_event_id"),
        Index("ix_analytics_events_occurred_at", "occurred_at"),
    )


# The click that led to an add to cart or a purchase (analytics/sink.py, attribution): clicks
# only, so the other events' inserts do not maintain it.
Index("ix_analytics_events_clicks", AnalyticsEvent.viewer_id, AnalyticsEvent.product_id, AnalyticsEvent.occurred_at,
      sqlite_where=AnalyticsEvent.kind == "product_card_click",
      postgresql_where=AnalyticsEvent.kind == "product_card_click")


class AnalyticsRollup(IdMixin, Base):
    __tablename__ = "analytics_rollups"

    grain: Mapped[str] = mapped_column(String(6))
    bucket: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(12))
    creator_id: Mapped[int] = mapped_column(BigId, default=0)
    video_id: Mapped[int] = mapped_column(BigId, default=0)
    live_id: Mapped[int] = mapped_column(BigId, default=0)
    product_id: Mapped[int] = mapped_column(BigId, default=0)
    shop_id: Mapped[int] = mapped_column(BigId, default=0)
    age_band: Mapped[str] = mapped_column(String(8), default="")
    region: Mapped[str] = mapped_column(String(8), default="")
    currency: Mapped[str] = mapped_column(String(3), default="")
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    value_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    watch_ms: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("grain", "bucket", "kind", "source", *DIMENSIONS, name="uq_analytics_rollups_key"),
        Index("ix_analytics_rollups_shop", "shop_id", "grain", "bucket"),
        Index("ix_analytics_rollups_creator", "creator_id", "grain", "bucket"),
        Index("ix_analytics_rollups_live", "live_id", "grain", "bucket"),
    )


class AnalyticsRollupState(Base):
    __tablename__ = "analytics_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rolled_until: Mapped[datetime] = mapped_column(UTCDateTime())


class AnalyticsPending(IdMixin, Base):
    """An event recorded and not yet in its rollups: what the fold needs of it (time, kind,
    source, dimensions — ``0`` / ``''`` when they do not apply, as in rollups — and the sums),
    copied by the capturing statement, so that neither the fold nor a read joins the raw table.
    No index but the id: the queue holds half a second's worth of events."""

    __tablename__ = "analytics_pending"

    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(12))
    creator_id: Mapped[int] = mapped_column(BigId)
    video_id: Mapped[int] = mapped_column(BigId)
    live_id: Mapped[int] = mapped_column(BigId)
    product_id: Mapped[int] = mapped_column(BigId)
    shop_id: Mapped[int] = mapped_column(BigId)
    age_band: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    count: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    watch_ms: Mapped[int] = mapped_column(BigInteger)
