"""The SQL sink: events into ``analytics_events`` and their rollups, in the caller's transaction.

Why in the same transaction rather than an in-process aggregator: an event and its rollup commit
or roll back with the fact they describe (no lost or doubled counts after a crash, no flusher to
run in every process), and the dashboards see it as soon as it commits. Only the events that were
new (not known by ``event_id``) reach the rollups, so a retry counts once. Deltas are grouped per
rollup key before the upsert, so a batch touches each rollup row once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository
from mercato.analytics.models import GRAINS
from mercato.kit.events import Event

#: Upper bounds (exclusive) of the age bands; the last band is open.
AGE_BANDS = ((18, "13-17"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"))


def age_band(born: date, on: date) -> str:
    """The coarse age band of someone born on ``born``, on the day ``on``."""
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for bound, band in AGE_BANDS:
        if age < bound:
            return band
    return "55+"


def bucket_of(at: datetime, grain: str) -> datetime:
    """The start of ``at``'s minute, hour or day (UTC)."""
    at = at.astimezone(UTC)
    if grain == "minute":
        return at.replace(second=0, microsecond=0)
    if grain == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _row(event: Event, band: str | None) -> dict[str, Any]:
    return {"event_id": event.event_id, "kind": event.kind, "occurred_at": event.occurred_at.astimezone(UTC),
            "source": event.source, "creator_id": event.creator_id, "video_id": event.video_id,
            "live_id": event.live_id, "product_id": event.product_id, "shop_id": event.shop_id,
            "viewer_id": event.viewer_id, "age_band": band, "region": event.region, "value": event.value,
            "currency": event.currency, "quantity": event.quantity, "watch_ms": event.watch_ms}


def rollup_deltas(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The grouped ``(key, sums)`` of event rows for every grain."""
    grouped: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        dims = (row["kind"], row["source"], row["creator_id"] or 0, row["video_id"] or 0, row["live_id"] or 0,
                row["product_id"] or 0, row["shop_id"] or 0, row["age_band"] or "", row["region"] or "",
                row["currency"] or "")
        for grain in GRAINS:
            key = (grain, bucket_of(row["occurred_at"], grain), *dims)
            sums = grouped.get(key)
            if sums is None:
                sums = grouped[key] = [0, 0, 0, 0]
            sums[0] += 1
            sums[1] += row["value"]
            sums[2] += row["quantity"]
            sums[3] += row["watch_ms"]
    return [dict(zip(repository.ROLLUP_KEY, key, strict=True))
            | dict(zip(repository.ROLLUP_SUMS, sums, strict=True)) for key, sums in grouped.items()]


class SqlSink:
    """The event store in the application database (docs/analytics.md)."""

    async def write(self, db: AsyncSession, events: Sequence[Event]) -> int:
        unique: dict[str, Event] = {}
        for event in events:
            unique.setdefault(event.event_id, event)
        wanted = {e.viewer_id for e in unique.values() if e.viewer_id is not None and e.age_band is None}
        born = await repository.births(db, wanted)
        rows = []
        for event in unique.values():
            band = event.age_band
            if band is None and event.viewer_id in born:
                band = age_band(born[event.viewer_id], event.occurred_at.date())
            rows.append(_row(event, band))
        new = await repository.insert_events(db, rows)
        if not new:
            return 0
        await repository.upsert_rollups(db, rollup_deltas([row for row in rows if row["event_id"] in new]))
        return len(new)
