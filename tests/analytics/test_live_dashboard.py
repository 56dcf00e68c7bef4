"""The LIVE dashboard: the host's and the shop's view of a running LIVE, pushed over a real
WebSocket, its worst metric against the host's past LIVEs, and who may open it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from mercato.kit import events
from mercato.kit.events import Event
from mercato.live.models import Live
from tests.conftest import run_async

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[..., Any]


pytestmark = pytest.mark.usefixtures("sql_sink")


def make_live(db_run: DbRun, host_id: int, shop_id: int | None, *, status: str = "live",
              started: datetime | None = None, ended: datetime | None = None) -> int:
    async def go(db: AsyncSession) -> int:
        live = Live(host_id=host_id, title="Dashboard test", status=status, shop_id=shop_id,
                    started_at=started or datetime.now(UTC) - timedelta(minutes=5), ended_at=ended)
        db.add(live)
        await db.flush()
        return int(live.id)

    return int(db_run(go))


def record(db_run: DbRun, items: list[Event]) -> None:
    async def go(db: AsyncSession) -> None:
        await events.record_many(db, items)

    db_run(go)


def live_event(n: str, kind: str, live_id: int, at: datetime, **fields: Any) -> Event:
    return Event(event_id=f"lt:{live_id}:{n}", kind=kind, occurred_at=at, source="live", live_id=live_id, **fields)


def test_the_dashboard_is_pushed_within_a_second_of_an_order(server: str, make_shop: Maker,
                                                            db_run: DbRun) -> None:
    shop = make_shop()
    host = shop["owner"]
    live_id = make_live(db_run, host["user"]["id"], shop["id"])
    now = datetime.now(UTC)
    record(db_run, [live_event(f"j{i}", "live_join", live_id, now - timedelta(minutes=2)) for i in range(4)]
           + [live_event("c1", "product_card_click", live_id, now - timedelta(minutes=1), shop_id=shop["id"])])
    url = server.replace("http://", "ws://") + f"/api/v1/lives/{live_id}/dashboard"

    async def watch() -> tuple[dict[str, Any], dict[str, Any]]:
        async with connect(url, additional_headers={"Authorization": f"Bearer {host['token']}"}) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            order = live_event("o1", "order_paid", live_id, datetime.now(UTC), shop_id=shop["id"], value=2500,
                               currency="USD", quantity=2)
            await asyncio.to_thread(record, db_run, [order])
            while True:  # the next frames, until the order shows (a generous bound, not a speed test)
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["figures"]["orders"] == 1:
                    return first, frame

    first, after = run_async(watch())
    assert first["type"] == "dashboard" and first["live_id"] == live_id and first["currency"] == "USD"
    assert (first["figures"]["viewers_total"], first["figures"]["product_clicks"], first["figures"]["orders"]) == (
        4, 1, 0)
    assert (after["figures"]["orders"], after["figures"]["items_sold"], after["figures"]["gmv"]) == (1, 2, 2500)
    assert after["figures"]["click_to_order"] == 100.0 and after["figures"]["ctr"] == 25.0
    assert sum(after["timeline"]["orders"]) == 1


def test_only_the_host_and_the_shop_open_it(server: str, api: httpx.Client, make_shop: Maker, make_user: Maker,
                                           db_run: DbRun) -> None:
    shop = make_shop()
    live_id = make_live(db_run, shop["owner"]["user"]["id"], shop["id"])
    stranger = make_user()
    refused = api.get(f"/api/v1/lives/{live_id}/dashboard", headers=stranger["headers"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_host"
    missing = api.get(f"/api/v1/lives/{live_id + 1000}/dashboard", headers=stranger["headers"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "live_not_found"
    assert api.get(f"/api/v1/lives/{live_id}/dashboard").status_code == 401
    assert api.get(f"/seller/{shop['slug']}/lives/{live_id}", headers=stranger["headers"]).status_code == 403
    page = api.get(f"/seller/{shop['slug']}/lives/{live_id}", headers=shop["owner"]["headers"])
    assert page.status_code == 200 and 'data-testid="live-board"' in page.text
    url = server.replace("http://", "ws://") + f"/api/v1/lives/{live_id}/dashboard"

    async def frames(headers: dict[str, str]) -> tuple[dict[str, Any], int | None]:
        async with connect(url, additional_headers=headers) as ws:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            with contextlib.suppress(ConnectionClosed):  # the refusal closes the socket
                await asyncio.wait_for(ws.recv(), 5)
            return frame, ws.close_code

    frame, code = run_async(frames({"Authorization": f"Bearer {stranger['token']}"}))
    assert frame == {"type": "error", "error": {"code": "not_host",
                                                "message": "Only the host and the shop's team see this LIVE's "
                                                           "dashboard."}} and code == 1008
    frame, code = run_async(frames({}))
    assert frame["error"]["code"] == "invalid_session" and code == 1008


def test_the_worst_metric_is_against_the_hosts_past_lives(api: httpx.Client, make_shop: Maker,
                                                          db_run: DbRun) -> None:
    shop = make_shop()
    host_id = shop["owner"]["user"]["id"]
    t0 = datetime.now(UTC) - timedelta(days=3)
    for n in range(3):  # three past LIVEs: 10 viewers, 5 product clicks each (CTR 50 %)
        past = make_live(db_run, host_id, shop["id"], status="ended", started=t0 + timedelta(hours=n),
                         ended=t0 + timedelta(hours=n, minutes=30))
        at = t0 + timedelta(hours=n, minutes=10)
        record(db_run, [live_event(f"j{i}", "live_join", past, at) for i in range(10)]
               + [live_event(f"c{i}", "product_card_click", past, at) for i in range(5)]
               + [live_event(f"l{i}", "like", past, at) for i in range(10)])
    live_id = make_live(db_run, host_id, shop["id"])
    now = datetime.now(UTC) - timedelta(minutes=1)
    record(db_run, [live_event(f"j{i}", "live_join", live_id, now) for i in range(10)]
           + [live_event("c1", "product_card_click", live_id, now)]
           + [live_event(f"l{i}", "like", live_id, now) for i in range(20)])
    body = api.get(f"/api/v1/lives/{live_id}/dashboard", headers=shop["owner"]["headers"]).json()
    assert body["medians"]["ctr"] == 50.0 and body["medians"]["likes_per_viewer"] == 1.0
    assert body["worst"] == {"key": "ctr", "label": "CTR", "value": 10.0, "median": 50.0, "vs_median_pct": -80.0}
