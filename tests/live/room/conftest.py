"""Room tests: real WebSocket clients (the ``websockets`` package) against the real test server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from mercato.live.models import Live

Frame = dict[str, Any]


def ws_url(server: str, live_id: int) -> str:
    return server.replace("http://", "ws://") + f"/api/v1/lives/{live_id}/room"


async def join(server: str, live_id: int, token: str | None = None, **headers: str) -> ClientConnection:
    extra = dict(headers)
    if token:
        extra["Authorization"] = f"Bearer {token}"
    return await connect(ws_url(server, live_id), additional_headers=extra, max_size=None)


async def recv(ws: ClientConnection, wait: float = 10) -> Frame:
    frame: Frame = json.loads(await asyncio.wait_for(ws.recv(), wait))
    return frame


async def until(ws: ClientConnection, type_: str, wait: float = 10, **match: Any) -> Frame:
    """The next frame of type ``type_`` (matching ``match``), skipping others (viewers, likes…)."""
    async def scan() -> Frame:
        while True:
            frame = await recv(ws, wait)
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame
    return await asyncio.wait_for(scan(), wait)


async def frames_until_pong(ws: ClientConnection) -> list[Frame]:
    """Every frame the member receives before the answer to a ping sent now (what it was sent so far)."""
    await ws.send(json.dumps({"type": "ping"}))
    seen: list[Frame] = []
    while True:
        frame = await recv(ws)
        if frame["type"] == "pong":
            return seen
        seen.append(frame)


async def chats_until(ws: ClientConnection, sender: ClientConnection, fence: str) -> list[str]:
    """The chat texts ``ws`` receives up to ``fence``, said by ``sender`` now: every chat message
    published before it travels the same path first, so what is not in the list was never sent."""
    await say(sender, fence)
    texts: list[str] = []
    while True:
        frame = await recv(ws)
        if frame["type"] == "chat":
            if frame["text"] == fence:
                return texts
            texts.append(frame["text"])


async def say(ws: ClientConnection, text: str) -> None:
    await ws.send(json.dumps({"type": "chat", "text": text}))


@pytest.fixture
def make_live(db_run: Callable[..., Any]) -> Callable[..., int]:
    def create(host: dict[str, Any], *, status: str = "live", shop_id: int | None = None) -> int:
        async def go(session: Any) -> int:
            live = Live(host_id=host["user"]["id"], title="Room test", status=status, shop_id=shop_id)
            session.add(live)
            await session.flush()
            return int(live.id)
        return int(db_run(go))
    return create
