"""The SQL sink: events into ``analytics_events``, queued for their rollups, in the caller's transaction.

The capturing transaction only appends: the raw rows (insert-or-ignore by ``event_id``, so a
retry or a re-sent beacon counts once) and, for the new ones, a row each in
``analytics_pending`` (their rollup key and sums). The ``analytics_fold`` job (``analytics/rollup.py``, every
``FOLD_SECONDS``) moves the queue into the minute rollups — and the hour and day rows of late
events — deleting what it folds in the same transaction, so each event is folded exactly once
and commits or rolls back with the fact it describes. Reads add what is still queued
(``repository.scope_sums``), so a dashboard sees an event as soon as its transaction commits.

Why not upsert the rollups in the capturing transaction: every event of a busy LIVE or video
updates the same minute row, so the transactions recording them would queue on that row's lock,
and each commit would rewrite the row's page; folded every half second, a hot row is written
twice a second whatever the traffic (benchmarks/README.md, ``ingest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository
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


#: An event older than this (from the start of the current hour) when it is folded adds to its
#: hour and day rows too (a late beacon, a backfill): the ``analytics_rollup`` job recomputes only
#: the hours after it (analytics/rollup.py). A recent one is folded into its minute row only.
LATE = timedelta(hours=2)


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
        new = await repository.store_events(db, rows)
        return complete if len(new) == len(complete) else [event for event in complete if event.event_id in new]
