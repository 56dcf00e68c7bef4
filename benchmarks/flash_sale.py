"""Flash-sale benchmark: N buyers hit "buy" on one hot SKU with S units, over real HTTP.

    python benchmarks/flash_sale.py [--backend sqlite|postgresql] [--buyers 5000] [--stock 100]

What it does (see benchmarks/README.md and PERFORMANCE.md, bench ``flash_sale``):

1. a fresh database (SQLite in a temporary folder, or a throw-away PostgreSQL cluster from
   ``tests/harness.py``), migrated; one shop with the hot product (one variant, S units) and a
   warm-up product; N buyers (+ warm-up buyers) with bearer sessions written straight to the
   database; a ``counters`` table for the reference;
2. uvicorn with identical settings (uvloop, httptools; N processes each, 1 on SQLite, 2 on
   PostgreSQL by default, on ports of their own with the client connections spread
   round-robin, or ``--shared-socket``: one ``uvicorn --workers N``) for the app and for
   ``benchmarks/bare_counter_app.py``, which answers each request with ONE guarded atomic
   ``UPDATE counters … WHERE taken < :stock`` on the same database with the app's engine
   settings;
3. the reference first, then the app: load-generator process(es) open C keep-alive
   connections and send N requests as fast as the answers come back (after a short warm-up
   on another SKU / counter); for the app every buyer sends ONE ``POST /api/v1/checkouts``
   with ``items=[{variant_id, quantity: 1}]`` and an ``Idempotency-Key``. A decision is a
   ``201`` (units reserved) or a clean ``409 out_of_stock``; anything else is an error;
4. checks the database afterwards: reserved + allocated ≤ stock on the variant row, reserved
   units == 201 answers, no buyer holding more than 1 unit, no idempotency key left behind;
   ``oversold`` = max(0, units reserved − stock) must be 0;
5. prints progress on stderr and one JSON line on stdout; stops every process it started and
   deletes the temporary folder (and the PostgreSQL cluster), whatever happens.

The hot SKU is a real LIVE flash deal (live/selling): a shop's LIVE on air, a deal of S units
at a price below the 30-day low with a per-buyer limit of 1, announced through the deal service
and open when the sale starts; the variant holds 2×S units, so the deal's own guarded units are
what stops the crowd. Every buy carries ``live_id`` (priced at the deal price, units taken from
the deal). A clean refusal is ``409 deal_sold_out`` (or ``out_of_stock`` / ``deal_limit_reached``).
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
import contextlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, deque  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import _harness as h  # noqa: E402


def log(message: str) -> None:
    print(f"[flash_sale] {message}", file=sys.stderr, flush=True)


# --- the load generator (runs in child processes) -------------------------------------------


@dataclass
class SalePlan:
    ports: list[int]  # one per connection (round-robin over the server processes)
    requests: list[bytes]  # one per buyer, sent in this order
    start_at: float  # time.monotonic() (CLOCK_MONOTONIC: shared by every process)
    timeout: float


# One answer: (sent, answered, status, error code of a non-2xx answer; status 0 = broken)
Answer = tuple[float, float, int, str]


def _error_code(body: bytes) -> str:
    import orjson

    try:
        return str(orjson.loads(body)["error"]["code"])
    except Exception:
        return "?"


async def sale_client(plan: SalePlan) -> list[Answer]:
    monotonic = time.monotonic
    queue = deque(plan.requests)
    answers: list[Answer] = []
    clients = [h.HttpClient(port, plan.timeout) for port in plan.ports]
    for client in clients:
        await client.connect()

    async def worker(client: h.HttpClient) -> None:
        while queue:
            request = queue.popleft()
            t0 = monotonic()
            try:
                status, body = await client.call(request)
            except (OSError, TimeoutError):
                status, body = 0, b""
            answers.append((t0, monotonic(), status, _error_code(body) if status >= 300 else ""))

    await asyncio.sleep(max(0.0, plan.start_at - monotonic()))
    await asyncio.gather(*(worker(c) for c in clients))
    for client in clients:
        client.close()
    return answers


@dataclass
class Phase:
    answers: list[Answer]
    server_cpu_s: float
    client_cpu_s: float
    problems: list[str]


def run_phase(servers: list[h.Server], requests: list[bytes], args: argparse.Namespace) -> Phase:
    """Send ``requests`` over C connections from the client processes; every answer back."""
    procs = max(1, min(args.client_procs, args.concurrency))
    start_at = time.monotonic() + 0.5 + 0.003 * args.concurrency
    ports = [server.port for server in servers]
    plans = []
    first = 0
    for part, n in zip(h.split(requests, procs), h.shares(args.concurrency, procs), strict=True):
        plans.append(SalePlan(h.connection_ports(ports, first, n), part, start_at, args.timeout))
        first += n
    cpu: dict[str, float] = {}
    results = h.run_client_processes(
        sale_client, plans, timeout=start_at - time.monotonic() + args.max_seconds,
        marks=[(start_at, lambda: cpu.__setitem__("a", h.servers_cpu_seconds(servers)))])
    cpu_b = h.servers_cpu_seconds(servers)
    answers: list[Answer] = []
    problems: list[str] = []
    client_cpu = 0.0
    for (status, payload), cpu_s in results:
        client_cpu += cpu_s
        if status == "ok":
            answers.extend(payload)
        else:
            problems.append(f"client: {payload}")
    h.check_alive(servers)
    return Phase(answers, cpu_b - cpu.get("a", cpu_b), client_cpu, problems)


#: The clean refusals of a buy (the reference answers ``out_of_stock`` too).
REFUSALS = ("out_of_stock", "deal_sold_out", "deal_limit_reached")
DEAL_PRICE = 990


def summarize(phase: Phase, ok_status: int, expected: int) -> dict[str, Any]:
    """Decisions (``ok_status`` or a clean 409 refusal), their rate and latencies."""
    answers = phase.answers
    statuses = Counter(a[2] for a in answers)
    taken = [a for a in answers if a[2] == ok_status]
    refused = [a for a in answers if a[2] == 409 and a[3] in REFUSALS]
    wrong = Counter(f"{a[2]} {a[3]}" for a in answers if a[2] != ok_status and not (a[2] == 409 and a[3] in REFUSALS))
    decisions = len(taken) + len(refused)
    first = min((a[0] for a in answers), default=0.0)
    last = max((a[1] for a in answers), default=0.0)
    elapsed = max(1e-9, last - first)
    lat = sorted(a[1] - a[0] for a in taken + refused)
    sold_out_at = sorted(a[1] for a in taken)[-1] - first if taken else 0.0
    return {
        "decisions": decisions, "taken": len(taken), "refused": len(refused),
        "errors": len(answers) - decisions + (expected - len(answers)) + len(phase.problems),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "error_kinds": dict(wrong.most_common(5)),
        "decisions_per_s": round(decisions / elapsed, 1), "elapsed_s": round(elapsed, 3),
        "p50_ms": h.ms(h.percentile(lat, 0.50)), "p90_ms": h.ms(h.percentile(lat, 0.90)),
        "p99_ms": h.ms(h.percentile(lat, 0.99)), "max_ms": h.ms(lat[-1]) if lat else 0.0,
        "taken_p50_ms": h.ms(h.percentile(sorted(a[1] - a[0] for a in taken), 0.50)),
        "refused_p50_ms": h.ms(h.percentile(sorted(a[1] - a[0] for a in refused), 0.50)),
        "sold_out_after_ms": h.ms(sold_out_at),
        "server_cpu_ms_per_decision": round(1000 * phase.server_cpu_s / decisions, 3) if decisions else 0.0,
        "server_cpu_pct": round(100 * phase.server_cpu_s / elapsed, 1),
        "client_cpu_pct": round(100 * phase.client_cpu_s / elapsed, 1),
    }


# --- the database ---------------------------------------------------------------------------


def open_live_deal(url: str, variant_id: int, units: int) -> tuple[int, int]:
    """The hot variant's shop owner goes LIVE and announces a flash deal of ``units`` on it,
    one per buyer, through the deal service; its countdown is over when the sale starts.
    Answers (LIVE id, deal id)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from mercato.accounts.models import User
    from mercato.catalog.models import ShopMember, Variant
    from mercato.live.models import Live
    from mercato.live.selling import deals
    from mercato.live.selling.schemas import FlashDealIn

    async def write(session: Any) -> tuple[int, int]:
        variant = await session.get(Variant, variant_id)
        owner_id = await session.scalar(select(ShopMember.user_id).where(ShopMember.shop_id == variant.shop_id))
        host = await session.get(User, owner_id)
        live = Live(host_id=host.id, shop_id=variant.shop_id, title="Flash sale", status="live",
                    started_at=datetime.now(UTC))
        session.add(live)
        await session.flush()
        countdown = 10
        # Announced ``countdown`` seconds ago: open now, for 20 minutes.
        announced = datetime.now(UTC) - timedelta(seconds=countdown)
        deal = await deals.announce(session, host, live.id, FlashDealIn(
            variant_id=variant_id, deal_price=DEAL_PRICE, total_units=units, per_buyer_limit=1,
            countdown_seconds=countdown, duration_minutes=20), announced)
        return live.id, deal.id

    result: tuple[int, int] = h.run_db(url, write)
    return result


