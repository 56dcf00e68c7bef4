"""Read functions over the rollups — what every dashboard and the summary API are built on
(docs/analytics.md, "Reading"). They never scan raw events beyond those still queued for the
fold (half a second's worth; analytics/sink.py).

A :class:`Scope` is one shop, one creator or one LIVE. Periods are half-open ``[start, end)``
UTC datetimes (a minute that starts inside counts whole). Each read takes the coarsest rows the
period allows (:func:`plan`): whole days and hours before ``rolled_until`` (how far the
``analytics_rollup`` job has made them complete), minutes for the rest — so a month costs ~30
day rows per dimension combination — and adds the events still queued, so the last minutes are as
fresh as the capture.
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


_ORDER = ("minute", "hour", "day")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def plan(start: datetime, end: datetime, cut: datetime | None, coarsest: str = "day") -> list[tuple[str, datetime,
                                                                                                     datetime]]:
    """``[start, end)`` as ``(grain, from, to)`` ranges, coarsest first where the bounds allow:
    whole days and hours only before ``cut`` (how far the hour and day rows are complete), minutes
    elsewhere (always complete), no grain coarser than ``coarsest``."""
    limit = cut or _EPOCH
    allowed = _ORDER[:_ORDER.index(coarsest) + 1]
    out: list[tuple[str, datetime, datetime]] = []
    at = start
    while at < end:
        for grain in reversed(allowed):
            step = STEPS[grain]
            if grain == "minute" or (bucket_of(at, grain) == at and at + step <= min(end, limit)):
                break
        if grain == "minute":
            boundary = bucket_of(at, "hour") + STEPS["hour"]
            upto = end if at >= limit else min(end, boundary)
        else:
            upto = at + STEPS[grain]
        if out and out[-1][0] == grain and out[-1][2] == at:
            out[-1] = (grain, out[-1][1], upto)
        else:
            out.append((grain, at, upto))
        at = upto
    return out


def _empty(kinds: Sequence[str]) -> dict[str, Figures]:
    return {kind: Figures() for kind in kinds}


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def _sums(db: AsyncSession, scope: Scope, kinds: Sequence[str], start: datetime, end: datetime,
                by: str | None, coarsest: str = "day") -> list[tuple[object, ...]]:
    cut = await repository.rolled_until(db)
    return await repository.scope_sums(db, scope_column=_SCOPE_COLUMNS[scope.kind], scope_id=scope.id,
                                       kinds=list(kinds), ranges=plan(start, end, cut, coarsest), by=by)


async def totals(db: AsyncSession, scope: Scope, kinds: Sequence[str], start: datetime,
                 end: datetime) -> dict[str, Figures]:
    """Every asked kind's figures over ``[start, end)`` (zeros for a kind with no events)."""
    out = _empty(kinds)
    for _group, kind, currency, count, value, quantity, watch_ms in await _sums(db, scope, kinds, _utc(start),
                                                                                _utc(end), None):
        out[str(kind)].add(str(currency), int(count), int(value), int(quantity), int(watch_ms))  # type: ignore[call-overload]
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
    for group, kind, currency, count, value, quantity, watch_ms in await _sums(db, scope, kinds, start, end,
                                                                               "bucket", bucket):
        if not isinstance(group, datetime):
            continue
        stamp = bucket_of(_utc(group), bucket)
        if stamp in points:
            points[stamp][str(kind)].add(str(currency), int(count), int(value), int(quantity), int(watch_ms))  # type: ignore[call-overload]
    return [Point(at=key, figures=figures) for key, figures in points.items()]


async def breakdown(db: AsyncSession, scope: Scope, kinds: Sequence[str], start: datetime, end: datetime,
                    by: By) -> dict[int | str, dict[str, Figures]]:
    """Figures per video, LIVE, product, creator (ids) or traffic source (names) over
    ``[start, end)``; events that concern no such thing (id 0) are left out."""
    out: dict[int | str, dict[str, Figures]] = {}
    for group, kind, currency, count, value, quantity, watch_ms in await _sums(db, scope, kinds, _utc(start),
                                                                               _utc(end), _BY_COLUMNS[by]):
        if group in (0, "", None):
            continue
        key: int | str = str(group) if by == "source" else int(group)  # type: ignore[call-overload]
        figures = out.setdefault(key, _empty(kinds))
        figures[str(kind)].add(str(currency), int(count), int(value), int(quantity), int(watch_ms))  # type: ignore[call-overload]
    return out
