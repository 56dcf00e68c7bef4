"""Dashboards (analytics/dash): the figures of a scripted scenario, comparison with the previous
period, sorting and pagination, CSV export with formulas defused, and who may read what."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.analytics.dash.csv_export import safe_cell, to_csv
from mercato.analytics.dash.live_board import spikes, worst_metric
from mercato.analytics.dash.periods import Period, change_pct, parse_period
from mercato.analytics.models import AnalyticsEvent
from mercato.kit import events
from mercato.kit.events import Event

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[..., Any]
TODAY = datetime.now(UTC).date()


pytestmark = pytest.mark.usefixtures("sql_sink")


def record(db_run: DbRun, items: list[Event]) -> None:
    async def go(db: AsyncSession) -> None:
        await events.record_many(db, items)

    db_run(go)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def event(n: str, kind: str, day: date, *, shop: int | None = None, creator: int | None = None,
          product: int | None = None, video: int | None = None, value: int = 0, quantity: int = 0,
          source: str = "foryou", watch_ms: int = 0) -> Event:
    return Event(event_id=f"t:{n}", kind=kind, occurred_at=at(day), source=source, shop_id=shop, creator_id=creator,
                 product_id=product, video_id=video, value=value, currency="USD" if value else None,
                 quantity=quantity, watch_ms=watch_ms)


def scenario(shop: dict[str, Any], p1: int, p2: int, creator: int) -> list[Event]:
    """This week: 8 impressions, 10 views (60 s each), 4 product clicks, 3 orders (2 through a creator's affiliate
    link); the week before: 5 views, 1 click, 1 order."""
    s, now, before = shop["id"], TODAY - timedelta(days=1), TODAY - timedelta(days=8)
    items = [event(f"v{i}", "view", now, shop=s, product=p1, watch_ms=60_000) for i in range(10)]
    items += [event(f"i{i}", "impression", now, shop=s, product=p1) for i in range(8)]
    items += [event(f"c{i}", "product_card_click", now, shop=s, product=p1 if i < 3 else p2) for i in range(4)]
    items += [event("o1", "order_paid", now, shop=s, product=p1, value=2500, quantity=1),
              event("o2", "order_paid", now, shop=s, product=p2, value=1000, quantity=2, creator=creator,
                    source="affiliate"),
              event("o3", "order_paid", now, shop=s, product=p2, value=1000, quantity=1, creator=creator,
                    source="affiliate")]
    items += [event(f"pv{i}", "view", before, shop=s, product=p1) for i in range(5)]
    items += [event("pc1", "product_card_click", before, shop=s, product=p1),
              event("po1", "order_paid", before, shop=s, product=p1, value=1500, quantity=1)]
    return items


def test_periods_and_rules() -> None:
    period = parse_period(date(2026, 11, 1), date(2026, 11, 28))
    assert period.days == 28 and period.previous() == Period(date(2026, 10, 4), date(2026, 10, 31))
    assert parse_period(None, None, 7, today=date(2026, 12, 6)) == Period(date(2026, 11, 30), date(2026, 12, 6))
    assert change_pct(15, 10) == 50.0 and change_pct(5, 10) == -50.0 and change_pct(3, 0) is None
    assert spikes([0, 1, 1, 5, 1, 2, 3]) == [3]
    assert spikes([3, 3, 3]) == [0]  # a steady rate is no spike after the first minute
    assert worst_metric({"ctr": 1.0, "gift_rate": 4.0}, {"ctr": 4.0, "gift_rate": 2.0}) == {
        "key": "ctr", "label": "CTR", "value": 1.0, "median": 4.0, "vs_median_pct": -75.0}
    assert worst_metric({"ctr": 5.0}, {"ctr": 4.0}) is None


def test_csv_cells_never_start_a_formula() -> None:
    for text in ("=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell(-12) == "-12" and safe_cell("Plain") == "Plain" and safe_cell(None) == ""
    assert to_csv(["a", "b"], [["=HYPERLINK(\"x\")", 3]]) == "a,b\r\n\"'=HYPERLINK(\"\"x\"\")\",3\r\n"


def test_the_shop_dashboard_equals_the_scripted_truth(api: httpx.Client, make_shop: Maker, make_product: Maker,
                                                      make_user: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    p1 = make_product(shop, "Serum")["id"]
    p2 = make_product(shop, "=HYPERLINK(\"http://evil\")")["id"]
    creator = make_user()
    record(db_run, scenario(shop, p1, p2, creator["user"]["id"]))
    h = shop["owner"]["headers"]
    start, end = TODAY - timedelta(days=6), TODAY
    overview = api.get(f"/api/v1/shops/{shop['slug']}/analytics/overview",
                       params={"from": start.isoformat(), "to": end.isoformat()}, headers=h)
    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["currency"] == "USD" and body["period"] == {"from": start.isoformat(), "to": end.isoformat(),
                                                           "days": 7}
    now = body["now"]
    assert (now["views"], now["product_clicks"], now["orders"], now["items_sold"], now["gmv"]) == (10, 4, 3, 4, 4500)
    assert now["impressions"] == 8 and now["ctr"] == 50.0 and now["conversion"] == 75.0 and now["watch_ms"] == 600_000
    assert now["affiliate_gmv"] == 2000
    before = body["before"]
    assert (before["views"], before["orders"], before["gmv"]) == (5, 1, 1500)
    changes = {f["key"]: f["change_pct"] for f in body["figures"]}
    assert changes["views"] == 100.0 and changes["orders"] == 200.0 and changes["gmv"] == 200.0
    assert changes["affiliate_gmv"] is None  # nothing sold through creators the week before

    series = api.get(f"/api/v1/shops/{shop['slug']}/analytics/timeseries",
                     params={"from": start.isoformat(), "to": end.isoformat()}, headers=h).json()
    assert series["bucket"] == "day" and len(series["t"]) == 7
    assert sum(series["orders"]) == 3 and sum(series["gmv"]) == 4500 and series["orders"][-2] == 3

    by_product = api.get(f"/api/v1/shops/{shop['slug']}/analytics/breakdown",
                         params={"by": "product", "days": 7}, headers=h).json()
    assert [(r["key"], r["orders"], r["gmv"], r["product_clicks"]) for r in by_product["items"]] == [
        (p1, 1, 2500, 3), (p2, 2, 2000, 1)]
    by_source = api.get(f"/api/v1/shops/{shop['slug']}/analytics/breakdown",
                        params={"by": "source", "days": 7, "sort": "label"}, headers=h).json()
    assert [(r["key"], r["orders"]) for r in by_source["items"]] == [("affiliate", 2), ("foryou", 1)]
    by_creator = api.get(f"/api/v1/shops/{shop['slug']}/analytics/breakdown",
                         params={"by": "creator", "days": 7}, headers=h).json()
    assert [(r["key"], r["gmv"]) for r in by_creator["items"]] == [(creator["user"]["id"], 2000)]

    # The page shows the same figures.
    page = api.get(f"/seller/{shop['slug']}/analytics?days=7", headers=h)
    assert page.status_code == 200
    assert 'data-figure="gmv"' in page.text and "$45.00" in page.text and 'data-chart' in page.text
    home = api.get("/seller?all=1", headers=h)
    assert f'data-testid="shop-today-{shop["id"]}"' in home.text


def test_sorting_pagination_and_csv(api: httpx.Client, make_shop: Maker, make_product: Maker,
                                    db_run: DbRun) -> None:
    shop = make_shop()
    products = [make_product(shop, title)["id"] for title in ("Alpha", "=cmd|'/C calc'!A0", "Gamma", "Delta", "Beta")]
    day = TODAY - timedelta(days=1)
    record(db_run, [event(f"o{i}", "order_paid", day, shop=shop["id"], product=p, value=100 * (i + 1), quantity=1)
                    for i, p in enumerate(products)])
    url, h = f"/api/v1/shops/{shop['slug']}/analytics/breakdown", shop["owner"]["headers"]
    first = api.get(url, params={"by": "product", "days": 7, "sort": "-gmv", "per_page": 2}, headers=h).json()
    second = api.get(url, params={"by": "product", "days": 7, "sort": "-gmv", "per_page": 2, "page": 2},
                     headers=h).json()
    third = api.get(url, params={"by": "product", "days": 7, "sort": "-gmv", "per_page": 2, "page": 3},
                    headers=h).json()
    assert (first["total"], first["pages"], first["sort"]) == (5, 3, "-gmv")
    assert [r["gmv"] for r in first["items"] + second["items"] + third["items"]] == [500, 400, 300, 200, 100]
    ascending = api.get(url, params={"by": "product", "days": 7, "sort": "label"}, headers=h).json()
    assert [r["label"] for r in ascending["items"]] == ["=cmd|'/C calc'!A0", "Alpha", "Beta", "Delta", "Gamma"]
    refused = api.get(url, params={"by": "product", "sort": "password"}, headers=h)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_sort"
    backwards = api.get(url, params={"from": "2026-11-10", "to": "2026-11-01"}, headers=h)
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_period"

    exported = api.get(url, params={"by": "product", "days": 7, "format": "csv", "sort": "-gmv"}, headers=h)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["product", "Views", "Watch time (ms)", "Product clicks", "CTR (%)", "Orders", "Items sold",
                       "GMV (USD)"]
    assert [r[0] for r in rows[1:]] == ["Beta", "Delta", "Gamma", "'=cmd|'/C calc'!A0", "Alpha"]
    assert [r[-1] for r in rows[1:]] == ["5.00", "4.00", "3.00", "2.00", "1.00"]


def test_a_seller_sees_only_their_shops_figures(api: httpx.Client, make_shop: Maker, make_user: Maker,
                                               db_run: DbRun) -> None:
    mine, theirs = make_shop(), make_shop()
    record(db_run, [event("o", "order_paid", TODAY, shop=theirs["id"], value=900, quantity=1)])
    h = mine["owner"]["headers"]
    for path in ("overview", "timeseries", "breakdown"):
        response = api.get(f"/api/v1/shops/{theirs['slug']}/analytics/{path}", headers=h)
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_shop_member"
        assert api.get(f"/api/v1/shops/{theirs['slug']}/analytics/{path}").status_code == 401
        assert api.get(f"/api/v1/shops/no-such-shop/analytics/{path}", headers=h).status_code == 404
    assert api.get(f"/seller/{theirs['slug']}/analytics", headers=h).status_code == 403
    own = api.get(f"/api/v1/shops/{mine['slug']}/analytics/overview", params={"days": 1}, headers=h).json()
    assert own["now"]["orders"] == 0 and own["now"]["gmv"] == 0

    async def count(db: AsyncSession) -> int:
        return int(await db.scalar(select(func.count()).select_from(AnalyticsEvent)) or 0)

    assert db_run(count) == 1  # reading changed nothing


def test_a_creator_sees_only_their_own_figures(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    ava, ben = make_user(), make_user()
    day = TODAY - timedelta(days=1)
    record(db_run, [event("a1", "view", day, creator=ava["user"]["id"], video=101),
                    event("a2", "order_paid", day, creator=ava["user"]["id"], video=101, value=1200, quantity=1),
                    event("g1", "gift", day, creator=ava["user"]["id"], value=50),
                    event("b1", "view", day, creator=ben["user"]["id"], video=202),
                    event("b2", "view", day, creator=ben["user"]["id"], video=202)])
    a = api.get("/api/v1/creators/me/analytics/overview", params={"days": 7}, headers=ava["headers"]).json()
    b = api.get("/api/v1/creators/me/analytics/overview", params={"days": 7}, headers=ben["headers"]).json()
    assert (a["now"]["views"], a["now"]["orders"], a["now"]["gmv"], a["now"]["gifts"]) == (1, 1, 1200, 1)
    assert (b["now"]["views"], b["now"]["orders"], b["now"]["gmv"]) == (2, 0, 0)
    series = api.get("/api/v1/creators/me/analytics/timeseries", params={"days": 7, "currency": "usd"},
                     headers=ava["headers"]).json()
    assert series["currency"] == "USD" and sum(series["views"]) == 1 and sum(series["gmv"]) == 1200
    unknown = api.get("/api/v1/creators/me/analytics/timeseries", params={"currency": "ZZZ"}, headers=ava["headers"])
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "invalid_currency"
    videos = api.get("/api/v1/creators/me/analytics/breakdown", params={"by": "video", "days": 7},
                     headers=ben["headers"]).json()
    assert [r["key"] for r in videos["items"]] == [202]
    creators = api.get("/api/v1/creators/me/analytics/breakdown", params={"by": "creator"}, headers=ben["headers"])
    assert creators.status_code == 422 and creators.json()["error"]["code"] == "invalid_breakdown"
    assert api.get("/api/v1/creators/me/analytics/overview").status_code == 401
    page = api.get("/studio/analytics?days=7", headers=ava["headers"])
    assert page.status_code == 200 and 'data-figure="gifts"' in page.text


def _make_admin(db_run: DbRun, user_id: int) -> None:
    async def go(db: AsyncSession) -> None:
        await db.execute(update(User).where(User.id == user_id).values(is_admin=True))

    db_run(go)


def test_homes(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    new = make_user()
    studio = api.get("/studio", headers=new["headers"])
    assert studio.status_code == 200
    assert "Post your first video" in studio.text and "Go LIVE" in studio.text and "No earnings yet" in studio.text
    assert api.get("/studio", follow_redirects=False).status_code == 303

    refused = api.get("/admin", headers=new["headers"])
    assert refused.status_code == 403
    _make_admin(db_run, new["user"]["id"])
    admin = api.get("/admin", headers=new["headers"])
    assert admin.status_code == 200
    assert 'data-count="video-reports">0<' in admin.text and "The ledger balances" in admin.text
