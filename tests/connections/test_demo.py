"""The demo world's connected store: Glow Lab connected to a sandbox Square store whose webhooks are
replayed through the real receiver, so the Connections page has history; the jobs leave it alone."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo
from mercato.config import Settings
from mercato.kit import jobs
from mercato.kit.db import Database
from tests.connections.test_sync import shop_products
from tests.connections.test_webhooks import deliveries

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Any]], Any]


def test_demo_shop_is_connected_to_a_sandbox_store_with_history(
        api: httpx.Client, make_shop: Maker, db_run: DbRun, settings: Settings, clean_db: str) -> None:
    shop = make_shop("glow-lab")
    out = io.StringIO()

    async def seed(session: AsyncSession) -> None:
        await demo._seed_connection(session, settings, Console(file=out, width=200))

    db_run(seed)
    assert "Glow Lab ↔ sandbox Square (2 products; webhooks applied, applied, duplicate, stale)" in out.getvalue()
    assert deliveries(db_run) == [("demo-evt-1", "inventory.count.updated", "applied"),
                                  ("demo-evt-2", "inventory.count.updated", "applied"),
                                  ("demo-evt-3", "inventory.count.updated", "stale")]
    products = shop_products(db_run, shop)
    assert products["Sandbox Vitamin C Serum"]["total_stock"] == 37 + 25
    assert products["Sandbox Rose Face Mist"]["total_stock"] == 58  # the late, older count was not applied

    page = api.get(f"/seller/{shop['slug']}/connections", headers=shop["owner"]["headers"]).text
    assert "Square · DEMO-LOCATION" in page and "sandbox" in page
    assert len(re.findall(r'<tr class="webhook-row">', page)) == 3
    assert len(re.findall(r'<tr class="sync-row">', page)) == 1 and "2 created" in page

    async def run_jobs() -> int:
        db = Database(clean_db, pool=False)
        try:
            return await jobs.run_job(db, settings, "reconcile_connections")
        finally:
            await db.dispose()

    assert asyncio.run(run_jobs()) == 0  # the sandbox store is never called
