"""LIVE room activity reaches analytics: joins, leaves, chat messages and likes, recorded with
the room's counters when it saves them (here: when the room empties), credited to the host."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics.models import AnalyticsEvent
from mercato.live.models import Live
from tests.conftest import run_async
from tests.live.room.conftest import join, recv, say, until


def test_room_activity_is_recorded_for_the_host(server: str, make_user: Callable[..., Any],
                                                db_run: Callable[..., Any]) -> None:
    host, viewer = make_user(), make_user()

    async def open_live(db: AsyncSession) -> int:
        live = Live(host_id=host["user"]["id"], title="Analytics", status="live")
        db.add(live)
        await db.flush()
        return int(live.id)

    live_id: int = db_run(open_live)

    async def counts(db: AsyncSession) -> dict[str, tuple[int, int, str]]:
        rows = await db.execute(select(AnalyticsEvent.kind, func.sum(AnalyticsEvent.count),
                                       func.min(AnalyticsEvent.creator_id), func.min(AnalyticsEvent.source))
                                .where(AnalyticsEvent.live_id == live_id).group_by(AnalyticsEvent.kind))
        return {str(k): (int(n), int(c), str(s)) for k, n, c, s in rows.all()}

    async def go() -> None:
        v, h = await join(server, live_id, viewer["token"]), await join(server, live_id, host["token"])
        await recv(v), await recv(h)
        await v.send(json.dumps({"type": "like", "count": 3}))
        assert (await until(h, "likes"))["total"] == 3
        await say(v, "hello")
        await until(h, "chat", text="hello")
        await v.close()
        await h.close()

    run_async(go())
    # The room saves when its last member has left, which the server sees after the sockets close.
    for _ in range(200):
        found = db_run(counts)
        if found.get("live_leave", (0,))[0] == 2:
            break
        run_async(asyncio.sleep(0.05))
    host_id = host["user"]["id"]
    assert db_run(counts) == {"live_join": (2, host_id, "live"), "live_leave": (2, host_id, "live"),
                              "like": (3, host_id, "live"), "comment": (1, host_id, "live")}
