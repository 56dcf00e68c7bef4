"""The reference of the ``http`` benchmark: the least work a Starlette app can do per request.

One route answering a small JSON body, no middleware, no database. ``benchmarks/http.py``
serves it with exactly the uvicorn settings of the real app, so the ratio of the two rates
tells how much of the machine Mercato's own work costs.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/", hello), Route("/healthz", healthz)])
