"""Dashboards in a real browser: the seller's analytics renders its uPlot chart with data, the
CSV export downloads, and the LIVE dashboard fills itself from its WebSocket."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit import events
from mercato.kit.events import Event
from mercato.live.models import Live
from tests.analytics.conftest import sql_sink

__all__ = ["sql_sink"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sql_sink")]
DbRun = Callable[..., Any]




def test_the_seller_dashboard_charts_and_exports(
    page: Page, log_in: Callable[[str, str], None], make_user: Callable[..., dict[str, Any]],
    make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]], db_run: DbRun,
) -> None:
    seller = make_user("dora")
    shop = make_shop("dora-goods", owner=seller)
    product = make_product(shop, "=SUM(A1:A9)")["id"]
    yesterday = datetime.now(UTC) - timedelta(days=1)

    async def record(db: AsyncSession) -> None:
        await events.record_many(db, [
            *(Event(event_id=f"b:v{i}", kind="view", occurred_at=yesterday - timedelta(days=i % 3), source="foryou",
                    shop_id=shop["id"], product_id=product) for i in range(9)),
            Event(event_id="b:o1", kind="order_paid", occurred_at=yesterday, source="foryou", shop_id=shop["id"],
                  product_id=product, value=4200, currency="USD", quantity=1)])

    db_run(record)
    log_in("dora@example.com", seller["password"])
    page.goto("/seller/dora-goods")
    page.get_by_role("navigation", name="Seller Center").get_by_role("link", name="Analytics").click()
    expect(page).to_have_url(re.compile(r"/seller/dora-goods/analytics$"))
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    chart = page.get_by_test_id("dash-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator(".u-legend")).to_contain_text("Orders")
    expect(chart).to_have_attribute("data-rendered", "true")
    expect(page.locator('[data-figure="gmv"] strong')).to_have_text("$42.00")
    page.get_by_role("link", name="Last 7 days").click()
    expect(page.get_by_test_id("dash-table")).to_contain_text("=SUM(A1:A9)")

    with page.expect_download() as info:
        page.get_by_test_id("csv-link").click()
    download = info.value
    assert download.suggested_filename.startswith("analytics-product-")
    path = download.path()
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[1][0] == "'=SUM(A1:A9)" and rows[1][-1] == "42.00"


def test_the_live_dashboard_fills_from_its_socket(
    page: Page, log_in: Callable[[str, str], None], make_user: Callable[..., dict[str, Any]],
    make_shop: Callable[..., dict[str, Any]], db_run: DbRun,
) -> None:
    seller = make_user("lena")
    shop = make_shop("lena-live", owner=seller)

    async def setup(db: AsyncSession) -> int:
        live = Live(host_id=seller["user"]["id"], title="Spring haul", status="live", shop_id=shop["id"],
                    started_at=datetime.now(UTC) - timedelta(minutes=3))
        db.add(live)
        await db.flush()
        await events.record(db, Event(event_id="b:lo1", kind="order_paid", occurred_at=datetime.now(UTC),
                                      source="live", live_id=live.id, shop_id=shop["id"], value=1500,
                                      currency="USD", quantity=3))
        return int(live.id)

    live_id = db_run(setup)
    log_in("lena@example.com", seller["password"])
    page.goto(f"/seller/lena-live/lives/{live_id}")
    expect(page.get_by_test_id("lb-orders")).to_have_text("1")
    expect(page.get_by_test_id("lb-items_sold")).to_have_text("3")
    expect(page.get_by_test_id("lb-gmv")).to_have_text("$15.00")
    expect(page.get_by_test_id("live-board-chart").locator("canvas")).to_have_count(1)
