"""LIVE selling as the real room shows it (live/wiring.py): a viewer who joins sees the running
flash deal in the snapshot and its frames as they happen, and time in the room counts as watch time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.live.selling import watching
from tests.conftest import run_async
from tests.live.room.conftest import join, until
from tests.live.selling.conftest import deal_body


def test_a_joining_viewer_sees_the_deal_and_its_frames(server: str, live_shop: Callable[..., dict[str, Any]],
                                                       buyer: Callable[..., dict[str, Any]]) -> None:
    item = live_shop()
    live_id, host, viewer = item["live_id"], item["host"], buyer()

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server) as client:
            first = await client.post(f"/api/v1/lives/{live_id}/flash-deals", headers=host["headers"],
                                      json=deal_body(item["variant_id"]))
            assert first.status_code == 201, first.text
            ws = await join(server, live_id, viewer["token"])
            snapshot = await until(ws, "snapshot")
            assert snapshot["flash"]["id"] == first.json()["id"]
            assert snapshot["flash"]["units_left"] == 10
            cancelled = await client.post(f"/api/v1/lives/{live_id}/flash-deals/{first.json()['id']}/cancel",
                                          headers=host["headers"])
            assert cancelled.status_code == 200, cancelled.text
            frame = await until(ws, "flash")
            assert frame["deal"] is None or frame["deal"]["state"] in {"cancelled", "closed"}
            await ws.close()

    run_async(scenario())


def test_time_in_the_room_is_watch_time(server: str, live_shop: Callable[..., dict[str, Any]],
                                        buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = live_shop()
    live_id, viewer = item["live_id"], buyer()

    async def stay() -> None:
        ws = await join(server, live_id, viewer["token"])
        await until(ws, "snapshot")
        await asyncio.sleep(1.2)  # watch time counts whole seconds
        await ws.close()

    async def watched(session: AsyncSession) -> int:
        return await watching.watched_seconds(session, live_id, viewer["user"]["id"])

    run_async(stay())
    for _ in range(50):  # the room records the stay once it has seen the member leave
        if db_run(watched) >= 1:
            break
        run_async(asyncio.sleep(0.1))
    assert db_run(watched) >= 1
