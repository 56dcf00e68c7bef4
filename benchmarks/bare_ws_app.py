"""The reference of ``live_fanout.py``: a bare ``websockets`` server that broadcasts.

Viewers connect to ``/room``; one publisher connects to ``/publish`` and every text frame it sends
is broadcast as is to every viewer with ``websockets.broadcast`` (no parsing, no queues of our
own, no database): the most a Python process on this machine delivers with the same library.

    python benchmarks/bare_ws_app.py --port 8765
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This folder holds http.py: keep it off sys.path so it cannot shadow the standard library's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import resource  # noqa: E402

import uvloop  # noqa: E402
from websockets.asyncio.server import ServerConnection, broadcast, serve  # noqa: E402

viewers: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request is not None else "/room"
    if path.startswith("/publish"):
        async for message in ws:
            broadcast(viewers, message)
        return
    viewers.add(ws)
    try:
        await ws.wait_closed()
    finally:
        viewers.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_queue=16, backlog=4096, ping_interval=None):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(main(args.port))
