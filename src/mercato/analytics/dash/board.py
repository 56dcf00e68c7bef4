"""What a dashboard page shows, assembled once for the seller's and the creator's pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics.dash import figures, tables
from mercato.analytics.dash.figures import Figure
from mercato.analytics.dash.periods import Period
from mercato.analytics.dash.service import Subject

BREAKDOWN_LABELS = {"video": "Videos", "live": "LIVEs", "product": "Products", "creator": "Creators",
                    "source": "Traffic sources"}


@dataclass
class Dashboard:
    period: Period
    previous: Period
    today: date
    currency: str
    figures: list[Figure]
    table: tables.Table
    series_json: str
    has_activity: bool
    csv_url: str
    breakdowns: list[tuple[str, str]]
    columns: list[tuple[str, str]]
    params: dict[str, str] = field(default_factory=dict)

    def query(self, **changes: Any) -> str:
        """The page's query string with ``changes`` (the period, breakdown and sort kept)."""
        return urlencode({**self.params, **{k: str(v) for k, v in changes.items()}})


async def dashboard(db: AsyncSession, subject: Subject, period: Period, *, by: str, sort: str | None, page: int,
                    csv_base: str, today: date) -> Dashboard:
    big = await figures.big_numbers(db, subject.scope, period, subject.currency, subject.audience)
    table = await tables.table(db, subject.scope, period, by=by, currency=subject.currency,
                               audience=subject.audience, sort=sort, page=page)
    series = await figures.timeseries(db, subject.scope, period, subject.currency)
    active = any(any(series[k]) for k in ("views", "product_clicks", "orders", "gmv"))
    params = {"from": period.start.isoformat(), "to": period.end.isoformat(), "by": by, "sort": table.sort}
    allowed = [b for b in figures.BREAKDOWNS if subject.audience == "seller" or b != "creator"]
    return Dashboard(
        period=period, previous=period.previous(), today=today, currency=subject.currency, figures=big, table=table,
        series_json=orjson.dumps(series).decode().replace("</", "<\\/"), has_activity=active,
        csv_url=f"{csv_base}?{urlencode({**params, 'format': 'csv'})}",
        breakdowns=[(b, BREAKDOWN_LABELS[b]) for b in allowed],
        columns=[("label", BREAKDOWN_LABELS[by].rstrip("s") if by != "source" else "Traffic source"),
                 *((c, tables.TITLES[c].replace(" (ms)", "").replace(" (%)", "")) for c in figures.COLUMNS)],
        params=params,
    )
