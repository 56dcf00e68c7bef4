"""Read functions over the rollups — what every dashboard and the summary API are built on
(docs/analytics.md, "Reading"). They never scan raw events.

A :class:`Scope` is one shop, one creator or one LIVE. Periods are half-open ``[start, end)``
UTC datetimes. Totals and breakdowns read the coarsest grain whose buckets the period's bounds
fall on (days, else hours, else minutes), so a month costs ~30 rows per dimension combination,
not 43,200.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository
from mercato.analytics.sink import bucket_of

Bucket = Literal["minute", "hour", "day"]
By = Literal["video", "live", "product", "creator", "source"]
STEPS: dict[str, timedelta] = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_SCOPE_COLUMNS = {"shop": "shop_id", "creator": "creator_id", "live": "live_id"}
_BY_COLUMNS = {"video": "video_id", "live": "live_id", "product": "product_id", "creator": "creator_id",
               "source": "source"}


@dataclass(frozen=True)
class Scope:
    """Whose figures: ``kind`` is ``shop``, ``creator`` or ``live``; ``id`` its id."""

    kind: Literal["shop", "creator", "live"]
    id: int

    @classmethod
    def shop(cls, shop_id: int) -> Scope:
        return cls("shop", shop_id)

    @classmethod
    def creator(cls, creator_id: int) -> Scope:
        return cls("creator", creator_id)

    @classmethod
    def live(cls, live_id: int) -> Scope:
        return cls("live", live_id)


@dataclass
class Figures:
    """Sums of one kind of event: how many, money (minor units, per currency), quantity, watch time."""

    count: int = 0
    quantity: int = 0
    watch_ms: int = 0
    values: dict[str, int] = field(default_factory=dict)

    def value(self, currency: str) -> int:
        return self.values.get(currency, 0)

    def add(self, currency: str, count: int, value: int, quantity: int, watch_ms: int) -> None:
        self.count += count
        self.quantity += quantity
        self.watch_ms += watch_ms
        if value or currency:
            self.values[currency] = self.values.get(currency, 0) + value


@dataclass(frozen=True)
class Point:
    """One bucket of a series: its start and the figures of every asked kind."""

    at: datetime
    figures: dict[str, Figures]


def _grain_for(start: datetime, end: datetime) -> str:
    for grain in ("day", "hour"):
        if bucket_of(start, grain) == start and bucket_of(end, grain) == end:
            return grain
    return "minute"


def _empty(kinds: Sequence[str]) -> dict[str, Figures]:
    return {kind: Figures() for kind in kinds}


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def totals(db: AsyncSession, scope: Scope, kinds: Sequence[str], start: datetime,
                 end: datetime) -> dict[str, Figures]:
    """Every asked kind's figures over ``[start, end)`` (zeros for a kind with no events)."""
    start, end = _utc(start), _utc(end)
    out = _empty(kinds)
    rows = await repository.rollup_sums(db, scope_column=_SCOPE_COLUMNS[scope.kind], scope_id=scope.id,
                                        kinds=list(kinds), grain=_grain_for(start, end), start=start, end=end,
                                        by=None)
    for _group, kind, currency, count, value, quantity, watch_ms in rows:
        out[kind].add(currency, int(count), int(value), int(quantity), int(watch_ms))
    return out


async def series(db: AsyncSession, scope: Scope, kinds: Sequence[str], start: datetime, end: datetime,
                 bucket: Bucket) -> list[Point]:
    """Figures per ``bucket`` from ``start``'s bucket up to ``end`` (exclusive), every bucket present."""
    start, end = bucket_of(_utc(start), bucket), _utc(end)
    points: dict[datetime, dict[str, Figures]] = {}
    at = start
    while at < end:
        points[at] = _empty(kinds)
        at += STEPS[bucket]
    rows = await repository.rollup_sums(db, scope_column=_SCOPE_COLUMNS[scope.kind], scope_id=scope.id,
                                        kinds=list(kinds), grain=bucket, start=start, end=end, by="bucket")
    for group, kind, currency, count, value, quantity, watch_ms in rows:
        stamp = _utc(group) if isinstance(group, datetime) else None
        if stamp is not None and stamp in points:
            points[stamp][kind].add(currency, int(count), int(value), int(quantity), int(watch_ms))
    return [Point(at=key, figures=figures) for key, figures in points.items()]


async def breakdown(db: AsyncSession, scope: Scope, kinds: Sequence[str], start: datetime, end: datetime,
                    by: By) -> dict[int | str, dict[str, Figures]]:
    """Figures per video, LIVE, product, creator (ids) or traffic source (names) over
    ``[start, end)``; events that concern no such thing (id 0) are left out."""
    start, end = _utc(start), _utc(end)
    out: dict[int | str, dict[str, Figures]] = {}
    rows = await repository.rollup_sums(db, scope_column=_SCOPE_COLUMNS[scope.kind], scope_id=scope.id,
                                        kinds=list(kinds), grain=_grain_for(start, end), start=start, end=end,
                                        by=_BY_COLUMNS[by])
    for group, kind, currency, count, value, quantity, watch_ms in rows:
        if group in (0, "", None):
            continue
        key: int | str = str(group) if by == "source" else int(group)
        figures = out.setdefault(key, _empty(kinds))
        figures[kind].add(currency, int(count), int(value), int(quantity), int(watch_ms))
    return out
