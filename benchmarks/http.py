"""HTTP benchmark: product JSON and the Shop Tab listing against a bare Starlette endpoint.

    python benchmarks/http.py [--duration S] [--concurrency C] [--workers N] [--database-url URL]

What it does (see benchmarks/README.md and PERFORMANCE.md, bench ``http``):

1. migrates and seeds the demo world into a fresh SQLite file in a temporary folder (or
   into ``--database-url``, seeded only when empty);
2. serves the real app (``uvicorn mercato.asgi:app``) and the bare reference
   (``benchmarks/bare_app.py``) as separate uvicorn processes with the same settings
   (uvloop, httptools, log level warning, no access log, N workers) on free loopback ports;
3. drives each endpoint in turn from separate client processes: C keep-alive connections,
   each sending its next request as soon as the previous answer is complete (closed loop),
   a warm-up then a measured window; every latency is recorded and non-2xx answers and
   broken connections count as errors;
4. prints progress on stderr and one JSON line per endpoint on stdout, the Shop Tab
   listing last;
5. stops every process it started and deletes the temporary folder, whatever happens.

The default client is a callback-level asyncio protocol on uvloop with httptools' response
parser (no coroutine per request), so that on 2 cores it takes as little CPU from the
server as possible; ``--client httpx`` runs the same load with ``httpx.AsyncClient`` to
show what a heavier client costs. Client and server CPU use are reported per endpoint.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is named http.py: run as a script, its folder comes first on sys.path and would
# shadow the standard library's ``http`` package for every later import. Drop that entry.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from array import array  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Order of the runs; the reference first, the Shop Tab listing last (its line ends the output).
ENDPOINTS = ("bare_hello", "app_healthz", "product_json", "listing_price_asc_pages", "search_serum",
             "signed_in_product_json", "signed_in_shop_tab_json", "signed_in_search", "signed_in_product_page",
             "signed_in_shop_tab_page", "signed_in_cart_page", "signed_in_seller_products_page",
             "shop_tab_listing")
#: The signed-in endpoints (PERFORMANCE.md goals: JSON ≥ 0.2 of the bare rate, HTML pages ≥ 0.1).
SIGNED_IN_JSON = ("signed_in_product_json", "signed_in_shop_tab_json", "signed_in_search")
SIGNED_IN_HTML = ("signed_in_product_page", "signed_in_shop_tab_page", "signed_in_cart_page",
                  "signed_in_seller_products_page")
DEMO_SHOPPER, DEMO_SELLER = "shopper1@demo.example.com", "seller1@demo.example.com"
CSRF_COOKIE_VALUE = "bench-csrf-token-0123456789abcdefghijklmnop"  # a browser's: no fresh cookie per page


def log(message: str) -> None:
    print(f"[http] {message}", file=sys.stderr, flush=True)


# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def start_server(name: str, target: str, workers: int, env: dict[str, str], logdir: Path) -> Server:
    port = free_port()
    log_path = logdir / f"{name}.log"
    cmd = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(ROOT), "--host", HOST, "--port", str(port),
           "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log",
           "--workers", str(workers)]
    with open(log_path, "wb") as out:
        # A session of its own: the whole group (supervisor and workers) is stopped at the end.
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Server(name, proc, port, log_path)


def wait_ready(server: Server, path: str, timeout: float = 90.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://{HOST}:{server.port}{path}", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready after {timeout:.0f} s:\n{server.tail()}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)
    # Workers of a multi-process uvicorn share the group: make sure none is left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.proc.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as fh:
                kids.extend(int(k) for k in fh.read().split())
    return kids


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (the uvicorn supervisor and workers)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        with contextlib.suppress(OSError, IndexError, ValueError), open(f"/proc/{p}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        todo.extend(_children(p))
    return total / CLK_TCK


# --- database -------------------------------------------------------------------------------


def prepare_database(url: str, media_dir: Path, fresh: bool) -> None:
    """Migrate and seed the demo world (only when empty for a database given on the command line)."""
    os.environ["DATABASE_URL"] = url
    os.environ["MERCATO_MEDIA_DIR"] = str(media_dir)
    from rich.console import Console

    from mercato.config import Settings
    from mercato.demo import seed, seed_if_empty
    from mercato.kit.migrate import upgrade

    settings = Settings()
    assert settings.database_url == url, "DATABASE_URL was not picked up"
    console = Console(stderr=True)
    started = time.monotonic()
    upgrade(url)
    if fresh:
        asyncio.run(seed(settings, console))
    else:
        asyncio.run(seed_if_empty(settings, console))
    log(f"database ready in {time.monotonic() - started:.1f} s")


# --- workload -------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    paths: list[str]
    label: str  # the path pattern, for people
    headers: dict[str, str] = field(default_factory=dict)  # a signed-in reader's session


def _sign_in(client: Any, email: str) -> str:
    """A session token of a demo account (its password is the demo world's)."""
    from mercato.config import Settings

    resp = client.post("/api/v1/auth/login", json={"email": email, "password": Settings().demo_password})
    resp.raise_for_status()
    return str(resp.json()["token"])


def discover(port: int) -> dict[str, Workload]:
    """Real product ids and cursor pages, read from the running app (every path checked for 200)."""
    import httpx

    base = f"http://{HOST}:{port}"
    with httpx.Client(base_url=base, timeout=30) as client:

        def pages(first: str, limit: int) -> list[str]:
            out: list[str] = []
            path = first
            while path and len(out) < limit:
                resp = client.get(path)
                resp.raise_for_status()
                out.append(path)
                nxt = resp.json()["next_cursor"]
                path = f"{first}&cursor={nxt}" if nxt else ""
            return out

        ids: list[int] = []
        cursor = None
        while True:
            resp = client.get("/api/v1/products", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            resp.raise_for_status()
            body = resp.json()
            ids.extend(item["id"] for item in body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                break
        if not ids:
            raise RuntimeError("the catalog is empty: nothing to benchmark")
        product_paths = [f"/api/v1/products/{i}" for i in ids]
        for path in product_paths[:5]:
            client.get(path).raise_for_status()
        price_pages = pages("/api/v1/products?limit=24&sort=price_asc", 50)
        search = client.get("/api/v1/products?q=serum")
        search.raise_for_status()
        if not search.json()["items"]:
            log("warning: the search for 'serum' finds nothing")
        client.get("/api/v1/products?limit=24").raise_for_status()
        # Signed in: a shopper (bearer for JSON, session cookie for pages, as a browser sends them)
        # with a favourite and a cart line, and a seller on their Seller Center products page.
        shopper, seller = _sign_in(client, DEMO_SHOPPER), _sign_in(client, DEMO_SELLER)
        bearer = {"Authorization": f"Bearer {shopper}"}
        cookie = {"Cookie": f"mercato_session={shopper}; mercato_csrf={CSRF_COOKIE_VALUE}"}
        seller_cookie = {"Cookie": f"mercato_session={seller}; mercato_csrf={CSRF_COOKIE_VALUE}"}
        client.put(f"/api/v1/products/{ids[0]}/favourite", headers=bearer).raise_for_status()
        first = client.get(f"/api/v1/products/{ids[0]}", headers=bearer)
        first.raise_for_status()
        cart = client.get("/api/v1/cart", headers=bearer)
        cart.raise_for_status()
        if not cart.json()["item_count"]:  # a database given with --database-url may have it already
            client.post("/api/v1/cart/items", headers=bearer,
                        json={"variant_id": first.json()["variants"][0]["id"], "quantity": 1}).raise_for_status()
        shops = client.get("/api/v1/me/shops", headers={"Authorization": f"Bearer {seller}"})
        shops.raise_for_status()
        seller_page = f"/seller/{shops.json()[0]['slug']}"
        page_paths = [f"/products/{i}" for i in ids]
        for path, headers in ((page_paths[0], cookie), ("/shop", cookie), ("/cart", cookie),
                              (seller_page, seller_cookie)):
            resp = client.get(path, headers=headers)
            resp.raise_for_status()
            if "set-cookie" in resp.headers:
                raise RuntimeError(f"{path} sets a cookie for a signed-in browser: {resp.headers['set-cookie']}")
    log(f"{len(ids)} active products, {len(price_pages)} price_asc pages")
    return {
        "bare_hello": Workload("bare_hello", ["/"], "GET / (bare Starlette)"),
        # The app's floor: routing, middleware and a JSON answer without the database.
        "app_healthz": Workload("app_healthz", ["/healthz"], "GET /healthz (app, no database)"),
        "product_json": Workload("product_json", product_paths, "GET /api/v1/products/{id}"),
        "listing_price_asc_pages": Workload("listing_price_asc_pages", price_pages,
                                            "GET /api/v1/products?limit=24&sort=price_asc[&cursor=…]"),
        "search_serum": Workload("search_serum", ["/api/v1/products?q=serum"], "GET /api/v1/products?q=serum"),
        "shop_tab_listing": Workload("shop_tab_listing", ["/api/v1/products?limit=24"],
                                     "GET /api/v1/products?limit=24"),
        "signed_in_product_json": Workload("signed_in_product_json", product_paths,
                                           "GET /api/v1/products/{id} (signed in, bearer)", bearer),
        "signed_in_shop_tab_json": Workload("signed_in_shop_tab_json", ["/api/v1/products?limit=24"],
                                            "GET /api/v1/products?limit=24 (signed in, bearer)", bearer),
        "signed_in_search": Workload("signed_in_search", ["/api/v1/products?q=serum"],
                                     "GET /api/v1/products?q=serum (signed in, bearer)", bearer),
        "signed_in_product_page": Workload("signed_in_product_page", page_paths,
                                           "GET /products/{id} (HTML, signed in, cookie)", cookie),
        "signed_in_shop_tab_page": Workload("signed_in_shop_tab_page", ["/shop"],
                                            "GET /shop (HTML, signed in, cookie)", cookie),
        "signed_in_cart_page": Workload("signed_in_cart_page", ["/cart"], "GET /cart (HTML, signed in, cookie)",
                                        cookie),
        "signed_in_seller_products_page": Workload("signed_in_seller_products_page", [seller_page],
                                                   "GET /seller/{slug} (HTML, Seller Center products, cookie)",
                                                   seller_cookie),
    }


# --- the load generator (runs in child processes) -------------------------------------------


@dataclass
class Plan:
    port: int
    paths: list[str]
    connections: int
    offset: int  # index of this process's first connection, spreads the path rotation
    stride: int  # total connections of all processes
    start_at: float  # time.monotonic() values (CLOCK_MONOTONIC: shared by every process)
    measure_at: float
    end_at: float
    client: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ClientResult:
    latencies: bytes = b""  # array('d') of seconds, of the answers completed inside the measured window
    statuses: dict[int, int] = field(default_factory=dict)
    broken: int = 0  # connections lost or never answered
    cpu_s: float = 0.0  # CPU of this process during the measured window
    error: str = ""


def _request_bytes(port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: mercato-bench\r\n"
            f"Accept: application/json\r\n{extra}\r\n").encode()


async def _raw_client(plan: Plan, out: ClientResult, lat: array[float]) -> None:
    import httptools

    loop = asyncio.get_running_loop()
    requests = [_request_bytes(plan.port, p, plan.headers) for p in plan.paths]
    count = len(requests)
    monotonic = time.monotonic
    measure_at, end_at = plan.measure_at, plan.end_at
    statuses = out.statuses

    class Conn(asyncio.Protocol):
        def __init__(self, index: int) -> None:
            self.i = index
            self.t0 = 0.0
            self.parser = httptools.HttpResponseParser(self)
            self.transport: asyncio.Transport | None = None
            self.done: asyncio.Future[None] = loop.create_future()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]

        def send(self) -> None:
            self.i += plan.stride
            self.t0 = monotonic()
            assert self.transport is not None
            self.transport.write(requests[self.i % count])

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.finish(broken=True)

        def on_message_complete(self) -> None:
            now = monotonic()
            if measure_at <= now <= end_at:  # answers completed inside the window: an unbiased rate
                lat.append(now - self.t0)
                code = self.parser.get_status_code()
                statuses[code] = statuses.get(code, 0) + 1
            if now >= end_at:
                self.finish()
            else:
                self.send()

        def connection_lost(self, exc: Exception | None) -> None:
            self.finish(broken=True)

        def finish(self, broken: bool = False) -> None:
            if not self.done.done():
                if broken:
                    out.broken += 1
                self.done.set_result(None)
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

    conns: list[Conn] = []
    for k in range(plan.connections):
        conn = Conn(plan.offset + k - plan.stride)
        await loop.create_connection(lambda c=conn: c, HOST, plan.port)  # type: ignore[misc]
        conns.append(conn)
    await asyncio.sleep(max(0.0, plan.start_at - monotonic()))
    for conn in conns:
        conn.send()
    await asyncio.wait([c.done for c in conns], timeout=max(1.0, end_at - monotonic() + 10))
    for conn in conns:
        if not conn.done.done():
            conn.finish(broken=True)  # never answered: counted as an error


async def _httpx_client(plan: Plan, out: ClientResult, lat: array[float]) -> None:
    import httpx

    limits = httpx.Limits(max_connections=plan.connections, max_keepalive_connections=plan.connections)
    count = len(plan.paths)
    monotonic = time.monotonic
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{plan.port}", limits=limits, timeout=10) as client:

        async def worker(index: int) -> None:
            i = index
            while True:
                t0 = monotonic()
                if t0 >= plan.end_at:
                    return
                try:
                    resp = await client.get(plan.paths[i % count],
                                            headers={"accept": "application/json", **plan.headers})
                except httpx.HTTPError:
                    out.broken += 1
                    return
                t1 = monotonic()
                if plan.measure_at <= t1 <= plan.end_at:
                    lat.append(t1 - t0)
                    out.statuses[resp.status_code] = out.statuses.get(resp.status_code, 0) + 1
                i += plan.stride

        await asyncio.sleep(max(0.0, plan.start_at - monotonic()))
        await asyncio.gather(*(worker(plan.offset + k) for k in range(plan.connections)))


def client_process(plan: Plan, conn: Any) -> None:
    """Entry point of a load-generator process: run the plan, send a ClientResult back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler (inherited through fork)
    out = ClientResult()
    lat: array[float] = array("d")
    cpu: dict[str, float] = {}
    try:
        import uvloop

        async def run() -> None:
            loop = asyncio.get_running_loop()
            loop.call_later(max(0.0, plan.measure_at - time.monotonic()),
                            lambda: cpu.__setitem__("a", time.process_time()))
            loop.call_later(max(0.0, plan.end_at - time.monotonic()),
                            lambda: cpu.__setitem__("b", time.process_time()))
            if plan.client == "httpx":
                await _httpx_client(plan, out, lat)
            else:
                await _raw_client(plan, out, lat)

        uvloop.run(run())
    except Exception as exc:  # reported by the parent
        out.error = f"{type(exc).__name__}: {exc}"
    out.latencies = lat.tobytes()
    out.cpu_s = cpu.get("b", time.process_time()) - cpu.get("a", 0.0)
    conn.send(out)
    conn.close()


# --- one measurement ------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0  # nothing answered: the errors count says so
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def measure(server: Server, work: Workload, args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    procs = max(1, min(args.client_procs, args.concurrency))
    share = [args.concurrency // procs + (1 if k < args.concurrency % procs else 0) for k in range(procs)]
    now = time.monotonic()
    start_at = now + 0.5 + 0.002 * args.concurrency
    measure_at = start_at + args.warmup
    end_at = measure_at + args.duration
    children: list[tuple[Any, Any]] = []
    results: list[ClientResult] = []
    try:
        offset = 0
        for n in share:
            plan = Plan(server.port, work.paths, n, offset, args.concurrency, start_at, measure_at, end_at, args.client,
                        work.headers)
            offset += n
            parent_end, child_end = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=client_process, args=(plan, child_end), daemon=True)
            proc.start()
            child_end.close()
            children.append((proc, parent_end))
        time.sleep(max(0.0, measure_at - time.monotonic()))
        server_cpu_a = tree_cpu_seconds(server.proc.pid)
        time.sleep(max(0.0, end_at - time.monotonic()))
        server_cpu_b = tree_cpu_seconds(server.proc.pid)
        for proc, pipe in children:
            if pipe.poll(max(0.1, end_at + 20 - time.monotonic())):
                results.append(pipe.recv())
            else:
                results.append(ClientResult(broken=1, error="client process did not report in time"))
            proc.join(timeout=5)
    finally:
        for proc, _ in children:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    broken = 0
    client_cpu = 0.0
    for res in results:
        if res.error:
            log(f"client error: {res.error}")
            broken += 1
        lat: array[float] = array("d")
        lat.frombytes(res.latencies)
        latencies.extend(lat)
        for code, n in res.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
        broken += res.broken
        client_cpu += res.cpu_s
    latencies.sort()
    count = len(latencies)
    errors = broken + sum(n for code, n in statuses.items() if not 200 <= code < 300)
    ms = 1000.0
    return {
        "rps": round(count / args.duration, 1),
        "p50_ms": round(percentile(latencies, 0.50) * ms, 2),
        "p90_ms": round(percentile(latencies, 0.90) * ms, 2),
        "p99_ms": round(percentile(latencies, 0.99) * ms, 2),
        "max_ms": round(latencies[-1] * ms, 2) if latencies else 0.0,
        "errors": errors,
        "requests": count,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "client_cpu_pct": round(100 * client_cpu / args.duration, 1),
        "server_cpu_pct": round(100 * (server_cpu_b - server_cpu_a) / args.duration, 1),
        # CPU the server spent per answer: steadier than the rate on a machine shared with other work.
        "server_cpu_ms_per_req": round(1000 * (server_cpu_b - server_cpu_a) / count, 3) if count else 0.0,
    }


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per endpoint (not measured)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections, each closed-loop")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (app and reference)")
    parser.add_argument("--database-url", default=None,
                        help="use this database (migrated; seeded only if empty) instead of a fresh SQLite file")
    parser.add_argument("--app", default="mercato.asgi:app", dest="app_target",
                        help="ASGI target of the app under test (to compare a variant with the same load)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="load generator implementation")
    parser.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS),
                        help=f"comma-separated subset of {', '.join(ENDPOINTS)} (the reference always runs)")
    args = parser.parse_args(argv)
    wanted = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    unknown = sorted(set(wanted) - set(ENDPOINTS))
    if unknown:
        parser.error(f"unknown endpoints: {', '.join(unknown)}")
    args.endpoint_list = [e for e in ENDPOINTS if e in wanted or e == "bare_hello"]
    if args.duration <= 0 or args.warmup < 0 or args.concurrency < 1 or args.workers < 1 or args.client_procs < 1:
        parser.error("durations, concurrency, workers and client processes must be positive")
    return args


def _loadavg() -> float:
    """1-minute load average before a run: a busy machine explains a bad figure."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])
    return -1.0


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: servers are stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)  # also when started in the background (SIGINT ignored there)
    tmp = Path(tempfile.mkdtemp(prefix="mercato-bench-http-"))
    servers: list[Server] = []
    started = time.monotonic()
    try:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        backend = "sqlite" if url.startswith("sqlite") else "postgresql"
        media = tmp / "media"
        log(f"preparing the {backend} database (migrate + demo world)")
        prepare_database(url, media, fresh=args.database_url is None)
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MERCATO_REDIS_URL")}
        env.update({"DATABASE_URL": url, "MERCATO_MEDIA_DIR": str(media), "PYTHONDONTWRITEBYTECODE": "1"})
        log(f"starting uvicorn (workers={args.workers}, uvloop, httptools): app and bare reference")
        app = start_server("app", args.app_target, args.workers, env, tmp)
        servers.append(app)
        bare = start_server("bare", "benchmarks.bare_app:app", args.workers, env, tmp)
        servers.append(bare)
        wait_ready(app, "/healthz")
        wait_ready(bare, "/healthz")
        workloads = discover(app.port)
        lines: list[dict[str, Any]] = []
        reference_rps = reference_cpu = 0.0
        for name in args.endpoint_list:
            work = workloads[name]
            server = bare if name == "bare_hello" else app
            log(f"{name}: {work.label} — {args.warmup:g} s warm-up + {args.duration:g} s at "
                f"concurrency {args.concurrency} ({args.client} client, {args.client_procs} process(es))")
            load_before = _loadavg()
            result = measure(server, work, args)
            if name == "bare_hello":
                reference_rps = result["rps"]
                reference_cpu = result["server_cpu_ms_per_req"]
            cpu_ratio = reference_cpu / result["server_cpu_ms_per_req"] if result["server_cpu_ms_per_req"] else 0.0
            line = {
                "bench": "http", "endpoint": name, "rps": result["rps"], "p50_ms": result["p50_ms"],
                "p99_ms": result["p99_ms"], "errors": result["errors"], "reference_rps": reference_rps,
                "ratio_to_limit": round(result["rps"] / reference_rps, 3) if reference_rps else 0.0,
                "backend": backend, "concurrency": args.concurrency, "workers": args.workers,
                "path": work.label, "paths_rotated": len(work.paths), "p90_ms": result["p90_ms"],
                "max_ms": result["max_ms"], "requests": result["requests"], "statuses": result["statuses"],
                "duration_s": args.duration, "client": args.client, "client_procs": args.client_procs,
                "client_cpu_pct": result["client_cpu_pct"], "server_cpu_pct": result["server_cpu_pct"],
                "server_cpu_ms_per_req": result["server_cpu_ms_per_req"],
                # The rate ratio if app and reference had had the same CPU: robust to a busy machine.
                "cpu_ratio_to_limit": round(cpu_ratio, 3), "loadavg_before": load_before,
                "goal_ratio": 0.2 if name in SIGNED_IN_JSON else 0.1 if name in SIGNED_IN_HTML else 0.5,
            }
            lines.append(line)
            log(f"  {result['rps']:>9.1f} req/s  p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  "
                f"errors {result['errors']}  ratio {line['ratio_to_limit']:.3f}  "
                f"cpu: server {result['server_cpu_pct']:.0f} % ({result['server_cpu_ms_per_req']:.3f} ms/req), "
                f"client {result['client_cpu_pct']:.0f} %")
            for server_ in servers:
                if server_.proc.poll() is not None:
                    raise RuntimeError(f"{server_.name} died during the run:\n{server_.tail()}")
        log(f"done in {time.monotonic() - started:.0f} s")
        for line in lines:
            print(json.dumps(line), flush=True)
        return 1 if any(line["errors"] for line in lines) else 0
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
        for server in servers:
            stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
