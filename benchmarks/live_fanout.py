"""LIVE room fan-out: V WebSocket viewers in one room, chat and likes published at a steady rate.

    .venv/bin/python benchmarks/live_fanout.py [--viewers 10000] [--rate 20] [--likes-rate 50]
        [--duration 20] [--warmup 5] [--client-procs 4] [--connect-timeout 300] [--no-redis]

One JSON line per configuration on stdout (PERFORMANCE.md, ``live_fanout``): the app in one
process (the in-process hub), then two app processes sharing the room through Redis (when
``redis-server`` is installed and ``--no-redis`` is not given). See benchmarks/README.md.

Each run: a fresh SQLite database with a host (bearer session) and one LIVE on air; the app
(uvicorn, the settings of the ``http`` benchmark) and the reference, ``bare_ws_app.py`` (a bare
``websockets`` server broadcasting what one publisher sends), each in processes of their own;
viewers are anonymous WebSocket clients spread over ``--client-procs`` forked processes
(thousands of connections each, on asyncio). The publisher, in this process, sends ``--rate`` chat
messages and ``--likes-rate`` like taps a second; each chat text carries the publish time
(``time.time()``, the same clock for every process of the machine), so a viewer receiving it
knows its publish → viewer latency. The same chat frames, and one ``likes`` frame per 250 ms (what
the app's aggregation sends), go to the bare server. Frames received inside the measured window
are counted (``frames_per_s``: deliveries per second, summed over viewers).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._harness import (  # noqa: E402
    HOST,
    Server,
    create_buyers,
    free_port,
    install_signal_handlers,
    loadavg,
    migrate,
    ms,
    percentile,
    run_client_processes,
    run_db,
    server_env,
    shares,
    start_server,
    stop_server,
    wait_ready,
)

CONNECT_AT_ONCE = 200  # connections a client process opens concurrently (the listen backlog is finite)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's supervisor and workers)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bare websockets server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError("the bare websockets server did not start")


async def poll(check: Any, every: float = 0.05) -> None:
    while True:
        if check():
            return
        await asyncio.sleep(every)


# --- viewers (in client processes) ------------------------------------------------------------


async def viewers_main(plan: dict[str, Any]) -> dict[str, Any]:
    """Open ``plan["count"]`` viewers over ``plan["urls"]`` (round-robin), say so, wait for the
    parent's start time, then count what they receive in the measured window (wall clock)."""
    from websockets.asyncio.client import connect

    raise_fd_limit()
    urls: list[str] = plan["urls"]
    start, end = float("inf"), float("inf")
    frames = 0
    latencies: list[float] = []
    failed = 0
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    connections: list[Any] = []

    async def viewer(k: int) -> None:
        nonlocal frames, failed
        try:
            async with gate:
                ws = await connect(urls[k % len(urls)], max_size=None, ping_interval=None, open_timeout=120)
            connections.append(ws)
            async for message in ws:
                now = time.time()
                if now < start:
                    continue
                if now >= end:
                    break
                frames += 1
                if isinstance(message, str) and message.startswith('{"type":"chat"'):
                    at = message.find('"text":"t=')
                    if at >= 0:
                        stamp = message[at + 10:message.index('"', at + 10)]
                        latencies.append(now - float(stamp))
        except Exception:
            failed += 1

    tasks = [asyncio.create_task(viewer(k)) for k in range(plan["count"])]
    await poll(lambda: len(connections) + failed >= plan["count"])
    with plan["ready"].get_lock():
        plan["ready"].value += 1
    await poll(lambda: plan["start"].value != 0.0)  # set by the parent (another process)
    start = plan["start"].value
    end = start + plan["duration"]
    await asyncio.sleep(max(0.0, end - time.time()))
    await asyncio.sleep(1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ws in connections:
        with contextlib.suppress(Exception):
            ws.transport.abort()
    return {"frames": frames, "latencies": latencies, "failed": failed, "connected": len(connections)}


# --- the publisher (this process) -------------------------------------------------------------


async def publish(url: str, token: str | None, rate: float, likes_rate: float, until: float, bare: bool) -> int:
    """Send chat frames at ``rate``/s (text ``t=<publish time>``) and like taps at ``likes_rate``/s
    until ``until``; to the bare server, the frames the app would send instead."""
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    sent = 0
    user = {"id": 1, "display_name": "Host", "handle": None, "avatar_url": None, "badges": ["host"]}
    async with connect(url, additional_headers=headers, max_size=None, ping_interval=None) as ws:
        drain = None if bare else asyncio.create_task(_drain(ws))
        tick = 0.05
        next_at = time.monotonic()
        chat_due = likes_due = 0.0
        likes_total = 0
        last_burst = time.monotonic()
        while time.time() < until:
            chat_due += rate * tick
            likes_due += likes_rate * tick
            while chat_due >= 1:
                chat_due -= 1
                text = f"t={time.time():.6f}"
                if bare:
                    await ws.send(json.dumps({"type": "chat", "id": f"{sent}", "text": text, "user": user,
                                              "at": "2026-01-01T00:00:00+00:00"}, separators=(",", ":")))
                else:
                    await ws.send(json.dumps({"type": "chat", "text": text}))
                sent += 1
            taps = int(likes_due)
            if taps:
                likes_due -= taps
                if bare:
                    likes_total += taps
                else:
                    await ws.send(json.dumps({"type": "like", "count": min(taps, 50)}))
            if bare and time.monotonic() - last_burst >= 0.25 and likes_total:
                last_burst = time.monotonic()
                await ws.send(json.dumps({"type": "likes", "count": taps, "total": likes_total}))
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if drain is not None:
            drain.cancel()
    return sent


async def _drain(ws: Any) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


# --- one configuration ------------------------------------------------------------------------


def measure(name: str, urls: list[str], publish_url: str, token: str | None, args: argparse.Namespace,
            bare: bool) -> dict[str, Any]:
    import multiprocessing as mp
    import threading

    ctx = mp.get_context("fork")
    ready, start_at = ctx.Value("i", 0), ctx.Value("d", 0.0)
    plans = [{"urls": urls, "count": n, "ready": ready, "start": start_at, "duration": args.duration}
             for n in shares(args.viewers, args.client_procs)]
    log(f"[{name}] {args.viewers} viewers over {len(urls)} process(es); measuring {args.duration:.0f} s")
    published: list[int] = []

    def publisher() -> None:
        """Once every viewer is connected (or the connect timeout passed): warm-up, then the window."""
        deadline = time.monotonic() + args.connect_timeout
        while ready.value < len(plans) and time.monotonic() < deadline:
            time.sleep(0.1)
        start = time.time() + args.warmup
        start_at.value = start
        end = start + args.duration
        published.append(asyncio.run(publish(publish_url, token, args.rate, args.likes_rate, end + 0.5, bare)))

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    results = run_client_processes(viewers_main, plans,
                                   timeout=args.connect_timeout + args.warmup + args.duration + 120)
    thread.join(timeout=30)
    frames, latencies, failed, connected = 0, [], 0, 0
    for (status, value), _cpu in results:
        if status != "ok":
            raise RuntimeError(f"[{name}] client process failed: {value}")
        frames += value["frames"]
        latencies += value["latencies"]
        failed += value["failed"]
        connected += value["connected"]
    latencies.sort()
    return {"frames_per_s": round(frames / args.duration, 1), "p95_ms": ms(percentile(latencies, 0.95)),
            "p99_ms": ms(percentile(latencies, 0.99)), "connected": connected, "failed": failed,
            "chat_published": published[0] if published else 0}


def run(args: argparse.Namespace, processes: int, redis_url: str | None, tmp: Path) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{tmp / f'bench{processes}.db'}"
    media = tmp / "media"
    migrate(url, media)
    token = create_buyers(url, 1, f"host{processes}_")[0]

    async def make_live(session: Any) -> int:
        from sqlalchemy import select

        from mercato.accounts.models import User
        from mercato.live.models import Live

        host_id = await session.scalar(select(User.id).order_by(User.id.desc()).limit(1))
        live = Live(host_id=host_id, title="Bench LIVE", status="live")
        session.add(live)
        await session.flush()
        return int(live.id)

    live_id = run_db(url, make_live)
    extra = {"MERCATO_RUN_JOBS": "false", "MERCATO_RATE_LIMIT_LIVE_CHAT": "1000000/second",
             "MERCATO_RATE_LIMIT_LIVE_LIKE": "1000000/second"}
    if redis_url:
        extra["REDIS_URL"] = redis_url
    env = server_env(url, media, **extra)
    servers: list[Server] = []
    logdir = tmp / f"logs{processes}"
    logdir.mkdir(exist_ok=True)
    try:
        for k in range(processes):
            servers.append(start_server(f"app{k + 1}", "mercato.asgi:app", 1, env, logdir))
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, str(HERE / "bare_ws_app.py"), "--port", str(bare_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for server in servers:
            wait_ready(server, "/healthz")
        wait_port(bare_port, bare)
        path = f"/api/v1/lives/{live_id}/room"
        urls = [f"ws://{HOST}:{s.port}{path}" for s in servers]
        ours = measure(f"app x{processes}", urls, urls[0], token, args, bare=False)
        rss = [rss_mib(s.proc.pid) for s in servers]
        reference = measure("bare websockets", [f"ws://{HOST}:{bare_port}/room"], f"ws://{HOST}:{bare_port}/publish",
                            None, args, bare=True)
        bare.terminate()
        bare.wait(timeout=10)
    finally:
        for server in servers:
            stop_server(server)
    line = {
        "bench": "live_fanout", "viewers": args.viewers, "processes": processes,
        "backend": "redis" if redis_url else "in-process",
        "frames_per_s": ours["frames_per_s"], "reference_frames_per_s": reference["frames_per_s"],
        "ratio_to_limit": (round(ours["frames_per_s"] / reference["frames_per_s"], 3)
                           if reference["frames_per_s"] else None),
        "p95_ms": ours["p95_ms"], "p99_ms": ours["p99_ms"], "rss_mib": max(rss),
        "reference_p95_ms": reference["p95_ms"], "reference_p99_ms": reference["p99_ms"],
        "connected": ours["connected"], "reference_connected": reference["connected"],
        "failed": ours["failed"], "chat_per_s": args.rate, "likes_per_s": args.likes_rate,
        "loadavg": loadavg(),
    }
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0, help="chat messages published per second")
    parser.add_argument("--likes-rate", type=float, default=50.0, help="like taps per second")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--connect-timeout", type=float, default=300.0,
                        help="at most this long for every viewer to connect before the warm-up starts")
    parser.add_argument("--no-redis", action="store_true", help="skip the two-process run through Redis")
    args = parser.parse_args()
    install_signal_handlers()
    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="mercato-live-fanout-"))
    try:
        print(json.dumps(run(args, 1, None, tmp)), flush=True)
        if not args.no_redis and shutil.which("redis-server"):
            from tests.harness import redis_server

            with redis_server() as redis_url:
                print(json.dumps(run(args, 2, redis_url, tmp)), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
