"""Spike benchmark: a short burst of mixed traffic; the app must answer it without a server error.

    python benchmarks/spike.py [--backend sqlite|postgresql] [--duration 12] [--base 8] [--peak 64]

What it does (see benchmarks/README.md and PERFORMANCE.md):

1. a fresh database (SQLite in a temporary folder, or a throw-away PostgreSQL cluster from
   ``tests/harness.py``), migrated; shops with products, buyers with bearer sessions (their password
   is known, so they can also sign in) and a few published videos, written straight to the database;
2. the app (``uvicorn mercato.asgi:app``) and the bare reference (``benchmarks/bare_app.py``) as
   separate processes with the same uvicorn settings on free loopback ports;
3. the spike, in three equal thirds of ``--duration``: ``--base`` virtual users, then ``--peak``, then
   ``--base`` again. Each user loops over a mix of browse (Shop Tab page), product, search, the
   popular feed, sign-in, feed events, cart add, and checkout + pay (sandbox card), with
   ``Idempotency-Key``s; the same spike then runs against the bare app's hello route (the reference);
4. reports the count of every status per action, the ``429``s seen (throttling is a correct answer
   to a spike), requests/s and latencies, and exits non-zero if any answer was a 5xx or a connection
   broke; one JSON line on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# A file in this folder is named http.py: keep the folder off sys.path (it would shadow the
# standard library's ``http``) and import the shared pieces as ``benchmarks._harness``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import _harness as h  # noqa: E402

PASSWORD = "not-used-here"  # what _harness.create_buyers hashes for every buyer
ACTIONS = ("browse", "product", "search", "feed", "sign_in", "feed_events", "cart_add", "checkout", "pay")


def log(message: str) -> None:
    print(f"[spike] {message}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    broken: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def record(self, action: str, status: int, seconds: float) -> None:
        self.statuses[action][status] += 1
        self.latencies.append(seconds)

    def total(self) -> Counter[int]:
        out: Counter[int] = Counter()
        for counts in self.statuses.values():
            out.update(counts)
        return out


def create_videos(url: str, count: int) -> list[int]:
    """``count`` published videos (rows only: feed events and the popular feed need no file)."""
    from datetime import UTC, date, datetime

    from sqlalchemy import insert, select

    from mercato.accounts.models import User
    from mercato.content.models import Video
    from mercato.kit.security import hash_password

    async def write(session: Any) -> list[int]:
        now = datetime.now(UTC)
        await session.execute(insert(User), [{
            "email": "spike-creator@bench.example.com", "password_hash": hash_password(PASSWORD),
            "display_name": "Spike Creator", "date_of_birth": date(1990, 1, 1), "niche_tags": [], "bio": "",
            "is_admin": False, "is_creator": True, "followers_count": 0, "following_count": 0,
            "created_at": now, "updated_at": now}])
        creator = (await session.execute(
            select(User.id).where(User.email == "spike-creator@bench.example.com"))).scalar_one()
        await session.execute(insert(Video), [{
            "creator_id": creator, "caption": f"clip {i} #spike", "status": "published",
            "media_path": f"videos/spike-{i}.mp4", "mime_type": "video/mp4", "container": "mp4",
            "video_codec": "h264", "width": 360, "height": 640, "duration_ms": 5000, "size_bytes": 1000,
            "created_at": now, "updated_at": now} for i in range(count)])
        return list((await session.execute(select(Video.id).order_by(Video.id))).scalars())

    result: list[int] = h.run_db(url, write)
    return result


@dataclass
class World:
    tokens: list[str]
    emails: list[str]
    variants: list[int]
    products: list[int]
    videos: list[int]


async def app_user(client: Any, world: World, tally: Tally, stop_at: float, rng: random.Random,
                   numbers: Any) -> None:
    """One virtual user: random actions of the mix, back to back, until ``stop_at``."""
    import httpx

    async def call(action: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        t0 = time.monotonic()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            tally.broken[f"{action}: {type(exc).__name__}"] += 1
            return None
        tally.record(action, response.status_code, time.monotonic() - t0)
        return response

    buyer = rng.randrange(len(world.tokens))
    auth = {"Authorization": f"Bearer {world.tokens[buyer]}"}
    while time.monotonic() < stop_at:
        action = rng.choices(ACTIONS[:-1], weights=(20, 20, 10, 20, 3, 10, 8, 5))[0]
        if action == "browse":
            await call(action, "GET", "/api/v1/products", params={"sort": rng.choice(["newest", "price_asc"])})
        elif action == "product":
            await call(action, "GET", f"/api/v1/products/{rng.choice(world.products)}")
        elif action == "search":
            await call(action, "GET", "/api/v1/search", params={"q": rng.choice(["item", "bench", "clip"])})
        elif action == "feed":
            await call(action, "GET", "/api/v1/feed/popular", headers=auth)
        elif action == "sign_in":
            await call(action, "POST", "/api/v1/auth/login", json={"email": world.emails[buyer], "password": PASSWORD})
        elif action == "feed_events":
            events = [{"video_id": rng.choice(world.videos), "kind": "watch", "watch_ms": 3000} for _ in range(3)]
            await call(action, "POST", "/api/v1/feed/events", headers=auth, json={"events": events})
        elif action == "cart_add":
            await call(action, "POST", "/api/v1/cart/items", headers=auth,
                       json={"variant_id": rng.choice(world.variants), "quantity": 1})
        else:  # checkout, then pay what it created
            n = next(numbers)
            done = await call("checkout", "POST", "/api/v1/checkouts",
                              headers={**auth, "Idempotency-Key": f"spike-co-{n}"},
                              json={"items": [{"variant_id": rng.choice(world.variants), "quantity": 1}],
                                    "address": h.ADDRESS})
            if done is not None and done.status_code == 201:
                await call("pay", "POST", f"/api/v1/checkouts/{done.json()['id']}/pay",
                           headers={**auth, "Idempotency-Key": f"spike-pay-{n}"}, json=h.CARD)


async def bare_user(client: Any, tally: Tally, stop_at: float) -> None:
    import httpx

    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        try:
            response = await client.get("/")
        except httpx.HTTPError as exc:
            tally.broken[type(exc).__name__] += 1
            continue
        tally.record("hello", response.status_code, time.monotonic() - t0)


async def spike(port: int, base: int, peak: int, duration: float,
                user: Callable[[Any, float, random.Random], Awaitable[None]]) -> float:
    """Run ``base`` users for a third of ``duration``, ``peak`` for the next, ``base`` for the last;
    the seconds it took."""
    import httpx

    third = duration / 3
    limits = httpx.Limits(max_connections=peak, max_keepalive_connections=peak)
    async with httpx.AsyncClient(base_url=f"http://{h.HOST}:{port}", limits=limits, timeout=60.0) as client:
        t0 = time.monotonic()
        rng = random.Random(18)
        steady = [asyncio.create_task(user(client, t0 + duration, random.Random(rng.random()))) for _ in range(base)]
        await asyncio.sleep(third)
        log(f"spike: {base} → {peak} users")
        burst = [asyncio.create_task(user(client, t0 + 2 * third, random.Random(rng.random())))
                 for _ in range(peak - base)]
        await asyncio.gather(*burst)
        log(f"back to {base} users")
        await asyncio.gather(*steady)
        return time.monotonic() - t0


def summary(tally: Tally, seconds: float) -> dict[str, Any]:
    lat = sorted(tally.latencies)
    total = tally.total()
    return {
        "requests": sum(total.values()), "rps": round(sum(total.values()) / seconds, 1),
        "p50_ms": h.ms(h.percentile(lat, 0.50)) if lat else None,
        "p99_ms": h.ms(h.percentile(lat, 0.99)) if lat else None,
        "statuses": {str(k): v for k, v in sorted(total.items())},
        "server_errors": sum(v for k, v in total.items() if k >= 500),
        "throttled": total.get(429, 0),
        "broken": sum(tally.broken.values()),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds of the whole spike (3 thirds)")
    parser.add_argument("--base", type=int, default=8, help="virtual users before and after the spike")
    parser.add_argument("--peak", type=int, default=64, help="virtual users during the spike")
    parser.add_argument("--buyers", type=int, default=200)
    args = parser.parse_args(argv)
    if not 1 <= args.base <= args.peak:
        parser.error("need 1 <= --base <= --peak")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    h.install_signal_handlers()
    tmp = Path(tempfile.mkdtemp(prefix="mercato-spike-"))
    servers: list[h.Server] = []
    try:
        with h.database_url(args.backend, tmp) as url:
            media = tmp / "media"
            h.migrate(url, media)
            variants = h.create_catalog(url, shops=4, products=25, stock=100_000, label="spike")
            tokens = h.create_buyers(url, args.buyers, "spike-buyer")
            videos = create_videos(url, 30)
            products = sorted(_product_ids(url))
            world = World(tokens, [f"spike-buyer{i}@bench.example.com" for i in range(args.buyers)], variants,
                          products, videos)
            log(f"{args.backend}: {len(variants)} products, {len(tokens)} buyers, {len(videos)} videos")
            env = h.server_env(url, media, MERCATO_RUN_JOBS="false")
            app = h.start_app("app", "mercato.asgi:app", 1, env, tmp, servers)[0]
            bare = h.start_app("bare", "benchmarks.bare_app:app", 1, env, tmp, servers)[0]
            h.wait_ready(app, "/healthz")
            h.wait_ready(bare, "/healthz")

            app_tally = Tally()
            run = uuid.uuid4().hex[:8]
            numbers = (f"{run}-{n}" for n in itertools.count(1))
            log(f"app: {args.base} → {args.peak} → {args.base} users over {args.duration:g} s")
            seconds = asyncio.run(spike(app.port, args.base, args.peak, args.duration,
                                        lambda c, stop, rng: app_user(c, world, app_tally, stop, rng, numbers)))
            h.check_alive([app])
            bare_tally = Tally()
            log("reference: the same spike on the bare hello route")
            bare_seconds = asyncio.run(spike(bare.port, args.base, args.peak, args.duration,
                                             lambda c, stop, rng: bare_user(c, bare_tally, stop)))
    finally:
        for server in servers:
            h.stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)

    app_figures = summary(app_tally, seconds)
    reference = summary(bare_tally, bare_seconds)
    by_action = {action: {str(k): v for k, v in sorted(counts.items())}
                 for action, counts in sorted(app_tally.statuses.items())}
    for action, counts in by_action.items():
        log(f"{action:12} {counts}")
    for what, n in app_tally.broken.items():
        log(f"broken connection: {what} × {n}")
    line = {
        "bench": "spike", "backend": args.backend, "base_users": args.base, "peak_users": args.peak,
        "duration_s": args.duration, **app_figures, "by_action": by_action,
        "reference_rps": reference["rps"], "reference_p99_ms": reference["p99_ms"],
        "ratio_to_limit": round(app_figures["rps"] / reference["rps"], 3) if reference["rps"] else None,
        "loadavg": h.loadavg(),
    }
    print(json.dumps(line), flush=True)
    failed = app_figures["server_errors"] or app_figures["broken"]
    if failed:
        log(f"FAILED: {app_figures['server_errors']} server errors, {app_figures['broken']} broken connections")
    return 1 if failed else 0


def _product_ids(url: str) -> list[int]:
    from sqlalchemy import select

    from mercato.catalog.models import Product

    async def read(session: Any) -> list[int]:
        return list((await session.execute(select(Product.id))).scalars())

    result: list[int] = h.run_db(url, read)
    return result


if __name__ == "__main__":
    sys.exit(main())
