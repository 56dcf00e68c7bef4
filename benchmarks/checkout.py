"""Checkout benchmark: paid orders per second through the real HTTP path.

    python benchmarks/checkout.py [--backend sqlite|postgresql] [--concurrency 32] [--duration 20]

What it does (see benchmarks/README.md and PERFORMANCE.md, bench ``checkout``):

1. a fresh database (SQLite in a temporary folder, or a throw-away PostgreSQL cluster from
   ``tests/harness.py``), migrated; S shops × P one-variant products with plenty of stock made
   by the catalog's services; N buyers with bearer sessions written straight to the database;
2. the app (``uvicorn mercato.asgi:app``, uvloop + httptools) as N separate processes (1 on
   SQLite, 2 on PostgreSQL by default), each on a free loopback port of its own, the client
   connections spread over them round-robin (``--shared-socket``: one ``uvicorn --workers N``);
3. load-generator process(es) with C keep-alive connections, each running whole buying flows
   back to back (closed loop), every flow a different buyer and, C at a time, different
   products: ``POST /api/v1/cart/items`` → ``POST /api/v1/checkouts`` (address,
   ``Idempotency-Key``) → ``POST /api/v1/checkouts/{id}/pay`` with card 4242 4242 4242 4242
   (``Idempotency-Key``); warm-up, then a measured window; a flow whose answers are not
   201 / 201 / 200 ``paid`` is an error;
4. checks the database afterwards: paid orders == successful flows, sandbox charges == paid
   orders, allocated units == paid orders, ledger trial balance 0 in every currency;
5. before the app, the reference (unless ``--no-reference``): steps 1–4 with the bare writer
   ``benchmarks/bare_checkout_app.py`` (the same rows in the same transactions with the plain
   driver) on a second fresh database prepared the same way, same uvicorn settings, processes
   and load; ``ratio_to_limit = orders_per_s / reference_orders_per_s``;
6. prints progress on stderr and one JSON line on stdout; stops every process it started and
   deletes the temporary folder (and the PostgreSQL cluster), whatever happens.
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
    print(f"[checkout] {message}", file=sys.stderr, flush=True)


# --- the load generator (runs in child processes) -------------------------------------------


@dataclass
class FlowPlan:
    ports: list[int]  # one per connection (round-robin over the app processes)
    buyers: list[tuple[int, str, int]]  # (buyer number, bearer token, variant id), in order
    start_at: float  # time.monotonic() values (CLOCK_MONOTONIC: shared by every process)
    end_at: float  # no flow starts after this; flows under way finish
    mode: str  # "cart" or "buy_now"
    run_id: str
    timeout: float


# One flow: (started, finished, ok, cart s, checkout s, pay s, error kind)
Flow = tuple[float, float, bool, float, float, float, str]


def _error_code(body: bytes) -> str:
    import orjson

    try:
        return str(orjson.loads(body)["error"]["code"])
    except Exception:
        return "?"


async def flow_client(plan: FlowPlan) -> list[Flow]:
    import orjson

    monotonic = time.monotonic
    queue = deque(plan.buyers)
    flows: list[Flow] = []
    clients = [h.HttpClient(port, plan.timeout) for port in plan.ports]
    for client in clients:
        await client.connect()

    async def one_flow(client: h.HttpClient, number: int, token: str, variant_id: int) -> Flow:
        auth = {"Authorization": f"Bearer {token}"}
        port = client.port
        t0 = monotonic()
        steps = [0.0, 0.0, 0.0]

        def failed(step: str, status: int, body: bytes) -> Flow:
            kind = f"{step} {status} {_error_code(body)}" if status else f"{step} broken"
            return (t0, monotonic(), False, *steps, kind)  # type: ignore[return-value]

        try:
            if plan.mode == "cart":
                status, body = await client.call(h.build_request(
                    "POST", "/api/v1/cart/items", port, {"variant_id": variant_id, "quantity": 1}, auth))
                steps[0] = monotonic() - t0
                if status != 201:
                    return failed("cart", status, body)
                wanted: dict[str, Any] = {"address": h.ADDRESS}
            else:
                wanted = {"items": [{"variant_id": variant_id, "quantity": 1}], "address": h.ADDRESS}
            t1 = monotonic()
            status, body = await client.call(h.build_request(
                "POST", "/api/v1/checkouts", port, wanted,
                {**auth, "Idempotency-Key": f"{plan.run_id}-co-{number}"}))
            steps[1] = monotonic() - t1
            if status != 201:
                return failed("checkout", status, body)
            checkout_id = orjson.loads(body)["id"]
            t2 = monotonic()
            status, body = await client.call(h.build_request(
                "POST", f"/api/v1/checkouts/{checkout_id}/pay", port, h.CARD,
                {**auth, "Idempotency-Key": f"{plan.run_id}-pay-{number}"}))
            steps[2] = monotonic() - t2
            if status != 200:
                return failed("pay", status, body)
            if orjson.loads(body).get("status") != "paid":
                return failed("pay-not-paid", status, b"")
        except (OSError, TimeoutError, ValueError, KeyError):
            return failed("checkout" if steps[0] and not steps[1] else "flow", 0, b"")
        return (t0, monotonic(), True, steps[0], steps[1], steps[2], "")

    async def worker(client: h.HttpClient) -> None:
        while queue and monotonic() < plan.end_at:
            number, token, variant_id = queue.popleft()
            flows.append(await one_flow(client, number, token, variant_id))

    await asyncio.sleep(max(0.0, plan.start_at - monotonic()))
    await asyncio.gather(*(worker(c) for c in clients))
    for client in clients:
        client.close()
    return flows


# --- checks in the database -------------------------------------------------------------------


def database_facts(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from mercato.catalog.models import Variant
    from mercato.ledger import service as ledger
    from mercato.orders.models import Checkout, Order
    from mercato.payments.models import SandboxCharge

    async def facts(session: Any) -> dict[str, Any]:
        async def count(stmt: Any) -> int:
            return int((await session.execute(stmt)).scalar_one() or 0)

        return {
            "orders_paid": await count(select(func.count()).select_from(Order).where(Order.status == "paid")),
            "orders_all": await count(select(func.count()).select_from(Order)),
            "checkouts": await count(select(func.count()).select_from(Checkout)),
            "charges": await count(select(func.count()).select_from(SandboxCharge)),
            "allocated": await count(select(func.coalesce(func.sum(Variant.allocated), 0))),
            "reserved": await count(select(func.coalesce(func.sum(Variant.reserved), 0))),
            "trial_balance": await ledger.trial_balance(session),
        }

    result: dict[str, Any] = h.run_db(url, facts)
    return result


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="SQLite file in a temporary folder, or a throw-away PostgreSQL cluster")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections, each closed-loop")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before the window (not measured)")
    parser.add_argument("--workers", type=int, default=None,
                        help="app processes (default: 1 on SQLite, 2 on PostgreSQL)")
    parser.add_argument("--shared-socket", action="store_true",
                        help="one 'uvicorn --workers N' instead of N processes on their own ports (the kernel "
                             "then spreads connections, often all onto one worker)")
    parser.add_argument("--buyers", type=int, default=6000,
                        help="buyers created (one flow each); the run ends early when they are used up")
    parser.add_argument("--shops", type=int, default=8, help="shops")
    parser.add_argument("--products", type=int, default=50, help="one-variant products per shop")
    parser.add_argument("--stock", type=int, default=1_000_000, help="units of each variant")
    parser.add_argument("--mode", choices=("cart", "buy_now"), default="cart",
                        help="cart: add to cart then check the cart out; buy_now: checkout with items (2 requests)")
    parser.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per request")
    parser.add_argument("--no-jobs", action="store_true", help="MERCATO_RUN_JOBS=false (no background jobs)")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the bare writer (benchmarks/bare_checkout_app.py): no reference_orders_per_s, "
                             "no ratio_to_limit")
    parser.add_argument("--app", default="mercato.asgi:app", dest="app_target",
                        help="ASGI target (e.g. benchmarks._profile_app:app to profile the server)")
    args = parser.parse_args(argv)
    if args.workers is None:
        args.workers = 1 if args.backend == "sqlite" else 2
    if min(args.concurrency, args.workers, args.buyers, args.shops, args.products, args.client_procs) < 1:
        parser.error("sizes must be positive")
    if args.duration <= 0 or args.warmup < 0 or args.stock < 1:
        parser.error("duration and stock must be positive")
    return args


def _p(values: list[float], q: float) -> float:
    return h.ms(h.percentile(values, q))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    h.install_signal_handlers()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="mercato-bench-checkout-"))
    servers: list[h.Server] = []
    try:
        log(f"starting a fresh {args.backend} database")
        with h.database_url(args.backend, tmp) as url:
            try:
                return run(args, url, tmp, servers, started)
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


def prepare(url: str, media: Path, args: argparse.Namespace) -> tuple[list[int], list[str]]:
    """Migrate; the shops' variants and the buyers' tokens (the same for the app and the reference)."""
    t = time.monotonic()
    h.migrate(url, media)
    variants = h.create_catalog(url, args.shops, args.products, args.stock)
    tokens = h.create_buyers(url, args.buyers, "buyer")
    log(f"migrated; {args.shops} shops × {args.products} products, {args.buyers} buyers in "
        f"{time.monotonic() - t:.1f} s")
    return variants, tokens


def run_flows(args: argparse.Namespace, servers: list[h.Server], variants: list[int], tokens: list[str],
              label: str) -> dict[str, Any]:
    """The load generator against ``servers`` (warm-up, then the measured window); the phase's figures."""
    ports = [server.port for server in servers]
    procs = max(1, min(args.client_procs, args.concurrency))
    # Buyer n buys product n mod P·S: C flows under way at once touch C different products.
    buyers = [(n, token, variants[n % len(variants)]) for n, token in enumerate(tokens)]
    run_id = uuid.uuid4().hex[:8]
    start_at = time.monotonic() + 1.0 + 0.002 * args.concurrency
    measure_at = start_at + args.warmup
    end_at = measure_at + args.duration
    plans = []
    first = 0
    for part, n in zip(h.split(buyers, procs), h.shares(args.concurrency, procs), strict=True):
        plans.append(FlowPlan(h.connection_ports(ports, first, n), part, start_at, end_at, args.mode, run_id,
                              args.timeout))
        first += n
    cpu: dict[str, float] = {}
    load_before = h.loadavg()
    log(f"{label}: {args.concurrency} connections × whole flows ({args.mode}), {args.warmup:g} s warm-up + "
        f"{args.duration:g} s measured (load average {load_before})")
    results = h.run_client_processes(
        flow_client, plans, timeout=end_at - time.monotonic() + 3 * args.timeout + 30,
        marks=[(measure_at, lambda: cpu.__setitem__("a", h.servers_cpu_seconds(servers))),
               (end_at, lambda: cpu.__setitem__("b", h.servers_cpu_seconds(servers)))])
    h.check_alive(servers)

    flows: list[Flow] = []
    client_cpu = 0.0
    problems: list[str] = []
    for (status, payload), cpu_s in results:
        client_cpu += cpu_s
        if status == "ok":
            flows.extend(payload)
        else:
            problems.append(f"client: {payload}")
    ok = [f for f in flows if f[2]]
    failed = [f for f in flows if not f[2]]
    last_end = max((f[1] for f in flows), default=end_at)
    window_end = min(end_at, last_end)  # the buyers may run out before the end of the window
    measured = [f for f in ok if measure_at <= f[1] <= window_end]
    window = max(1e-9, window_end - measure_at)
    latencies = sorted(f[1] - f[0] for f in measured)
    steps = [sorted(f[3 + k] for f in measured) for k in range(3)]
    server_cpu = cpu.get("b", 0.0) - cpu.get("a", 0.0)
    if len(ok) + len(failed) >= len(buyers):
        log(f"warning ({label}): every buyer was used; raise --buyers for a full window")
    phase = {
        "orders_per_s": round(len(measured) / window, 1), "p50_ms": _p(latencies, 0.50),
        "p90_ms": _p(latencies, 0.90), "p99_ms": _p(latencies, 0.99),
        "max_ms": h.ms(latencies[-1]) if latencies else 0.0,
        "errors": len(failed) + len(problems), "orders_measured": len(measured), "duration_s": round(window, 2),
        "cart_p50_ms": _p(steps[0], 0.50), "cart_p99_ms": _p(steps[0], 0.99),
        "checkout_p50_ms": _p(steps[1], 0.50), "checkout_p99_ms": _p(steps[1], 0.99),
        "pay_p50_ms": _p(steps[2], 0.50), "pay_p99_ms": _p(steps[2], 0.99),
        "flows_ok": len(ok), "flows_failed": len(failed),
        "error_kinds": dict(Counter(f[6] for f in failed).most_common(5)),
        "server_cpu_pct": round(100 * server_cpu / args.duration, 1),
        "server_cpu_ms_per_order": round(1000 * server_cpu / len(measured), 2) if measured else 0.0,
        "client_cpu_pct": round(100 * client_cpu / (time.monotonic() - start_at), 1),
        "client_procs": procs, "loadavg_before": load_before, "problems": problems,
    }
    log(f"  {label}: {phase['orders_per_s']} paid orders/s  flow p50 {phase['p50_ms']} ms  p99 {phase['p99_ms']} ms  "
        f"(cart {phase['cart_p50_ms']} / checkout {phase['checkout_p50_ms']} / pay {phase['pay_p50_ms']} ms p50)  "
        f"errors {phase['errors']}  server CPU {phase['server_cpu_ms_per_order']} ms/order")
    return phase


