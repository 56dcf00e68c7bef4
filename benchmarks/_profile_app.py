"""The app with per-request accounting, for finding where a benchmark's server time goes.

Not a benchmark: serve it instead of the app with ``--app benchmarks._profile_app:app``
(``checkout.py`` and ``flash_sale.py`` take that option; use one worker). It wraps
``mercato.asgi:app`` without changing it and, per route (method + path with numbers as
``{n}``), accounts for every request:

- wall time, and process CPU time (``time.process_time``: exact at concurrency 1, shared
  between overlapping requests otherwise);
- SQL statements (count and time from ``before_cursor_execute`` to ``after_cursor_execute``,
  which includes aiosqlite's thread hop), per normalised statement text;
- transactions begun, committed and rolled back;
- on SQLite, the wait for the app's in-process write lock (``Database.write_lock``) and how
  long the request then held it;
- spans: wall and CPU time spent under chosen service functions (``SPANS``: auth,
  idempotency, cart, checkout, pricing, reservation, presenters, payment, ledger, emails,
  commits), which nest.

At the lifespan's shutdown it writes ``$BENCH_PROFILE_DIR/requests-<pid>.json``.
``BENCH_PROFILE_CPROFILE=1`` adds ``app-<pid>.prof`` / ``.txt`` from cProfile, which is exact
about call counts but inflates coroutine-heavy code (each resumption of a task re-enters every
frame of the middleware chain). A stack sampler (a thread reading ``sys._current_frames()``)
does not work here: on Python 3.11 it does not see the code SQLAlchemy runs in its greenlets
and reports the busy event loop as idle.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import cProfile
import functools
import importlib
import io
import json
import os
import pstats
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import Message, Receive, Scope, Send

from mercato.asgi import app as mercato_app

OUT = Path(os.environ.get("BENCH_PROFILE_DIR", ".")).resolve()
_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("bench_request", default=None)
_routes: dict[str, dict[str, Any]] = {}
_NUMBER = re.compile(r"/\d+")
_SPACES = re.compile(r"\s+")
_profiler: cProfile.Profile | None = None
_written = False
if os.environ.get("BENCH_PROFILE_CPROFILE") == "1":
    _profiler = cProfile.Profile()
    _profiler.enable()


def _route(method: str, path: str) -> str:
    return f"{method} {_NUMBER.sub('/{n}', path)}"


def _statement(sql: str) -> str:
    text = _SPACES.sub(" ", sql).strip()
    return text if len(text) <= 160 else text[:157] + "..."


@event.listens_for(Engine, "before_cursor_execute")
def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
    if _current.get() is not None:
        conn.info["bench_t0"] = time.perf_counter()


@event.listens_for(Engine, "after_cursor_execute")
def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
    rec = _current.get()
    t0 = conn.info.pop("bench_t0", None)
    if rec is None or t0 is None:
        return
    elapsed = time.perf_counter() - t0
    rec["sql_n"] += 1
    rec["sql_s"] += elapsed
    slot = rec["stmts"].setdefault(_statement(statement), [0, 0.0])
    slot[0] += 1
    slot[1] += elapsed


for _name in ("begin", "commit", "rollback", "savepoint"):

    def _counter(conn: Any, *args: Any, _key: str = _name) -> None:
        rec = _current.get()
        if rec is not None:
            rec[_key] += 1

    event.listen(Engine, _name, _counter)


def _timed_lock(lock: asyncio.Lock) -> None:
    """Time the wait for the app's SQLite write lock and how long it is held (its ``acquire`` and
    ``release`` wrapped on the instance: the inline writer's connections hold the same object)."""
    if getattr(lock, "_timed", False):
        return
    acquire, release = lock.acquire, lock.release

    async def timed_acquire() -> bool:
        t0 = time.perf_counter()
        got = await acquire()
        now = time.perf_counter()
        rec = _current.get()
        if rec is not None:
            rec["lock_wait_s"] += now - t0
            rec["lock_n"] += 1
            rec["_held_since"] = now
        return got

    def timed_release() -> None:
        rec = _current.get()
        if rec is not None and rec.get("_held_since"):
            rec["lock_hold_s"] += time.perf_counter() - rec.pop("_held_since")
        release()

    lock.acquire = timed_acquire  # type: ignore[method-assign]
    lock.release = timed_release  # type: ignore[method-assign]
    lock._timed = True  # type: ignore[attr-defined]


