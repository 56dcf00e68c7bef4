"""The SQL sink: events into ``analytics_events`` and their rollups, in the caller's transaction.

Minute rollups are upserted in the same transaction (hours and days: ``analytics/rollup.py``).
Why in the same transaction rather than an in-process aggregator: an event and its rollup commit
or roll back with the fact they describe (no lost or doubled counts after a crash, no flusher to
run in every process), and the dashboards see it as soon as it commits. Only the events that were
new (not known by ``event_id``) reach the rollups, so a retry counts once. Deltas are grouped per
rollup key before the upsert, so a batch touches each rollup row once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository
from mercato.analytics.models import GRAINS
from mercato.kit.events import Event, age_band


def bucket_of(at: datetime, grain: str) -> datetime:
    """The start of ``at``'s minute, hour or day (UTC)."""
    at = at.astimezone(UTC)
    if grain == "minute":
        return at.replace(second=0, microsecond=0)
    if grain == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


#: Kinds credited to the product-card click that led to them (attribution, docs/analytics.md).
ATTRIBUTED = frozenset({"add_to_cart", "checkout_started", "order_paid"})


def _row(event: Event) -> dict[str, Any]:
    return {"event_id": event.event_id, "kind": event.kind, "occurred_at": event.occurred_at.astimezone(UTC),
            "source": event.source, "creator_id": event.creator_id, "video_id": event.video_id,
            "live_id": event.live_id, "product_id": event.product_id, "shop_id": event.shop_id,
            "viewer_id": event.viewer_id, "age_band": event.age_band, "region": event.region,
            "value": event.value, "currency": event.currency, "quantity": event.quantity,
            "watch_ms": event.watch_ms, "count": event.count}


#: An event older than this (from the start of the current hour) adds to its hour and day rows
#: itself (a late beacon, a backfill): the ``analytics_rollup`` job recomputes only the hours
#: after it (analytics/rollup.py). A recent one updates its minute row only.
LATE = timedelta(hours=2)


def rollup_deltas(rows: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The grouped ``(key, sums)`` of event rows for the grains they update (a batch shares few
    timestamps: each one's buckets are computed once)."""
    late = bucket_of(now, "hour") - LATE
    buckets: dict[datetime, tuple[tuple[str, datetime], ...]] = {}
    grouped: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        at = row["occurred_at"]
        keys = buckets.get(at)
        if keys is None:
            keys = buckets[at] = tuple((grain, bucket_of(at, grain)) for grain in (GRAINS if at < late
                                                                                   else ("minute",)))
        dims = (row["kind"], row["source"], row["creator_id"] or 0, row["video_id"] or 0, row["live_id"] or 0,
                row["product_id"] or 0, row["shop_id"] or 0, row["age_band"] or "", row["region"] or "",
                row["currency"] or "")
        for grain_bucket in keys:
            key = (*grain_bucket, *dims)
            sums = grouped.get(key)
            if sums is None:
                grouped[key] = [row["count"], row["value"], row["quantity"], row["watch_ms"]]
            else:
                sums[0] += row["count"]
                sums[1] += row["value"]
                sums[2] += row["quantity"]
                sums[3] += row["watch_ms"]
    return [dict(zip(repository.ROLLUP_KEY, key, strict=True))
            | dict(zip(repository.ROLLUP_SUMS, sums, strict=True)) for key, sums in grouped.items()]


class SqlSink:
    """The event store in the application database (docs/analytics.md).

    It completes events before storing them: the viewer's age band from their date of birth
    (when the event has a viewer and no band), the host of a LIVE as the creator, and, for an
    add to cart, a checkout or a purchase that names a product but no video, the viewer's latest
    click on that product's card within ``attribution_days`` — its video, creator, LIVE and
    traffic source."""

    def __init__(self, attribution_days: int = 7) -> None:
        self.attribution = timedelta(days=attribution_days)

    async def _attribute(self, db: AsyncSession, event: Event) -> Event:
        if (event.kind not in ATTRIBUTED or event.viewer_id is None or event.product_id is None
                or event.video_id is not None or event.live_id is not None):
            return event
        found = await repository.last_click(db, event.viewer_id, event.product_id,
                                            event.occurred_at - self.attribution, event.occurred_at)
        if found is None:
            return event
        source, video_id, creator_id, live_id = found
        return replace(event, source=source, video_id=video_id, creator_id=creator_id or event.creator_id,
                       live_id=live_id)

    async def write(self, db: AsyncSession, events: Sequence[Event]) -> list[Event]:
        unique: dict[str, Event] = {}
        for event in events:
            unique.setdefault(event.event_id, event)
        wanted = {e.viewer_id for e in unique.values() if e.viewer_id is not None and e.age_band is None}
        born = await repository.births(db, wanted)
        hosts = await repository.hosts(db, {e.live_id for e in unique.values()
                                            if e.live_id is not None and e.creator_id is None})
        complete: list[Event] = []
        for event in unique.values():
            if event.age_band is None and event.viewer_id in born:
                event = replace(event, age_band=age_band(born[event.viewer_id], event.occurred_at.date()))
            if event.creator_id is None and event.live_id in hosts:
                event = replace(event, creator_id=hosts[event.live_id])
            complete.append(await self._attribute(db, event))
        rows = [_row(event) for event in complete]
        new = await repository.insert_events(db, rows)
        if not new:
            return []
        await repository.upsert_rollups(db, rollup_deltas([row for row in rows if row["event_id"] in new],
                                                          datetime.now(UTC)))
        return [event for event in complete if event.event_id in new]
