"""Shared pieces of the buying-loop benchmarks (``checkout.py``, ``flash_sale.py``).

- the uvicorn process management of ``benchmarks/http.py`` (start on a free loopback port
  with the same settings, wait until ready, stop the whole process group, CPU of the process
  tree), imported from there rather than copied;
- a throw-away database per run: SQLite in the run's temporary folder, or a PostgreSQL
  cluster from ``tests/harness.postgres_server`` (``fsync=off``), migrated to head;
- fast set-up written straight to the database: buyers with bearer sessions (as in
  ``tests/orders/test_oversell.py``; thousands of sign-ups over HTTP would only measure
  argon2) and shops with products through the catalog's own services;
- a raw HTTP/1.1 client for request → answer exchanges (POST bodies, headers, the answer's
  body): an asyncio protocol with httptools' parser on uvloop, like the ``http`` benchmark's
  client but awaitable per request, because a buying flow needs the previous answer;
- load-generator processes (fork) that send their result back through a pipe, with every
  wait bounded and every child stopped afterwards.

Import it from a script in this folder after putting the repository root on ``sys.path``
and taking this folder off it (see the top of ``checkout.py``): a file here is named
``http.py`` and would otherwise shadow the standard library's ``http``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.http import (  # the process management of the http benchmark, reused as is
    HOST,
    Server,
    free_port,
    percentile,
    start_server,
    stop_server,
    tree_cpu_seconds,
    wait_ready,
)

__all__ = [
    "ADDRESS", "CARD", "HOST", "ROOT", "HttpClient", "Server", "another_database", "build_request", "check_alive",
    "connection_ports", "create_buyers", "create_catalog", "database_url", "free_port", "install_signal_handlers",
    "loadavg", "migrate", "ms", "percentile", "run_client_processes", "run_db", "server_env", "servers_cpu_seconds",
    "shares", "split", "start_app", "start_server", "stop_server", "tree_cpu_seconds", "wait_ready",
]

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = {"name": "Ada Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "US-CA",
           "postal_code": "94105", "country": "US"}
CARD = {"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "name": "Ada Buyer"}


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def loadavg() -> float:
    """1-minute load average: a busy machine explains a bad figure."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])
    return -1.0


# --- the database ---------------------------------------------------------------------------


@contextlib.contextmanager
def database_url(backend: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty database for this run; a PostgreSQL cluster is stopped and deleted after."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        return
    from tests.harness import postgres_server

    with postgres_server() as url:
        yield url


def another_database(url: str, tmp: Path, name: str) -> str:
    """A second empty database on the same server as ``url`` (for a reference run prepared like the
    app's): a file beside it on SQLite, ``CREATE DATABASE`` in the same cluster on PostgreSQL
    (deleted with the cluster)."""
    if url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp / f'{name}.db'}"
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)

    async def create() -> None:
        conn = await asyncpg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return parsed.set(database=name).render_as_string(hide_password=False)


