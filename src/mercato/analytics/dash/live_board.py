"""The LIVE dashboard: what the host and the shop watch while a LIVE runs (docs/analytics.md,
"LIVE dashboard").

A snapshot is built from the LIVE's minute rollups and its events still queued for the fold
(everything recorded for the LIVE: joins and leaves with watch time, likes, comments, shares,
gifts, product clicks, paid orders) and the room's live viewer count (``live/audience.py``). Two judgements are added:

- **the worst metric**: each rate (average watch time, likes per viewer, comment rate, gift rate,
  CTR, click-to-order) divided by the median of the same rate over the host's last
  :data:`PAST_LIVES` ended LIVEs; the lowest ratio below 1 is the worst (none without past LIVEs);
- **conversion spikes**: a minute whose paid orders are at least :data:`SPIKE_MIN_ORDERS` and at
  least :data:`SPIKE_FACTOR` times the mean orders per minute of the LIVE's minutes before it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import queries
from mercato.analytics.dash import repository
from mercato.analytics.dash.figures import ratio
from mercato.analytics.queries import Figures, Scope
from mercato.catalog import repository as catalog_repo
from mercato.kit.errors import Forbidden
from mercato.live import audience
from mercato.live import service as live_service
from mercato.live.errors import LiveError

if TYPE_CHECKING:
    from mercato.accounts.models import User
    from mercato.live.models import Live

KINDS = ("live_join", "live_leave", "view", "like", "comment", "share", "gift", "product_card_click", "order_paid")
PAST_LIVES = 20
SPIKE_MIN_ORDERS = 3
SPIKE_FACTOR = 2.0
# The rates compared with the host's past LIVEs (higher is better for each).
RATES = {"avg_watch_ms": "Average watch time", "likes_per_viewer": "Likes per viewer",
         "comment_rate": "Comment rate", "gift_rate": "Gift rate", "ctr": "CTR",
         "click_to_order": "Click-to-order rate"}


@dataclass
class Board:
    """Everything the dashboard shows of one LIVE (``body()`` is the JSON pushed)."""

    live_id: int
    status: str
    currency: str
    figures: dict[str, Any]
    timeline: dict[str, Any]
    worst: dict[str, Any] | None = None
    medians: dict[str, float] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"live_id": self.live_id, "status": self.status, "currency": self.currency, "figures": self.figures,
                "timeline": self.timeline, "worst": self.worst, "medians": self.medians}


async def watchable_live(db: AsyncSession, user: User, live_id: int) -> Live:
    """The LIVE when ``user`` may watch its dashboard: its host, a member of its shop, an
    operator (403 for anyone else; 404 when there is no such LIVE)."""
    live = await live_service.get_live(db, live_id)
    if live.host_id == user.id or user.is_admin:
        return live
    if live.shop_id is not None and await catalog_repo.membership(db, live.shop_id, user.id) is not None:
        return live
    raise Forbidden("Only the host and the shop's team see this LIVE's dashboard.", code=LiveError.NOT_HOST)


def _window(live: Live, now: datetime) -> tuple[datetime, datetime]:
    start = (live.started_at or live.scheduled_at or now).astimezone(UTC).replace(second=0, microsecond=0)
    end = (live.ended_at.astimezone(UTC) if live.ended_at else now) + timedelta(minutes=1)
    end = end.replace(second=0, microsecond=0)
    return start, max(end, start + timedelta(minutes=1))


def rates(values: dict[str, int]) -> dict[str, float]:
    viewers = values["viewers_total"]
    return {
        "avg_watch_ms": round(values["watch_ms"] / viewers, 1) if viewers else 0.0,
        "likes_per_viewer": round(values["likes"] / viewers, 2) if viewers else 0.0,
        "comment_rate": ratio(values["comments"], viewers),
        "gift_rate": ratio(values["gifts"], viewers),
        "ctr": ratio(values["product_clicks"], viewers),
        "click_to_order": ratio(values["orders"], values["product_clicks"]),
    }


def counts(figures: dict[str, Figures], currency: str) -> dict[str, int]:
    return {
        "viewers_total": figures["live_join"].count,
        "watch_ms": figures["live_leave"].watch_ms + figures["view"].watch_ms,
        "likes": figures["like"].count,
        "comments": figures["comment"].count,
        "shares": figures["share"].count,
        "gifts": figures["gift"].count,
        "gift_value": figures["gift"].value(currency),
        "product_clicks": figures["product_card_click"].count,
        "orders": figures["order_paid"].count,
        "items_sold": figures["order_paid"].quantity,
        "gmv": figures["order_paid"].value(currency),
    }


def spikes(orders: list[int]) -> list[int]:
    """Indexes of the minutes that are conversion spikes (rule in the module's docstring)."""
    marked: list[int] = []
    total = 0
    for i, n in enumerate(orders):
        mean = total / i if i else 0.0
        if n >= SPIKE_MIN_ORDERS and n >= SPIKE_FACTOR * mean:
            marked.append(i)
        total += n
    return marked


def worst_metric(now: dict[str, float], medians: dict[str, float]) -> dict[str, Any] | None:
    """The rate furthest below the host's median (ratio < 1), or None."""
    worst: tuple[float, str] | None = None
    for key, median in medians.items():
        if median <= 0:
            continue
        share = now[key] / median
        if share < 1 and (worst is None or share < worst[0]):
            worst = (share, key)
    if worst is None:
        return None
    return {"key": worst[1], "label": RATES[worst[1]], "value": now[worst[1]], "median": medians[worst[1]],
            "vs_median_pct": round(worst[0] * 100 - 100, 1)}


async def currency_of(db: AsyncSession, live: Live) -> str:
    if live.shop_id is not None:
        shops = await catalog_repo.shops_by_ids(db, [live.shop_id])
        if live.shop_id in shops:
            return shops[live.shop_id].currency
    return "USD"


async def past_medians(db: AsyncSession, live: Live, currency: str) -> dict[str, float]:
    """The median of each rate over the host's last ended LIVEs before this one ({} without any)."""
    past = await repository.past_lives(db, live.host_id, before_id=live.id, limit=PAST_LIVES)
    series: dict[str, list[float]] = {key: [] for key in RATES}
    for other_id, started, ended in past:
        if started is None or ended is None:
            continue
        start = started.astimezone(UTC).replace(second=0, microsecond=0)
        end = (ended.astimezone(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        values = counts(await queries.totals(db, Scope.live(other_id), KINDS, start, end), currency)
        if not values["viewers_total"]:
            continue
        for key, value in rates(values).items():
            series[key].append(value)
    return {key: float(statistics.median(values)) for key, values in series.items() if values}


async def board(db: AsyncSession, live: Live, *, medians: dict[str, float] | None = None,
                currency: str | None = None, now: datetime | None = None) -> Board:
    """The LIVE's dashboard now. ``medians`` and ``currency`` may be passed in by a caller that
    refreshes the board (they do not change while the LIVE runs)."""
    now = now or datetime.now(UTC)
    currency = currency or await currency_of(db, live)
    if medians is None:
        medians = await past_medians(db, live, currency)
    start, end = _window(live, now)
    scope = Scope.live(live.id)
    values = counts(await queries.totals(db, scope, KINDS, start, end), currency)
    viewers_now = audience.viewers(live.id) if live.status == "live" else 0
    now_rates = rates(values)
    figures: dict[str, Any] = {**values, **now_rates, "viewers_now": viewers_now,
                               "peak_viewers": max(live.peak_viewers, viewers_now)}
    points = await queries.series(db, scope, ("order_paid", "product_card_click", "live_join"), start, end, "minute")
    t = [int(p.at.timestamp()) for p in points]
    orders = [p.figures["order_paid"].count for p in points]
    timeline = {"t": t, "orders": orders, "gmv": [p.figures["order_paid"].value(currency) for p in points],
                "product_clicks": [p.figures["product_card_click"].count for p in points],
                "joins": [p.figures["live_join"].count for p in points], "currency": currency,
                "marks": [t[i] for i in spikes(orders)]}
    return Board(live_id=live.id, status=live.status, currency=currency, figures=figures, timeline=timeline,
                 worst=worst_metric(now_rates, medians), medians=medians)