def prepare(url: str, args: argparse.Namespace, media: Path) -> tuple[int, int, list[str], list[str]]:
    """Migrate; the hot SKU (a LIVE flash deal of S units on a variant with 2×S), the warm-up
    SKU, the buyers; the counters of the reference."""
    from sqlalchemy import text

    h.migrate(url, media)
    hot = h.create_catalog(url, 1, 1, 2 * args.stock, price=1500, label="hot")[0]
    warm = h.create_catalog(url, 1, 1, 10**8, price=1500, label="warm")[0]
    tokens = h.create_buyers(url, args.buyers, "buyer")
    warm_tokens = h.create_buyers(url, args.warmup_requests, "warmup") if args.warmup_requests else []

    async def counters(session: Any) -> None:
        await session.execute(text("CREATE TABLE counters (id INTEGER PRIMARY KEY, taken INTEGER NOT NULL)"))
        await session.execute(text("INSERT INTO counters (id, taken) VALUES (1, 0), (2, 0)"))

    h.run_db(url, counters)
    return hot, warm, tokens, warm_tokens


def database_facts(url: str, variant_id: int, deal_id: int) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from mercato.catalog.models import Variant
    from mercato.inventory.models import Reservation
    from mercato.kit.models import IdempotencyKey
    from mercato.live.selling.models import DealBuyer, FlashDeal
    from mercato.orders.models import Checkout, OrderLine

    async def facts(session: Any) -> dict[str, Any]:
        variant = await session.get(Variant, variant_id)
        deal = await session.get(FlashDeal, deal_id)
        assert variant is not None and deal is not None
        deal_buyer_max = (await session.execute(select(func.coalesce(func.max(DealBuyer.quantity), 0))
                                                .where(DealBuyer.deal_id == deal_id))).scalar_one()
        prices = set((await session.scalars(select(OrderLine.unit_price).where(OrderLine.variant_id == variant_id)))
                     .all())
        held = (select(Checkout.buyer_id, func.sum(Reservation.quantity).label("units"))
                .join(Checkout, Checkout.id == Reservation.checkout_id)
                .where(Reservation.variant_id == variant_id).group_by(Checkout.buyer_id).subquery())
        per_buyer = (await session.execute(select(func.coalesce(func.max(held.c.units), 0)))).scalar_one()
        units = (await session.execute(select(func.coalesce(func.sum(Reservation.quantity), 0))
                                       .where(Reservation.variant_id == variant_id))).scalar_one()
        stuck = (await session.execute(select(func.count()).select_from(IdempotencyKey)
                                       .where(IdempotencyKey.status == "in_progress"))).scalar_one()
        taken = (await session.execute(text("SELECT taken FROM counters WHERE id = 1"))).scalar_one()
        return {"stock": variant.stock, "reserved": variant.reserved, "allocated": variant.allocated,
                "reservation_units": int(units), "per_buyer_max": max(int(per_buyer), int(deal_buyer_max)),
                "keys_in_progress": int(stuck), "counter_taken": int(taken), "deal_units_left": deal.units_left,
                "deal_total_units": deal.total_units, "prices": sorted(prices)}

    result: dict[str, Any] = h.run_db(url, facts)
    return result


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="SQLite file in a temporary folder, or a throw-away PostgreSQL cluster")
    parser.add_argument("--buyers", type=int, default=5000, help="buyers, one buy request each")
    parser.add_argument("--stock", type=int, default=100, help="units of the hot SKU")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="keep-alive connections carrying the buyers' requests (closed loop)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes of the app and of the reference (default: 1 on SQLite, 2 on PostgreSQL)")
    parser.add_argument("--shared-socket", action="store_true",
                        help="one 'uvicorn --workers N' each instead of N processes on their own ports (the "
                             "kernel then spreads connections, often all onto one worker)")
    parser.add_argument("--warmup-requests", type=int, default=200,
                        help="requests on another SKU / counter before each measured phase")
    parser.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per request")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="seconds allowed per phase")
    parser.add_argument("--redis", action="store_true",
                        help="start a throw-away redis-server and give the app REDIS_URL: the flash-sale gate's "
                             "in-flight claims then live in Redis (orders/flash_claims.py)")
    parser.add_argument("--no-jobs", action="store_true", help="MERCATO_RUN_JOBS=false (no background jobs)")
    parser.add_argument("--app", default="mercato.asgi:app", dest="app_target",
                        help="ASGI target (e.g. benchmarks._profile_app:app to profile the server)")
    args = parser.parse_args(argv)
    if args.workers is None:
        args.workers = 1 if args.backend == "sqlite" else 2
    if min(args.buyers, args.stock, args.concurrency, args.workers, args.client_procs) < 1 or args.warmup_requests < 0:
        parser.error("sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    h.install_signal_handlers()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="mercato-bench-flash-"))
    servers: list[h.Server] = []
    try:
        log(f"starting a fresh {args.backend} database")
        with h.database_url(args.backend, tmp) as url, contextlib.ExitStack() as stack:
            redis_url = None
            if args.redis:
                from tests.harness import redis_server

                redis_url = stack.enter_context(redis_server())
                if redis_url is None:
                    raise RuntimeError("--redis: no redis-server binary on PATH")
                log(f"throw-away Redis at {redis_url}")
            try:
                return run(args, url, tmp, servers, started, redis_url)
            finally:
                for server in servers:
                    h.stop_server(server)
    except SystemExit:
        log("stopped by a signal: cleaning up")
        raise
    except Exception as exc:
        log(f"failed: {type(exc).__name__}: {exc}")
        for server in servers:
            tail = server.tail()
            if tail:
                log(f"--- last lines of the {server.name} server log ---\n{tail}")
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, url: str, tmp: Path, servers: list[h.Server], started: float,
        redis_url: str | None) -> int:
    media = tmp / "media"
    t = time.monotonic()
    hot, warm, tokens, warm_tokens = prepare(url, args, media)
    live_id, deal_id = open_live_deal(url, hot, args.stock)
    log(f"migrated; hot SKU (variant {hot}: LIVE {live_id} flash deal {deal_id}, {args.stock} units, one per "
        f"buyer), {args.buyers} buyers in {time.monotonic() - t:.1f} s")
    extra = {"BENCH_COUNTER_STOCK": str(args.stock)}
    if args.no_jobs:
        extra["MERCATO_RUN_JOBS"] = "false"
    env = h.server_env(url, media, **extra)
    if redis_url:
        env["REDIS_URL"] = redis_url  # the bare counter ignores it
    log(f"starting uvicorn ({args.workers} process(es) each{', shared socket' if args.shared_socket else ''}, "
        f"uvloop, httptools): {args.app_target} and the bare counter")
    apps = h.start_app("app", args.app_target, args.workers, env, tmp, servers, args.shared_socket)
    bares = h.start_app("bare", "benchmarks.bare_counter_app:app", args.workers, env, tmp, servers,
                        args.shared_socket)
    for server in servers:
        h.wait_ready(server, "/healthz")
    app_port, bare_port = apps[0].port, bares[0].port  # the Host header; any process answers
    run_id = uuid.uuid4().hex[:8]

    def take(counter_id: int, n: int) -> list[bytes]:
        return [h.build_request("POST", f"/take/{counter_id}", bare_port, {"variant_id": counter_id, "quantity": 1},
                                {"Idempotency-Key": f"{run_id}-ref-{counter_id}-{i}"}) for i in range(n)]

    def buy(port: int, variant_id: int, who: list[str], label: str, live: int | None = None) -> list[bytes]:
        body: dict[str, Any] = {"items": [{"variant_id": variant_id, "quantity": 1}], "address": h.ADDRESS}
        if live is not None:
            body["live_id"] = live
        return [h.build_request("POST", "/api/v1/checkouts", port, body,
                                {"Authorization": f"Bearer {token}", "Idempotency-Key": f"{run_id}-{label}-{i}"})
                for i, token in enumerate(who)]

    load_before = h.loadavg()
    log(f"reference: {args.buyers} requests over {args.concurrency} connections (load average {load_before})")
    if args.warmup_requests:
        run_phase(bares, take(2, args.warmup_requests), args)
    ref = summarize(run_phase(bares, take(1, args.buyers), args), 200, args.buyers)
    log(f"  {ref['decisions_per_s']} decisions/s  p50 {ref['p50_ms']} ms  p99 {ref['p99_ms']} ms  "
        f"taken {ref['taken']}  errors {ref['errors']}  server CPU {ref['server_cpu_ms_per_decision']} ms/decision")
    if args.warmup_requests:
        log(f"app warm-up: {args.warmup_requests} buy requests on another SKU")
        warm_phase = run_phase(apps, buy(app_port, warm, warm_tokens, "warm"), args)
        bad = sum(1 for a in warm_phase.answers if a[2] != 201)
        if bad:
            log(f"warning: {bad} warm-up answers were not 201: "
                f"{Counter((a[2], a[3]) for a in warm_phase.answers if a[2] != 201).most_common(3)}")
    load_app = h.loadavg()
    log(f"the sale: {args.buyers} buyers, one buy each, {args.stock} units (load average {load_app})")
    sale = summarize(run_phase(apps, buy(app_port, hot, tokens, "sale", live_id), args), 201, args.buyers)
    log(f"  {sale['decisions_per_s']} decisions/s  p50 {sale['p50_ms']} ms  p99 {sale['p99_ms']} ms  "
        f"reserved {sale['taken']}  refused {sale['refused']}  errors {sale['errors']}  "
        f"server CPU {sale['server_cpu_ms_per_decision']} ms/decision")

    log("stopping the servers; checking the database")
    for server in servers:
        h.stop_server(server)
    facts = database_facts(url, hot, deal_id)
    units = max(sale["taken"], facts["reserved"] + facts["allocated"], facts["reservation_units"],
                facts["deal_total_units"] - facts["deal_units_left"])
    oversold = max(0, units - args.stock)
    problems = []
    if facts["reserved"] + facts["allocated"] > facts["stock"]:
        problems.append(f"variant row: reserved {facts['reserved']} + allocated {facts['allocated']} > "
                        f"stock {facts['stock']}")
    if facts["reserved"] + facts["allocated"] != sale["taken"] or facts["reservation_units"] != sale["taken"]:
        problems.append(f"{sale['taken']} answers 201 but the variant row holds {facts['reserved']} reserved + "
                        f"{facts['allocated']} allocated and reservations hold {facts['reservation_units']} units")
    if facts["deal_total_units"] - facts["deal_units_left"] != sale["taken"]:
        problems.append(f"{sale['taken']} answers 201 but the deal has {facts['deal_units_left']} of "
                        f"{facts['deal_total_units']} units left")
    if sale["taken"] and facts["prices"] != [DEAL_PRICE]:
        problems.append(f"deal lines priced {facts['prices']}, not {DEAL_PRICE}")
    if facts["per_buyer_max"] > 1:
        problems.append(f"a buyer holds {facts['per_buyer_max']} units (limit 1)")
    if facts["keys_in_progress"]:
        problems.append(f"{facts['keys_in_progress']} idempotency keys left in progress")
    if facts["counter_taken"] != ref["taken"] or ref["taken"] > args.stock:
        problems.append(f"reference: counter {facts['counter_taken']}, {ref['taken']} answers 200")
    for problem in problems:
        log(f"PROBLEM: {problem}")
    rate, ref_rate = sale["decisions_per_s"], ref["decisions_per_s"]
    ref_cpu, cpu = ref["server_cpu_ms_per_decision"], sale["server_cpu_ms_per_decision"]
    line = {
        "bench": "flash_sale", "backend": args.backend, "redis": bool(redis_url), "buyers": args.buyers,
        "stock": args.stock,
        "orders": sale["taken"], "oversold": oversold, "decisions_per_s": rate, "p50_ms": sale["p50_ms"],
        "p99_ms": sale["p99_ms"], "reference_decisions_per_s": ref_rate,
        "ratio_to_limit": round(rate / ref_rate, 3) if ref_rate else 0.0,
        "errors": sale["errors"], "refused": sale["refused"], "statuses": sale["statuses"],
        "error_kinds": sale["error_kinds"], "workers": args.workers, "concurrency": args.concurrency,
        "balancing": "one process" if args.workers == 1 else "uvicorn --workers (shared socket)"
        if args.shared_socket else "round-robin connections over processes",
        "p90_ms": sale["p90_ms"], "max_ms": sale["max_ms"], "reserved_p50_ms": sale["taken_p50_ms"],
        "refused_p50_ms": sale["refused_p50_ms"], "sold_out_after_ms": sale["sold_out_after_ms"],
        "elapsed_s": sale["elapsed_s"], "reference_p50_ms": ref["p50_ms"], "reference_p99_ms": ref["p99_ms"],
        "reference_errors": ref["errors"], "reference_taken": ref["taken"],
        "server_cpu_ms_per_decision": cpu, "reference_server_cpu_ms_per_decision": ref_cpu,
        "cpu_ratio_to_limit": round(ref_cpu / cpu, 3) if cpu else 0.0,
        "server_cpu_pct": sale["server_cpu_pct"], "client_cpu_pct": sale["client_cpu_pct"],
        "db_reserved": facts["reserved"], "db_allocated": facts["allocated"], "per_buyer_max": facts["per_buyer_max"],
        "verified": not problems, "jobs": not args.no_jobs, "loadavg_before": load_app, "app": args.app_target,
    }
    log(f"oversold {oversold}  ratio to the bare counter {line['ratio_to_limit']}  "
        f"done in {time.monotonic() - started:.0f} s")
    print(json.dumps(line), flush=True)
    return 1 if problems or oversold or sale["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