def verify(url: str, phase: dict[str, Any], label: str) -> dict[str, Any]:
    """The database after a phase (its servers stopped): every successful flow left one paid order,
    one charge and one allocated unit, and the ledger balances. Problems go to ``phase``."""
    facts = database_facts(url)
    problems: list[str] = phase["problems"]
    if facts["orders_paid"] != phase["flows_ok"]:
        problems.append(f"{facts['orders_paid']} paid orders in the database, {phase['flows_ok']} successful flows")
    if facts["charges"] != facts["orders_paid"]:
        problems.append(f"{facts['charges']} sandbox charges for {facts['orders_paid']} paid orders")
    if facts["allocated"] != facts["orders_paid"]:
        problems.append(f"{facts['allocated']} allocated units for {facts['orders_paid']} paid orders")
    if any(facts["trial_balance"].values()):
        problems.append(f"ledger trial balance not zero: {facts['trial_balance']}")
    for problem in problems:
        log(f"PROBLEM ({label}): {problem}")
    return facts


def run(args: argparse.Namespace, url: str, tmp: Path, servers: list[h.Server], started: float) -> int:
    media = tmp / "media"
    variants, tokens = prepare(url, media, args)
    balancing = f"{args.workers} process(es){', shared socket' if args.shared_socket else ''}, uvloop, httptools"

    ref: dict[str, Any] | None = None
    if not args.no_reference:
        ref_url = h.another_database(url, tmp, "reference")
        log("a second fresh database for the reference, prepared the same way")
        ref_variants, ref_tokens = prepare(ref_url, tmp / "reference-media", args)
        log(f"reference: starting benchmarks.bare_checkout_app ({balancing})")
        bares = h.start_app("bare", "benchmarks.bare_checkout_app:app", args.workers,
                            h.server_env(ref_url, tmp / "reference-media"), tmp, servers, args.shared_socket)
        for bare in bares:
            h.wait_ready(bare, "/healthz")
        ref = run_flows(args, bares, ref_variants, ref_tokens, "reference")
        for bare in bares:
            h.stop_server(bare)
        ref_facts = verify(ref_url, ref, "reference")
        ref["orders"] = ref_facts["orders_paid"]
        ref["verified"] = not ref["problems"]

    extra = {"MERCATO_RUN_JOBS": "false"} if args.no_jobs else {}
    env = h.server_env(url, media, **extra)
    log(f"starting {args.app_target} ({balancing})")
    apps = h.start_app("app", args.app_target, args.workers, env, tmp, servers, args.shared_socket)
    for app in apps:
        h.wait_ready(app, "/healthz")
    phase = run_flows(args, apps, variants, tokens, "app")
    log("stopping the app; checking the database")
    for app in apps:
        h.stop_server(app)
    facts = verify(url, phase, "app")
    problems = phase.pop("problems")

    rate = phase["orders_per_s"]
    line: dict[str, Any] = {
        "bench": "checkout", "backend": args.backend, "orders": facts["orders_paid"],
        "orders_per_s": rate, "p50_ms": phase["p50_ms"], "p99_ms": phase["p99_ms"],
        "reference_orders_per_s": ref["orders_per_s"] if ref else None,
        "ratio_to_limit": (round(rate / ref["orders_per_s"], 3) if ref["orders_per_s"] else 0.0) if ref else None,
        "reference_p50_ms": ref["p50_ms"] if ref else None, "reference_p99_ms": ref["p99_ms"] if ref else None,
        "errors": phase["errors"],
        "workers": args.workers, "concurrency": args.concurrency, "mode": args.mode,
        "balancing": "one process" if args.workers == 1 else "uvicorn --workers (shared socket)"
        if args.shared_socket else "round-robin connections over processes",
        **{k: v for k, v in phase.items() if k not in ("orders_per_s", "p50_ms", "p99_ms", "errors")},
        "warmup_s": args.warmup, "verified": not problems, "trial_balance": facts["trial_balance"],
        "shops": args.shops, "products": args.shops * args.products, "jobs": not args.no_jobs, "app": args.app_target,
    }
    if ref:
        ref_cpu, cpu = ref["server_cpu_ms_per_order"], phase["server_cpu_ms_per_order"]
        line.update({
            "reference_errors": ref["errors"], "reference_verified": ref["verified"],
            "reference_orders": ref["orders"], "reference_p90_ms": ref["p90_ms"],
            "reference_cart_p50_ms": ref["cart_p50_ms"], "reference_checkout_p50_ms": ref["checkout_p50_ms"],
            "reference_pay_p50_ms": ref["pay_p50_ms"], "reference_server_cpu_ms_per_order": ref_cpu,
            "reference_server_cpu_pct": ref["server_cpu_pct"], "reference_loadavg_before": ref["loadavg_before"],
            "cpu_ratio_to_limit": round(ref_cpu / cpu, 3) if cpu else 0.0,
        })
    log(f"{rate} paid orders/s  flow p50 {line['p50_ms']} ms  p99 {line['p99_ms']} ms  errors {line['errors']}  "
        + (f"reference {ref['orders_per_s']} orders/s (p50 {ref['p50_ms']} ms, p99 {ref['p99_ms']} ms)  "
           f"ratio to the bare writer {line['ratio_to_limit']}  " if ref else "")
        + f"done in {time.monotonic() - started:.0f} s")
    print(json.dumps(line), flush=True)
    ref_bad = bool(ref and (ref["problems"] or ref["errors"]))
    return 1 if problems or phase["flows_failed"] or ref_bad else 0


if __name__ == "__main__":
    sys.exit(main())
