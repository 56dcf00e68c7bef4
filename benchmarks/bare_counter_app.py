"""The reference of the ``flash_sale`` benchmark: the least work a "buy" can do on a database.

``POST /take/{counter_id}`` runs ONE guarded atomic update in its own transaction,

    UPDATE counters SET taken = taken + 1 WHERE id = :id AND taken < :stock

and answers ``200`` when it took a unit (row count 1) or ``409 out_of_stock`` when none was
left. It uses the app's own engine settings (``mercato.kit.db.make_engine``: WAL, pragmas,
``BEGIN IMMEDIATE`` on SQLite; the same pool on PostgreSQL) and, like the app's
``Database.unit_of_work``, queues this process's SQLite writers on an asyncio lock. No
middleware, no session lookup, no ORM. ``benchmarks/flash_sale.py`` serves it with exactly
the uvicorn settings of the app, on the same database, so the ratio of the two decision rates
tells how much of the machine the app's own work costs.

Environment: ``DATABASE_URL``; ``BENCH_COUNTER_STOCK`` (units of counter 1, default 100;
other counters are unbounded, for warming up). The ``counters`` table is created by the
benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mercato.kit.db import make_engine

TAKE = text("UPDATE counters SET taken = taken + 1 WHERE id = :id AND taken < :stock")
UNBOUNDED = 10**12


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    url = os.environ["DATABASE_URL"]
    app.state.stock = int(os.environ.get("BENCH_COUNTER_STOCK", "100"))
    app.state.engine = make_engine(url, immediate=True)
    app.state.lock = asyncio.Lock() if url.startswith("sqlite") else None
    try:
        yield
    finally:
        await app.state.engine.dispose()


async def take(request: Request) -> JSONResponse:
    counter_id = int(request.path_params["counter_id"])
    state = request.app.state
    stock = state.stock if counter_id == 1 else UNBOUNDED
    async with state.lock or contextlib.nullcontext(), state.engine.begin() as conn:
        result = await conn.execute(TAKE, {"id": counter_id, "stock": stock})
    if result.rowcount == 1:
        return JSONResponse({"taken": True})
    return JSONResponse({"error": {"code": "out_of_stock", "message": "Sold out."}}, status_code=409)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/take/{counter_id:int}", take, methods=["POST"]), Route("/healthz", healthz)],
                lifespan=lifespan)
