"""The ASGI application: routers of every domain, error handling, static files, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from mercato import __version__
from mercato.accounts import api as accounts_api
from mercato.accounts import pages as accounts_pages
from mercato.affiliate import api as affiliate_api
from mercato.affiliate import money_api as affiliate_money_api
from mercato.affiliate import money_pages as affiliate_money_pages
from mercato.affiliate import money_wiring as affiliate_money_wiring
from mercato.affiliate import pages as affiliate_pages
from mercato.affiliate import tasks as affiliate_tasks
from mercato.affiliate import wiring as affiliate_wiring
from mercato.analytics import api as analytics_api
from mercato.analytics import tasks as analytics_tasks
from mercato.analytics import wiring as analytics_wiring
from mercato.analytics.dash import api as dash_api
from mercato.analytics.dash import pages as dash_pages
from mercato.analytics.dash import wiring as dash_wiring
from mercato.catalog import api as catalog_api
from mercato.catalog import pages as catalog_pages
from mercato.catalog import read_cache as catalog_read_cache
from mercato.catalog import seller_pages
from mercato.catalog.read_cache import SignedInReads
from mercato.community import api as community_api
from mercato.community import pages as community_pages
from mercato.community import service as community_service
from mercato.community import wiring as community_wiring
from mercato.config import Settings, get_settings
from mercato.connections import api as connections_api
from mercato.connections import pages as connections_pages
from mercato.connections import panels as connections_panels  # noqa: F401  (adds the store push to order pages)
from mercato.connections import tasks as connections_tasks
from mercato.content import api as content_api
from mercato.content import pages as content_pages
from mercato.content import tasks as content_tasks
from mercato.content.serving import VideoFiles
from mercato.demo import demo_logins
from mercato.demo_live import DemoPublisher
from mercato.feed import api as feed_api
from mercato.feed import bodies as feed_bodies
from mercato.feed import cache as feed_cache
from mercato.feed import engine as feed_engine
from mercato.feed import pages as feed_pages
from mercato.feed import tasks as feed_tasks
from mercato.feed import wiring as feed_wiring
from mercato.kit import cache as catalog_cache
from mercato.kit import heap, openapi
from mercato.kit import secrets as kit_secrets
from mercato.kit.cache import CatalogReadCache
from mercato.kit.db import Database
from mercato.kit.http import CatchAll, SecurityHeaders, install_error_handlers
from mercato.kit.jobs import JobRunner
from mercato.kit.limits import BodySizeCap
from mercato.kit.loop_lag import LoopLagMonitor
from mercato.kit.migrate import upgrade
from mercato.kit.ratelimit import RateLimiter
from mercato.kit.sql import observer as sql_observer
from mercato.kit.sql.health import ping
from mercato.ledger import api as ledger_api
from mercato.ledger import pages as ledger_pages
from mercato.ledger import tasks as ledger_tasks
from mercato.live import api as live_api
from mercato.live import clipping as live_clipping
from mercato.live import hls as live_hls
from mercato.live import pages as live_pages
from mercato.live import tasks as live_tasks
from mercato.live import wiring as live_wiring
from mercato.live.fanclub import api as fanclub_api
from mercato.live.fanclub import pages as fanclub_pages
from mercato.live.fanclub import tasks as fanclub_tasks
from mercato.live.fanclub import wiring as fanclub_wiring
from mercato.live.gifts import api as live_gifts_api
from mercato.live.gifts import pages as live_gifts_pages
from mercato.live.gifts import service as gifts_service
from mercato.live.gifts import tasks as live_gifts_tasks
from mercato.live.gifts import wiring as live_gifts_wiring
from mercato.live.ingest import clips as live_clips
from mercato.live.ingest.server import IngestServer, service_hooks
from mercato.live.room import api as live_room_api
from mercato.live.room import pages as live_room_pages
from mercato.live.room import ws as live_room_ws
from mercato.live.room.hub import Hub as LiveHub
from mercato.live.selling import api as live_selling_api  # also prices checkouts with live_id (orders/hooks.py)
from mercato.live.selling import tasks as live_selling_tasks
from mercato.openapi import EXTRA_STATUSES
from mercato.openapi import router as api_docs_router
from mercato.orders import api as orders_api
from mercato.orders import lifecycle as orders_lifecycle  # noqa: F401  (connects orders to payment hooks)
from mercato.orders import pages as orders_pages
from mercato.orders import read_cache as orders_read_cache
from mercato.orders import tasks as orders_tasks
from mercato.orders.flash_gate import SoldOutGate
from mercato.orders.read_cache import SharedCartPage
from mercato.payments import api as payments_api
from mercato.payments import pages as payments_pages
from mercato.payments import tasks as payments_tasks
from mercato.promotions import api as promotions_api
from mercato.promotions import pages as promotions_pages
from mercato.web.render import STATIC_DIR, render_error

#: Modules whose import registers scheduled jobs (see kit/jobs.py).
JOB_MODULES = (orders_tasks, ledger_tasks, payments_tasks, content_tasks, feed_tasks, live_selling_tasks, live_tasks,
               connections_tasks, analytics_tasks, fanclub_tasks, live_gifts_tasks, affiliate_tasks)


# Order matters for speed: routes are tried in turn, so the hot JSON API comes first (the buying
# loop's three routes — cart, checkout, pay — then the feed and the catalog).
ROUTERS = (orders_api.buying, feed_api.router,
           catalog_api.router, orders_api.router, content_api.router, accounts_api.router, payments_api.router,
           ledger_api.router, promotions_api.router, connections_api.router, live_api.router,
           live_gifts_api.router, live_gifts_pages.router, accounts_pages.router,
           catalog_pages.router, seller_pages.router, orders_pages.router, payments_pages.router,
           ledger_pages.router, promotions_pages.router, connections_pages.router, live_pages.router, feed_pages.router,
           content_pages.router, content_api.share_router, live_selling_api.router, live_room_api.router,
           live_room_pages.router, live_room_ws.router, api_docs_router, live_hls.router,
           fanclub_api.router, fanclub_pages.router, community_api.router, community_pages.router, analytics_api.router,
           affiliate_api.router, affiliate_pages.router, affiliate_money_api.router, affiliate_money_api.link_router,
           affiliate_money_pages.router,
           dash_api.router, dash_api.ws_router, dash_pages.router)  # analytics/dash: dashboards and homes


async def write_held_back(database_url: str) -> None:
    """Write what this process holds back for a database (served feed pages waiting for the batch
    writer): before that database is emptied or replaced, so nothing of before lands after."""
    await feed_cache.drain_writers(database_url)


def forget_cached(database_url: str) -> None:
    """Forget what this process keeps of a database that was emptied or replaced behind its back
    (a restored backup; the test harness between tests): the catalog micro-cache, the feed's
    index, candidate lists and video bodies, and served pages still queued. Each is only a cache
    of the database, so forgetting it costs one reload, never correctness."""
    catalog_cache.clear_all()
    community_service.forget_windows()
    gifts_service.forget_catalog()
    catalog_read_cache.clear_all()
    orders_read_cache.clear_all()
    feed_engine.forget_index(database_url)
    feed_bodies.forget_bodies(database_url)
    feed_cache.forget(database_url)


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()
    feed_wiring.install()
    analytics_wiring.install(settings)  # analytics/wiring.py: the SQL event sink and the capture handlers
    dash_wiring.install()  # analytics/dash/wiring.py: the Seller Center home's "today"
    live_wiring.install()  # live/wiring.py: the room's snapshot and watch time reach LIVE selling
    live_gifts_wiring.install()  # live/gifts/wiring.py: "Diamonds by LIVE" on the Earnings page
    fanclub_wiring.install(settings)  # Fan Club: gifts, watch time and chat earn points; badges in chat
    community_wiring.install()  # community missions count watch, chat, shares, gifts and paid orders
    affiliate_wiring.install()  # affiliate/wiring.py: plans let creators promote other shops' products
    affiliate_money_wiring.install(settings)  # affiliate/money_wiring.py: order money, touchpoints, earnings page
    # live/clipping.py: the host's clips are cut from the ingest's recording.
    live_clipping.install(lambda s, live, start_ms, end_ms: live_clips.cut_clip(s, live.id, start_ms, end_ms))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade(settings.database_url)
        kit_secrets.configure(settings)  # kit/secrets.py: the key that seals stored credentials
        app.state.db = Database(settings.database_url)
        async with app.state.db.unit_of_work(write=False) as session:
            app.state.demo_logins = await demo_logins(session, settings)
        app.state.redis = None
        if settings.redis_url:
            app.state.redis = Redis.from_url(settings.redis_url)
        app.state.live_hub = LiveHub(settings, app.state.db, app.state.redis, app.state.rate_limiter)
        await app.state.live_hub.start()  # live/room/hub.py: the rooms' fan-out, publisher of live/broadcast.py
        runner = JobRunner(app.state.db, settings)
        if settings.run_jobs:
            runner.start()
        if settings.settle_heap:
            heap.settle()  # kit/heap.py: startup's objects out of the collector's way
        sql_observer.configure(slow_statement_ms=settings.slow_statement_ms)
        app.state.loop_lag = LoopLagMonitor(warn_ms=settings.loop_lag_warn_ms,
                                            interval=settings.loop_lag_interval_seconds)
        app.state.loop_lag.start()
        app.state.ingest = None  # live/ingest/server.py: RTMP in, HLS out (one process binds the port)
        if settings.live_ingest:
            ingest = IngestServer(settings, service_hooks(app.state.db))
            app.state.ingest = ingest if await ingest.start() else None
        demo_live = None  # demo_live.py: with `serve --demo`, the process running the ingest feeds the demo LIVE
        if app.state.ingest is not None and settings.live_demo:
            demo_live = DemoPublisher(app.state.db, settings, app.state.ingest.port)
            demo_live.start()
        try:
            yield
        finally:
            if demo_live is not None:
                await demo_live.stop()
            if app.state.ingest is not None:
                await app.state.ingest.stop()
            await app.state.loop_lag.stop()
            await runner.stop()
            await app.state.live_hub.stop()
            await feed_cache.close_writers()  # served feed pages still queued are written
            await app.state.db.dispose()
            await app.state.rate_limiter.aclose()
            if app.state.redis is not None:
                await app.state.redis.aclose()

    app = FastAPI(
        title="Mercato API",
        version=__version__,
        description="Community commerce: accounts, catalog, cart, checkout, payments, orders and the ledger. "
                    "All amounts are integer minor units.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by mercato/openapi.py with Swagger UI from npm (the CSP allows no CDN)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings)  # kit/ratelimit.py: in process, or shared through Redis
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    every_route = [route for router in ROUTERS for route in router.routes]
    respond = install_error_handlers(app, render_error, lambda: [*app.routes, *every_route])
    # catalog/read_cache.py: signed-in product and listing bodies, checked against product versions
    app.add_middleware(SignedInReads, page_seconds=settings.catalog_cache_seconds)
    app.add_middleware(SharedCartPage)  # orders/read_cache.py: a reader's cart page, checked per request
    app.add_middleware(CatalogReadCache, ttl_seconds=settings.catalog_cache_seconds)
    app.add_middleware(SoldOutGate)  # orders/flash_gate.py: flash-sale refusals before routing
    app.add_middleware(BodySizeCap, default_cap=settings.max_body_bytes, respond=respond)  # kit/limits.py
    app.add_middleware(CatchAll, respond=respond)  # any exception → 500 in the error shape
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            await ping(request.app.state.db.engine)
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports, never raises
            checks["database"] = f"error: {type(exc).__name__}"
        if request.app.state.redis is not None:
            try:
                await request.app.state.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        # Figures, not checks: a lagging loop or slow statements do not make the process unready.
        figures = {"event_loop_lag": request.app.state.loop_lag.figures(),
                   "slow_sql_statements": sql_observer.slow_statements()}
        return JSONResponse({"status": "ok" if ok else "degraded", "checks": checks, **figures},
                            status_code=200 if ok else 503)

    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app, EXTRA_STATUSES)  # security and failure statuses derived from the routes (kit/openapi.py)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Video files first: served only while their video may be seen by the caller (content/serving.py);
    # product images and avatars stay plain static files.
    app.mount("/media/videos", VideoFiles(settings.media_dir), name="video_media")
    app.mount("/media", StaticFiles(directory=settings.media_dir, check_dir=False), name="media")

    return app
