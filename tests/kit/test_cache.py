"""The micro-cache of anonymous catalog reads (kit/cache.py), on a tiny ASGI app."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mercato.kit.cache import CatalogReadCache


def make_app(ttl: float) -> tuple[CatalogReadCache, dict[str, int]]:
    state = {"calls": 0, "value": 1}

    async def product(request: Request) -> Response:
        state["calls"] += 1
        return JSONResponse({"value": state["value"]})

    async def with_cookie(request: Request) -> Response:
        state["calls"] += 1
        response = JSONResponse({"value": state["value"]})
        response.set_cookie("x", "y")
        return response

    async def write(request: Request) -> Response:
        state["value"] += 1
        return JSONResponse({}, status_code=201)

    inner = Starlette(routes=[
        Route("/api/v1/products/{pid:int}", product), Route("/api/v1/products", with_cookie),
        Route("/api/v1/shops/x/products", write, methods=["POST"]),
        Route("/api/v1/checkouts", write, methods=["POST"]),
    ])
    return CatalogReadCache(inner, ttl_seconds=ttl), state


def run(app: CatalogReadCache, *calls: tuple[str, str, dict[str, str]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return [await client.request(method, path, headers=headers) for method, path, headers in calls]

    return asyncio.run(go())


def test_anonymous_reads_are_served_from_the_cache_until_a_catalog_write() -> None:
    app, state = make_app(ttl=60)
    first, second = run(app, ("GET", "/api/v1/products/1", {}), ("GET", "/api/v1/products/1", {}))
    assert first.json() == second.json() == {"value": 1}
    assert state["calls"] == 1
    state["value"] = 5  # changed behind the cache's back: still served from the cache
    assert run(app, ("GET", "/api/v1/products/1", {}))[0].json() == {"value": 1}
    run(app, ("POST", "/api/v1/shops/x/products", {}))  # a catalog write empties it
    assert run(app, ("GET", "/api/v1/products/1", {}))[0].json() == {"value": 6}


def test_buying_paths_do_not_empty_the_cache() -> None:
    app, state = make_app(ttl=60)
    run(app, ("GET", "/api/v1/products/1", {}), ("POST", "/api/v1/checkouts", {}), ("GET", "/api/v1/products/1", {}))
    assert state["calls"] == 1


def test_authenticated_requests_and_cookies_bypass_the_cache() -> None:
    app, state = make_app(ttl=60)
    run(app, ("GET", "/api/v1/products/1", {"Authorization": "Bearer t"}),
        ("GET", "/api/v1/products/1", {"Authorization": "Bearer t"}),
        ("GET", "/api/v1/products/1", {"Cookie": "mercato_session=abc"}))
    assert state["calls"] == 3
    run(app, ("GET", "/api/v1/products", {}), ("GET", "/api/v1/products", {}))  # answers that set a cookie
    assert state["calls"] == 5


def test_entries_expire() -> None:
    app, state = make_app(ttl=0.05)
    run(app, ("GET", "/api/v1/products/2", {}))
    asyncio.run(asyncio.sleep(0.1))
    run(app, ("GET", "/api/v1/products/2", {}))
    assert state["calls"] == 2
    off, off_state = make_app(ttl=0)
    run(off, ("GET", "/api/v1/products/2", {}), ("GET", "/api/v1/products/2", {}))
    assert off_state["calls"] == 2
