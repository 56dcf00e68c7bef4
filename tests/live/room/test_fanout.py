"""Fan-out: a slow reader gets a snapshot instead of an unbounded queue; two app processes share a
room through Redis; without Redis the hub works in its process alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_async
from tests.harness import LiveServer, app_process, missing
from tests.live.room.conftest import join, recv, say, until

from mercato.app import create_app
from mercato.config import Settings
from mercato.live import broadcast
from mercato.live.room import presence
from mercato.live.room import service as room_service
from mercato.live.room.presence import present_user_ids


def _hub(live_server: LiveServer) -> Any:
    return live_server.app.state.live_hub  # type: ignore[attr-defined]


def test_a_slow_reader_is_bounded_and_later_gets_a_snapshot(
        server: str, live_server: LiveServer, make_user: Callable[..., Any], make_live: Callable[..., int]) -> None:
    host, slow = make_user("host"), make_user("slow")
    live_id = make_live(host)
    hub = _hub(live_server)
    cap = hub.settings.live_member_queue_frames

    def member_of(user_id: int) -> Any:
        async def find() -> Any:
            room = hub.rooms[live_id]
            return next(m for m in room.members if m.user_id == user_id)
        return live_server.call(find)

    async def go() -> None:
        reader = await join(server, live_id, slow["token"])
        await recv(reader)  # then it stops reading
        member = member_of(slow["user"]["id"])
        padding = "x" * 16_000
        deadline = time.monotonic() + 60
        sent = 0
        while member.dropped == 0 and time.monotonic() < deadline:
            for _ in range(200):
                hub.publish(live_id, {"type": "flash_units", "deal_id": 1, "units_left": sent, "pad": padding})
                sent += 1
            await asyncio.sleep(0.05)
            assert len(member.queue) <= cap  # bounded, however far behind
        assert member.dropped > 0 and len(member.queue) <= cap
        snapshots = member.snapshots
        while True:  # reading again: what was buffered, then a snapshot instead of what was dropped
            frame = await recv(reader, wait=30)
            if frame["type"] == "snapshot":
                break
        wait_until = time.monotonic() + 10  # the server counts it once its send returned
        while True:
            if member.snapshots > snapshots or time.monotonic() > wait_until:
                break
            await asyncio.sleep(0.01)
        assert member.snapshots > snapshots
        await reader.close()

    run_async(go())


def test_two_app_processes_share_one_room_through_redis(
        server: str, clean_db: str, backend: tuple[str, str | None, Path], live_server: LiveServer,
        make_user: Callable[..., Any], make_live: Callable[..., int]) -> None:
    if backend[1] is None:
        missing("redis")
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)
    with app_process(clean_db, extra_env={"REDIS_URL": backend[1]}) as second:
        async def go() -> None:
            a = await join(server, live_id, host["token"])
            b = await join(second, live_id, viewer["token"])
            await recv(a), await recv(b)
            await say(b, "from the second process")
            assert (await until(a, "chat"))["text"] == "from the second process"
            assert (await until(b, "chat"))["text"] == "from the second process"
            await say(a, "from the first")
            assert (await until(b, "chat"))["text"] == "from the first"
            assert (await until(a, "viewers", count=2))["count"] == 2
            assert (await until(b, "viewers", count=2))["count"] == 2
            await b.send('{"type": "like", "count": 7}')
            assert (await until(a, "likes", total=7))["count"] == 7
            # presence across processes; a newcomer on the first process gets the chat said on both
            assert live_server.call(lambda: present_user_ids(live_id)) == {host["user"]["id"], viewer["user"]["id"]}
            c = await join(server, live_id)
            assert [m["text"] for m in (await recv(c))["chat"]] == ["from the second process", "from the first"]
            for ws in (a, b, c):
                await ws.close()

        run_async(go())


@pytest.fixture
def memory_server(live_server: LiveServer, settings: Settings) -> Iterator[LiveServer]:
    """A second app in this process without Redis: the hub fans out in its process alone."""
    other = LiveServer(create_app(settings.model_copy(update={"redis_url": None}), migrate=False))
    other.start()
    try:
        yield other
    finally:
        other.stop()
        broadcast.install(_hub(live_server).publish)
        presence.install(_hub(live_server))


def test_without_redis_the_hub_serves_its_process(memory_server: LiveServer, server: str,
                                                  make_user: Callable[..., Any], make_live: Callable[..., int],
                                                  db_run: Callable[..., Any]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)
    url = memory_server.url
    hub = _hub(memory_server)

    async def go() -> None:
        a, b = await join(url, live_id, host["token"]), await join(url, live_id, viewer["token"])
        await recv(a), await recv(b)
        assert memory_server.call(lambda: hub.present_user_ids(live_id)) == {host["user"]["id"], viewer["user"]["id"]}
        await say(b, "hello")
        assert (await until(a, "chat"))["text"] == "hello"
        assert (await until(a, "viewers", count=2))["peak"] == 2
        await b.send('{"type": "like", "count": 4}')
        assert (await until(a, "likes", total=4))["count"] == 4
        await b.close()
        c = await join(url, live_id)
        snapshot = await recv(c)
        assert [m["text"] for m in snapshot["chat"]] == ["hello"] and snapshot["likes"] == 4
        await a.close(), await c.close()

    run_async(go())

    async def saved(session: Any) -> tuple[int, int]:
        likes, _shares, peak = await room_service.totals(session, live_id)
        return likes, peak
    # the room closed with its last member: its peak and like total are written
    deadline = time.monotonic() + 10
    while db_run(saved) != (4, 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db_run(saved) == (4, 2)


def test_watch_time_is_recorded_when_a_member_leaves(
        server: str, live_server: LiveServer, make_user: Callable[..., Any], make_live: Callable[..., int]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)
    recorded: list[tuple[int, int, int]] = []

    async def recorder(session: Any, live: int, user_id: int, seconds: int) -> None:
        recorded.append((live, user_id, seconds))

    presence.register_watch_recorder(recorder)
    try:
        async def go() -> None:
            v, anon = await join(server, live_id, viewer["token"]), await join(server, live_id)
            await recv(v), await recv(anon)
            await asyncio.sleep(1.2)  # watch time counts whole seconds
            await v.close(), await anon.close()

        run_async(go())
        deadline = time.monotonic() + 10
        while not recorded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(recorded) == 1  # the anonymous viewer has no watch time
        live, user_id, seconds = recorded[0]
        assert (live, user_id) == (live_id, viewer["user"]["id"]) and seconds >= 1
    finally:
        presence.unregister_watch_recorder(recorder)
