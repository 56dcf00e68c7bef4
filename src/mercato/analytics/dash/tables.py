"""Dashboard tables: figures by video, LIVE, product, creator or traffic source — sorted on the
server (``sort``: a column, ``-`` first for descending), paginated (``page``, ``per_page``) and
exportable as CSV (every row, formulas defused by :mod:`csv_export`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import queries
from mercato.analytics.dash import repository
from mercato.analytics.dash.csv_export import to_csv
from mercato.analytics.dash.errors import DashboardError
from mercato.analytics.dash.figures import COLUMNS, KINDS, SOURCE_NAMES, Audience, check_breakdown, values_of
from mercato.analytics.dash.periods import Period
from mercato.analytics.queries import Scope
from mercato.content import repository as content_repo
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import to_decimal

DEFAULT_SORT = "-gmv"
MAX_PER_PAGE = 100
TITLES = {"views": "Views", "watch_ms": "Watch time (ms)", "product_clicks": "Product clicks", "ctr": "CTR (%)",
          "orders": "Orders", "items_sold": "Items sold", "gmv": "GMV"}


@dataclass
class Table:
    by: str
    currency: str
    sort: str
    page: int
    per_page: int
    total: int
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def parse_sort(sort: str | None) -> tuple[str, bool]:
    """(column, descending) of ``sort`` (``gmv``, ``-gmv``, ``label``…)."""
    text = sort or DEFAULT_SORT
    column, descending = (text[1:], True) if text.startswith("-") else (text, False)
    if column not in (*COLUMNS, "label"):
        raise ValidationFailed(f"sort must be one of {', '.join(('label', *COLUMNS))}, - first for descending.",
                               code=DashboardError.INVALID_SORT, details={"field": "sort"})
    return column, descending


async def _labels(db: AsyncSession, by: str, keys: list[int | str]) -> dict[int | str, str]:
    ids = [k for k in keys if isinstance(k, int)]
    if by == "source":
        return {k: SOURCE_NAMES.get(str(k), str(k)) for k in keys}
    if by == "video":
        videos = await content_repo.videos_by_ids(db, ids)
        return {i: (v.caption[:80] or f"Video {i}") for i, v in videos.items()}
    if by == "product":
        return {i: p.title for i, p in (await content_repo.products_by_ids(db, ids)).items()}
    if by == "creator":
        return {i: (f"@{u.handle}" if u.handle else u.display_name)
                for i, u in (await content_repo.users_by_ids(db, ids)).items()}
    return {i: t for i, t in (await repository.live_titles(db, ids)).items()}


async def rows_of(db: AsyncSession, scope: Scope, period: Period, by: str, currency: str) -> list[dict[str, Any]]:
    groups = await queries.breakdown(db, scope, KINDS, period.since, period.until, by)  # type: ignore[arg-type]
    labels = await _labels(db, by, list(groups))
    rows = []
    for key, figures in groups.items():
        values = values_of(figures, currency)
        rows.append({"key": key, "label": labels.get(key, f"#{key}"), **{c: values[c] for c in COLUMNS}})
    return rows


async def sorted_rows(db: AsyncSession, scope: Scope, period: Period, *, by: str, currency: str,
                      audience: Audience, sort: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(the sort applied, every row in that order)."""
    check_breakdown(by, audience)
    column, descending = parse_sort(sort)
    rows = await rows_of(db, scope, period, by, currency)
    # Ties keep a stable order by key so that pages never repeat or skip a row.
    rows.sort(key=lambda r: str(r["key"]))
    rows.sort(key=lambda r: (r[column].lower() if column == "label" else r[column]), reverse=descending)
    return ("-" if descending else "") + column, rows


async def table(db: AsyncSession, scope: Scope, period: Period, *, by: str, currency: str, audience: Audience,
                sort: str | None = None, page: int = 1, per_page: int = 20) -> Table:
    applied, rows = await sorted_rows(db, scope, period, by=by, currency=currency, audience=audience, sort=sort)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    start = (page - 1) * per_page
    return Table(by=by, currency=currency, sort=applied, page=page, per_page=per_page, total=len(rows),
                 rows=rows[start:start + per_page])


async def table_csv(db: AsyncSession, scope: Scope, period: Period, *, by: str, currency: str, audience: Audience,
                    sort: str | None = None) -> str:
    """Every row of the table (not one page), GMV in major units of ``currency``."""
    _, rows = await sorted_rows(db, scope, period, by=by, currency=currency, audience=audience, sort=sort)
    headers = [by, *(f"{TITLES[c]} ({currency})" if c == "gmv" else TITLES[c] for c in COLUMNS)]
    return to_csv(headers, ([r["label"], *(str(to_decimal(r["gmv"], currency)) if c == "gmv" else r[c]
                                           for c in COLUMNS)] for r in rows))
