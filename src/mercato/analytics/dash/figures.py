"""The dashboards' figures, built on the rollups' read functions (``analytics/queries.py``).

Definitions (docs/analytics.md, "Dashboards"):

- views: ``view`` events; watch time: their ``watch_ms`` (with the LIVE's, recorded on ``live_leave``);
- product clicks: ``product_card_click`` events; CTR: product clicks ÷ impressions (as the
  capture's summary API counts it);
- orders: ``order_paid`` events; items sold: their quantity; GMV: their value in the dashboard's
  currency (money in other currencies is not converted: it is reported per currency by the API);
- conversion: orders ÷ product clicks;
- gifts (creators): ``gift`` events and their money value; affiliate GMV (sellers): the GMV of
  orders whose traffic source is ``affiliate`` (what the shop sold through creators).

Every figure is compared with the period of the same length just before (``change`` in %).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import queries
from mercato.analytics.dash.errors import DashboardError
from mercato.analytics.dash.periods import Period, change_pct
from mercato.analytics.queries import Figures, Scope
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import format_money

Audience = Literal["creator", "seller"]
KINDS = ("impression", "view", "live_leave", "product_card_click", "order_paid", "gift", "like", "comment", "share")
BREAKDOWNS = ("video", "live", "product", "creator", "source")
COLUMNS = ("views", "watch_ms", "product_clicks", "ctr", "orders", "items_sold", "gmv")
SOURCE_NAMES = {"foryou": "For You (organic)", "following": "Following (organic)", "search": "Search (organic)",
                "profile": "Profile (organic)", "direct": "Direct (organic)", "affiliate": "Affiliate",
                "live": "LIVE", "ads": "Ads"}


def ratio(part: int, whole: int) -> float:
    """A rate in percent with two decimals (0 when there is nothing to divide by)."""
    return round(part * 100 / whole, 2) if whole else 0.0


def _affiliate_gmv(by_source: dict[int | str, dict[str, Figures]], currency: str) -> int:
    return by_source.get("affiliate", {}).get("order_paid", Figures()).value(currency)


def values_of(figures: dict[str, Figures], currency: str) -> dict[str, Any]:
    """The named figures of one set of totals."""
    views = figures["view"].count
    clicks = figures["product_card_click"].count
    orders = figures["order_paid"].count
    return {
        "views": views,
        "watch_ms": figures["view"].watch_ms + figures["live_leave"].watch_ms,
        "product_clicks": clicks,
        "impressions": figures["impression"].count,
        "ctr": ratio(clicks, figures["impression"].count),
        "orders": orders,
        "items_sold": figures["order_paid"].quantity,
        "gmv": figures["order_paid"].value(currency),
        "conversion": ratio(orders, clicks),
        "gifts": figures["gift"].count,
        "gift_value": figures["gift"].value(currency),
        "likes": figures["like"].count,
        "comments": figures["comment"].count,
        "shares": figures["share"].count,
    }


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: float
    previous: float
    change: float | None
    shown: str


def watch_time(ms: float) -> str:
    minutes = int(ms) // 60_000
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


FIGURES: dict[Audience, tuple[tuple[str, str, Callable[[float, str], str]], ...]] = {
    "creator": (
        ("views", "Views", lambda v, c: f"{int(v):,}"), ("watch_ms", "Watch time", lambda v, c: watch_time(v)),
        ("product_clicks", "Product clicks", lambda v, c: f"{int(v):,}"), ("ctr", "CTR", lambda v, c: f"{v:.2f} %"),
        ("orders", "Orders", lambda v, c: f"{int(v):,}"), ("items_sold", "Items sold", lambda v, c: f"{int(v):,}"),
        ("gmv", "GMV", lambda v, c: format_money(int(v), c)), ("gifts", "Gifts", lambda v, c: f"{int(v):,}"),
    ),
    "seller": (
        ("views", "Views", lambda v, c: f"{int(v):,}"), ("watch_ms", "Watch time", lambda v, c: watch_time(v)),
        ("product_clicks", "Product clicks", lambda v, c: f"{int(v):,}"), ("ctr", "CTR", lambda v, c: f"{v:.2f} %"),
        ("orders", "Orders", lambda v, c: f"{int(v):,}"), ("items_sold", "Items sold", lambda v, c: f"{int(v):,}"),
        ("gmv", "GMV", lambda v, c: format_money(int(v), c)),
        ("affiliate_gmv", "Sold through creators", lambda v, c: format_money(int(v), c)),
    ),
}


async def summary(db: AsyncSession, scope: Scope, period: Period, currency: str) -> dict[str, Any]:
    """The period's figures and the previous period's (``{"now": {...}, "before": {...}}``)."""
    out: dict[str, Any] = {}
    for name, p in (("now", period), ("before", period.previous())):
        values = values_of(await queries.totals(db, scope, KINDS, p.since, p.until), currency)
        if scope.kind == "shop":
            by_source = await queries.breakdown(db, scope, ("order_paid",), p.since, p.until, "source")
            values["affiliate_gmv"] = _affiliate_gmv(by_source, currency)
        out[name] = values
    return out


async def big_numbers(db: AsyncSession, scope: Scope, period: Period, currency: str,
                      audience: Audience) -> list[Figure]:
    both = await summary(db, scope, period, currency)
    return [Figure(key, label, both["now"][key], both["before"][key],
                   change_pct(both["now"][key], both["before"][key]), shown(both["now"][key], currency))
            for key, label, shown in FIGURES[audience]]


async def main_currency(db: AsyncSession, scope: Scope, period: Period, default: str) -> str:
    """The currency a creator's dashboard shows money in: the one they sold most in over the
    period (a creator promotes shops of several currencies), else ``default``."""
    figures = (await queries.totals(db, scope, ("order_paid", "gift"), period.since, period.until))
    values: dict[str, int] = {}
    for f in figures.values():
        for cur, v in f.values.items():
            if cur:
                values[cur] = values.get(cur, 0) + v
    return max(sorted(values), key=lambda c: values[c]) if values else default


async def timeseries(db: AsyncSession, scope: Scope, period: Period, currency: str) -> dict[str, Any]:
    """uPlot's shape: ``t`` (bucket starts, Unix seconds) and one list per figure."""
    points = await queries.series(db, scope, KINDS, period.since, period.until, period.bucket)
    out: dict[str, Any] = {"bucket": period.bucket, "currency": currency, "t": [],
                           "views": [], "product_clicks": [], "orders": [], "gmv": []}
    for point in points:
        values = values_of(point.figures, currency)
        out["t"].append(int(point.at.timestamp()))
        for key in ("views", "product_clicks", "orders", "gmv"):
            out[key].append(values[key])
    return out


def check_breakdown(by: str, audience: Audience) -> None:
    allowed = BREAKDOWNS if audience == "seller" else tuple(b for b in BREAKDOWNS if b != "creator")
    if by not in allowed:
        raise ValidationFailed(f"by must be one of {', '.join(allowed)}.", code=DashboardError.INVALID_BREAKDOWN,
                               details={"field": "by", "allowed": list(allowed)})


def today() -> Period:
    now = datetime.now(UTC).date()
    return Period(now, now)
