"""Analytics use cases behind the API: client beacons and the summaries (docs/analytics.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.analytics import queries, repository
from mercato.analytics.errors import AnalyticsError
from mercato.analytics.schemas import BeaconIn
from mercato.kit.db import utcnow
from mercato.kit.errors import ValidationFailed
from mercato.kit.events import Event, age_band, normal_source, record_many

#: The field a beacon of each kind must name.
_TARGETS = {"impression": ("video_id", "live_id"), "view": ("video_id", "live_id"),
            "product_view": ("product_id",), "shop_view": ("shop_id",)}
MAX_PERIOD_DAYS = 366
SUMMARY_KINDS = ("order_paid", "product_card_click", "impression", "refund")


async def record_beacons(db: AsyncSession, viewer: User | None, beacons: Sequence[BeaconIn]) -> tuple[int, int]:
    """Client beacons as events: ``(accepted, recorded)``. Every beacon must name what its kind
    is about, and every id must exist (else 422, nothing recorded). The creator, the product
    card and the shop come from the server's data, never from the client."""
    for index, beacon in enumerate(beacons):
        if not any(getattr(beacon, name) is not None for name in _TARGETS[beacon.kind]):
            raise ValidationFailed(f"A {beacon.kind} beacon names {' or '.join(_TARGETS[beacon.kind])}.",
                                   code=AnalyticsError.BEACON_TARGET_MISSING,
                                   details={"index": index, "fields": list(_TARGETS[beacon.kind])})
    videos = await repository.videos_and_cards(db, {b.video_id for b in beacons if b.video_id is not None})
    hosts = await repository.hosts(db, {b.live_id for b in beacons if b.live_id is not None})
    shops_of = await repository.products_shops(db, {b.product_id for b in beacons if b.product_id is not None})
    shops = await repository.existing_shops(db, {b.shop_id for b in beacons if b.shop_id is not None})
    unknown: dict[str, list[int]] = {}
    for name, known in (("video_id", videos), ("live_id", hosts), ("product_id", shops_of), ("shop_id", shops)):
        missing = sorted({getattr(b, name) for b in beacons if getattr(b, name) is not None} - set(known))
        if missing:
            unknown[name] = missing
    if unknown:
        raise ValidationFailed("Some beacons name things that do not exist.", code=AnalyticsError.UNKNOWN_TARGET,
                               details=unknown)
    now = utcnow()
    out: list[Event] = []
    for beacon in beacons:
        values: dict[str, Any] = {"live_id": beacon.live_id}
        if beacon.kind in ("impression", "view") and beacon.video_id is not None:
            creator_id, product_id, shop_id = videos[beacon.video_id]
            values |= {"video_id": beacon.video_id, "creator_id": creator_id, "product_id": product_id,
                       "shop_id": shop_id}
        elif beacon.kind in ("impression", "view"):
            assert beacon.live_id is not None
            values["creator_id"] = hosts[beacon.live_id]
        elif beacon.kind == "product_view":
            assert beacon.product_id is not None
            values |= {"product_id": beacon.product_id, "shop_id": shops_of[beacon.product_id]}
        else:
            values["shop_id"] = beacon.shop_id
        out.append(Event(event_id=f"beacon:{beacon.id}", kind=beacon.kind, occurred_at=now,
                         source=normal_source(beacon.src), viewer_id=viewer.id if viewer else None,
                         age_band=age_band(viewer.date_of_birth, now.date()) if viewer else None,
                         watch_ms=beacon.watch_ms if beacon.kind == "view" else 0, **values))
    return len(beacons), await record_many(db, out)


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """Inclusive UTC days as ``[start, end)``; 422 when reversed or longer than a year."""
    if end < start or (end - start).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed(f"The period runs from a day to the same or a later day, {MAX_PERIOD_DAYS} days "
                               "at most.", code=AnalyticsError.INVALID_PERIOD,
                               details={"from": start.isoformat(), "to": end.isoformat()})
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return first, datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)


async def summary(db: AsyncSession, scope: queries.Scope, start: date, end: date,
                  currency: str | None) -> dict[str, Any]:
    """The summary figures of a shop or a creator over inclusive days. Money is in ``currency``
    (the shop's); for a creator (``None``), the currency in which the most was sold."""
    first, after = period(start, end)
    figures = await queries.totals(db, scope, SUMMARY_KINDS, first, after)
    paid, clicks, impressions, refunds = (figures[kind] for kind in SUMMARY_KINDS)
    if currency is None:
        currency = max(paid.values, key=lambda c: paid.values[c]) if paid.values else "USD"
    return {
        "from": start.isoformat(), "to": end.isoformat(), "orders": paid.count,
        "gmv": {"amount": paid.value(currency), "currency": currency}, "items_sold": paid.quantity,
        "product_clicks": clicks.count, "impressions": impressions.count,
        "ctr": round(clicks.count / impressions.count, 4) if impressions.count else 0.0,
        "refunds": {"count": refunds.count, "amount": refunds.value(currency)},
    }