def migrate(url: str, media_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["MERCATO_MEDIA_DIR"] = str(media_dir)
    from mercato.kit.migrate import upgrade

    upgrade(url)


def run_db(url: str, fn: Callable[[Any], Awaitable[Any]]) -> Any:
    """``fn(session)`` in one unit of work of its own (committed), on a pool-less engine."""
    from mercato.kit.db import Database

    async def go() -> Any:
        db = Database(url, pool=False)
        try:
            async with db.unit_of_work() as session:
                return await fn(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def create_buyers(url: str, count: int, label: str) -> list[str]:
    """``count`` accounts with a bearer session each, written in one transaction; their tokens."""
    from sqlalchemy import insert, select

    from mercato.accounts.models import Session, User
    from mercato.kit.security import hash_password, new_token, token_digest

    tokens = [new_token() for _ in range(count)]
    password = hash_password("not-used-here")

    async def write(session: Any) -> None:
        now = datetime.now(UTC)
        await session.execute(insert(User), [
            {"email": f"{label}{i}@bench.example.com", "password_hash": password, "display_name": f"Buyer {i}",
             "date_of_birth": date(1990, 1, 1), "niche_tags": [], "bio": "", "is_admin": False,
             "is_creator": False, "followers_count": 0, "following_count": 0, "created_at": now, "updated_at": now}
            for i in range(count)])
        ids = list((await session.execute(select(User.id).where(User.email.like(f"{label}%@bench.example.com"))
                                          .order_by(User.id))).scalars())
        assert len(ids) == count, (len(ids), count)
        await session.execute(insert(Session), [
            {"token_digest": token_digest(token), "user_id": uid, "created_at": now,
             "expires_at": now + timedelta(days=1), "user_agent": "mercato-bench"}
            for token, uid in zip(tokens, ids, strict=True)])

    run_db(url, write)
    return tokens


def create_catalog(url: str, shops: int, products: int, stock: int, price: int = 1500,
                   label: str = "bench") -> list[int]:
    """``shops`` shops of ``products`` active one-variant products each, made by the catalog's
    services (so every derived column is what the app itself would write); the variant ids."""
    from sqlalchemy import insert, select

    from mercato.accounts.models import User
    from mercato.catalog import products as product_service
    from mercato.catalog import shops as shop_service
    from mercato.catalog.models import Variant
    from mercato.catalog.schemas import ProductIn, ShopIn, VariantIn
    from mercato.kit.security import hash_password

    password = hash_password("not-used-here")

    async def write(session: Any) -> list[int]:
        now = datetime.now(UTC)
        await session.execute(insert(User), [
            {"email": f"{label}-seller{s}@bench.example.com", "password_hash": password,
             "display_name": f"Seller {s}", "date_of_birth": date(1985, 1, 1), "niche_tags": [], "bio": "",
             "is_admin": False, "is_creator": False, "followers_count": 0, "following_count": 0,
             "created_at": now, "updated_at": now} for s in range(shops)])
        owners = list((await session.execute(
            select(User).where(User.email.like(f"{label}-seller%@bench.example.com")).order_by(User.id))).scalars())
        variant_ids: list[int] = []
        for s, owner in enumerate(owners):
            shop = await shop_service.create_shop(session, owner, ShopIn(
                name=f"Bench Shop {s}", slug=f"{label}-shop-{s}", currency="USD"))
            for p in range(products):
                product = await product_service.create_product(session, shop, ProductIn(
                    title=f"Bench Item {s}-{p}", status="active",
                    variants=[VariantIn(sku=f"{label.upper()}-{s}-{p}", price=price, stock=stock)]))
                vid = (await session.execute(select(Variant.id).where(Variant.product_id == product.id)
                                             .order_by(Variant.id).limit(1))).scalar_one()
                variant_ids.append(int(vid))
        return variant_ids

    result: list[int] = run_db(url, write)
    return result


def server_env(url: str, media_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of the app processes: this database, no Redis, nothing else inherited
    that would change the app's behaviour."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "MERCATO_REDIS_URL", "MERCATO_FAULT_POINT")}
    env.update({"DATABASE_URL": url, "MERCATO_MEDIA_DIR": str(media_dir), "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


def start_app(name: str, target: str, processes: int, env: dict[str, str], logdir: Path, into: list[Server],
              shared_socket: bool = False) -> list[Server]:
    """``processes`` app processes with the settings of the ``http`` benchmark; their servers
    (also appended to ``into`` as they start, for the caller's cleanup).

    By default each process is a one-worker uvicorn on a port of its own and the clients
    spread their connections over the ports round-robin, as a load balancer would. With
    ``shared_socket`` it is one ``uvicorn --workers N`` (one listening socket): the kernel then
    hands connections opened at once to whichever worker accepts first, and on this machine
    all 32 of a run's keep-alive connections have landed on one of two workers.
    """
    if shared_socket or processes == 1:
        into.append(start_server(name, target, processes, env, logdir))
        return into[-1:]
    servers = []
    for k in range(processes):
        into.append(start_server(f"{name}{k + 1}", target, 1, env, logdir))
        servers.append(into[-1])
    return servers


def servers_cpu_seconds(servers: list[Server]) -> float:
    return sum(tree_cpu_seconds(s.proc.pid) for s in servers)


def check_alive(servers: list[Server]) -> None:
    for server in servers:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} died during the run:\n{server.tail()}")


def connection_ports(ports: list[int], first: int, count: int) -> list[int]:
    """Ports of connections ``first`` … ``first + count - 1``: round-robin over the processes."""
    return [ports[(first + k) % len(ports)] for k in range(count)]


# --- the raw HTTP client ----------------------------------------------------------------------


def build_request(method: str, path: str, port: int, body: Any = None, headers: dict[str, str] | None = None) -> bytes:
    """One HTTP/1.1 request (keep-alive) with a JSON body."""
    import orjson

    payload = b"" if body is None else orjson.dumps(body)
    head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "User-Agent: mercato-bench",
            "Accept: application/json"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.chunks: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        import httptools

        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(exc)

    def on_message_begin(self) -> None:
        self.chunks = []

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), b"".join(self.chunks)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fail(exc or ConnectionResetError("connection closed by the server"))

    def fail(self, exc: BaseException) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class HttpClient:
    """``await client.call(raw_request)`` → ``(status, body)`` over one keep-alive connection,
    reconnecting after a broken one. A timeout or a broken connection raises."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self.conn: _Connection | None = None
        self.connects = 0

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, HOST, self.port)
        self.conn = conn
        self.connects += 1

    async def call(self, request: bytes) -> tuple[int, bytes]:
        if self.conn is None or self.conn.closed:
            await self.connect()
        conn = self.conn
        assert conn is not None and conn.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        conn.waiter = waiter
        timer = loop.call_later(self.timeout, conn.fail, TimeoutError(f"no answer in {self.timeout:g} s"))
        conn.transport.write(request)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.close()


# --- load-generator processes -----------------------------------------------------------------


def _child_main(target: Callable[[Any], Awaitable[Any]], plan: Any, conn: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler (inherited through fork)
    cpu0 = time.process_time()
    try:
        import uvloop

        outcome: tuple[str, Any] = ("ok", uvloop.run(target(plan)))  # type: ignore[arg-type]
    except BaseException as exc:  # reported by the parent
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    conn.send((outcome, time.process_time() - cpu0))
    conn.close()


def run_client_processes(target: Callable[[Any], Awaitable[Any]], plans: list[Any], timeout: float,
                         marks: list[tuple[float, Callable[[], None]]] | None = None,
                         ) -> list[tuple[tuple[str, Any], float]]:
    """Run ``target(plan)`` on uvloop in one forked process per plan; their results (or
    ``("error", text)``) with the CPU seconds each used. ``marks`` are ``(monotonic time,
    callback)`` pairs called by the parent while it waits (CPU samples of the server)."""
    ctx = mp.get_context("fork")
    children: list[tuple[Any, Any]] = []
    results: list[tuple[tuple[str, Any], float]] = []
    deadline = time.monotonic() + timeout
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        for plan in plans:
            parent_end, child_end = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child_main, args=(target, plan, child_end), daemon=True)
            proc.start()
            child_end.close()
            children.append((proc, parent_end))
        for when, callback in sorted(marks or [], key=lambda m: m[0]):
            time.sleep(max(0.0, min(when, deadline) - time.monotonic()))
            callback()
        for proc, pipe in children:
            if pipe.poll(max(0.1, deadline - time.monotonic())):
                results.append(pipe.recv())
            else:
                results.append((("error", "client process did not report in time"), 0.0))
            proc.join(timeout=5)
    finally:
        for proc, pipe in children:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
            pipe.close()
    return results


def split(items: list[Any], parts: int) -> list[list[Any]]:
    """Round-robin split (item k goes to part k % parts)."""
    return [items[k::parts] for k in range(parts)]


def shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def install_signal_handlers() -> None:
    """SIGTERM / SIGINT unwind through the ``finally`` blocks: servers stopped, folders deleted."""

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