def _patch_lock() -> None:
    db = getattr(mercato_app.state, "db", None)
    lock = getattr(db, "write_lock", None)
    if isinstance(lock, asyncio.Lock):
        _timed_lock(lock)


def _new_record() -> dict[str, Any]:
    return {"sql_n": 0, "sql_s": 0.0, "begin": 0, "commit": 0, "rollback": 0, "savepoint": 0, "lock_n": 0,
            "lock_wait_s": 0.0, "lock_hold_s": 0.0, "stmts": {}, "spans": {}}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        # Written at the end of the lifespan: uvicorn re-raises SIGTERM after its graceful
        # shutdown, so atexit handlers never run.
        async def send_lifespan(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                _write()
            await send(message)

        await mercato_app(scope, receive, send_lifespan)
        return
    if scope["type"] != "http":
        await mercato_app(scope, receive, send)
        return
    _patch_lock()
    rec = _new_record()
    status: list[int] = [0]

    async def send_status(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = int(message["status"])
        await send(message)

    token = _current.set(rec)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        await mercato_app(scope, receive, send_status)
    finally:
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        _current.reset(token)
        _account(f"{_route(scope['method'], scope['path'])} -> {status[0]}", rec, wall, cpu)


def _account(key: str, rec: dict[str, Any], wall: float, cpu: float) -> None:
    agg = _routes.get(key)
    if agg is None:
        agg = _routes[key] = {"n": 0, "walls": [], "cpu_s": 0.0, "stmts": defaultdict(lambda: [0, 0.0]),
                              "spans": defaultdict(lambda: [0, 0.0, 0.0]),
                              **{k: 0 for k in ("sql_n", "begin", "commit", "rollback", "savepoint", "lock_n")},
                              **{k: 0.0 for k in ("sql_s", "lock_wait_s", "lock_hold_s")}}
    agg["n"] += 1
    agg["walls"].append(wall)
    agg["cpu_s"] += cpu
    for k in ("sql_n", "begin", "commit", "rollback", "savepoint", "lock_n", "sql_s", "lock_wait_s", "lock_hold_s"):
        agg[k] += rec[k]
    for text, (count, seconds) in rec["stmts"].items():
        slot = agg["stmts"][text]
        slot[0] += count
        slot[1] += seconds
    for label, (count, seconds, cpu_s) in rec["spans"].items():
        span = agg["spans"][label]
        span[0] += count
        span[1] += seconds
        span[2] += cpu_s


def _report() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, agg in sorted(_routes.items(), key=lambda kv: -kv[1]["n"]):
        n = agg["n"]
        walls = sorted(agg["walls"])
        stmts = sorted(agg["stmts"].items(), key=lambda kv: -kv[1][1])
        out[key] = {
            "requests": n,
            "wall_ms_mean": round(1000 * sum(walls) / n, 3), "wall_ms_p50": round(1000 * walls[n // 2], 3),
            "cpu_ms_mean": round(1000 * agg["cpu_s"] / n, 3),
            "sql_per_request": round(agg["sql_n"] / n, 2), "sql_ms_mean": round(1000 * agg["sql_s"] / n, 3),
            "transactions_begun": round(agg["begin"] / n, 2), "commits": round(agg["commit"] / n, 2),
            "rollbacks": round(agg["rollback"] / n, 2), "savepoints": round(agg["savepoint"] / n, 2),
            "write_lock_acquired": round(agg["lock_n"] / n, 2),
            "write_lock_wait_ms_mean": round(1000 * agg["lock_wait_s"] / n, 3),
            "write_lock_held_ms_mean": round(1000 * agg["lock_hold_s"] / n, 3),
            "spans": [{"span": label, "calls": round(count / n, 2), "wall_ms": round(1000 * w / n, 3),
                       "cpu_ms": round(1000 * c / n, 3)}
                      for label, (count, w, c) in sorted(agg["spans"].items(), key=lambda kv: -kv[1][1])],
            "statements": [{"sql": text, "per_request": round(count / n, 2), "ms_per_request": round(1000 * s / n, 3)}
                           for text, (count, s) in stmts],
        }
    return out


# --- spans: wall and CPU time under chosen service functions -----------------------------------

# (module or class, attribute, label). Patched where callers look them up at call time
# (module attributes, class methods, the payment hooks' handler list).
SPANS = [
    ("mercato.accounts.service", "resolve_token", "auth: accounts.service.resolve_token"),
    ("mercato.kit.idempotency", "begin", "idempotency.begin (claim the key, commit)"),
    ("mercato.kit.idempotency:IdempotentCall", "done", "idempotency done (store the answer)"),
    ("mercato.kit.idempotency:IdempotentCall", "abandon", "idempotency abandon (rollback, delete, commit)"),
    ("mercato.orders.cart", "add_item", "cart.add_item"),
    ("mercato.orders.cart", "view", "cart.view (the 201 body)"),
    ("mercato.orders.checkout", "place", "checkout.place"),
    ("mercato.orders.checkout", "_wanted_lines", "checkout._wanted_lines (load variant/product/shop)"),
    ("mercato.orders.checkout", "quote", "checkout.quote (pricing, address, tax)"),
    ("mercato.inventory.service", "reserve", "inventory.reserve (guarded UPDATE)"),
    ("mercato.payments.service", "create_intent", "payments.create_intent"),
    ("mercato.orders.api", "checkout_out", "presenters.checkout_out (the response body)"),
    ("mercato.orders.presenters", "order_out", "presenters.order_out"),
    ("mercato.orders.payflow", "pay_checkout", "payflow.pay_checkout"),
    ("mercato.payments.service", "confirm", "payments.confirm"),
    ("mercato.payments.sandbox:SandboxProvider", "charge", "sandbox charge (savepoint on SQLite)"),
    ("mercato.ledger.postings", "post_order_payment", "ledger postings.post_order_payment"),
    ("mercato.orders.notify", "order_changed", "notify.order_changed (emails + outbox)"),
    ("mercato.orders.cart", "remove_purchased", "cart.remove_purchased"),
    ("sqlalchemy.ext.asyncio:AsyncSession", "commit", "AsyncSession.commit"),
    ("sqlalchemy.ext.asyncio:AsyncSession", "rollback", "AsyncSession.rollback"),
    ("sqlalchemy.ext.asyncio:AsyncSession", "flush", "AsyncSession.flush"),
]


def _timed(original: Any, label: str) -> Any:
    if getattr(original, "_bench_label", None):
        return original

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        rec = _current.get()
        if rec is None:
            return await original(*args, **kwargs)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return await original(*args, **kwargs)
        finally:
            slot = rec["spans"].setdefault(label, [0, 0.0, 0.0])
            slot[0] += 1
            slot[1] += time.perf_counter() - t0
            slot[2] += time.process_time() - c0

    timed._bench_label = label  # type: ignore[attr-defined]
    return timed


def _install_spans() -> None:
    for where, attr, label in SPANS:
        module_name, _, class_name = where.partition(":")
        owner: Any = importlib.import_module(module_name)
        if class_name:
            owner = getattr(owner, class_name)
        setattr(owner, attr, _timed(getattr(owner, attr), label))
    from mercato.payments import hooks

    hooks._succeeded[:] = [_timed(h, f"payment hook {h.__module__}.{h.__name__}") for h in hooks._succeeded]


_install_spans()


def _write() -> None:
    global _written
    if _written:
        return
    _written = True
    OUT.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    (OUT / f"requests-{pid}.json").write_text(json.dumps(_report(), indent=1))
    if _profiler is not None:
        _profiler.disable()
        _profiler.dump_stats(str(OUT / f"app-{pid}.prof"))
        text = io.StringIO()
        stats = pstats.Stats(_profiler, stream=text)
        stats.sort_stats("tottime").print_stats(60)
        stats.sort_stats("cumulative").print_stats(80)
        (OUT / f"app-{pid}.txt").write_text(text.getvalue())


atexit.register(_write)  # when the process ends without a lifespan shutdown
