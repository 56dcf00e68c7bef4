"""Test harness: the whole suite runs against a real database with migrations applied —
SQLite or a throw-away PostgreSQL (``MERCATO_TEST_DB=sqlite|postgresql``) — and talks to
the real app over real HTTP (uvicorn on a free port)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

# The suite runs with the production defaults (docs/architecture.md, "Tests", says why for each):
# the catalog micro-cache, the settled heap, the feed's batch writer, index refresh and candidate
# lists are all on. They are caches or buffers of the database, and the database is emptied before
# each test behind the server's back: :func:`reset_database` therefore also makes the server write
# what it holds back and forget what it cached, through the app's own functions for that.
# Four settings differ from production, on purpose:
# - argon2id stays real but with cheaper parameters, so that hundreds of sign-ups stay quick
#   (tests/kit/test_security.py checks a hash made with the production ones verifies);
os.environ.setdefault("MERCATO_ARGON2_TIME_COST", "1")
os.environ.setdefault("MERCATO_ARGON2_MEMORY_KIB", "8192")
# - the scheduled jobs do not run in the background of the test server: a job firing between a
#   test's steps (sandbox webhooks every second, expiring reservations…) would change what the
#   test is checking at an unpredictable moment. Tests run each job themselves when they mean to,
#   and tests/kit/test_jobs.py runs the app's job runner itself, with every registered job.
os.environ.setdefault("MERCATO_RUN_JOBS", "false")
# - the RTMP ingest is not started by the test server: tests/live/ingest start their own on a free port.
os.environ.setdefault("MERCATO_LIVE_INGEST", "false")
# - sign-ups per client address: every account of the suite is signed up from 127.0.0.1 and some
#   tests sign up hundreds (the oversell tests), far beyond what one network does in an hour; so
#   the suite's budget is large but finite. Every other rate limit is at its production rate, and
#   tests/test_rate_limits.py checks sign-up at its own (the ``production_limits`` fixture).
os.environ.setdefault("MERCATO_RATE_LIMIT_SIGNUP", "2000/minute")

from mercato.accounts.models import User
from mercato.config import Settings, get_settings
from mercato.kit.db import Database
from mercato.kit.migrate import upgrade
from mercato.models import metadata
from tests.harness import (
    SYSTEM_PACKAGES,
    LiveServer,
    postgres_available,
    postgres_server,
    redis_server,
    required,
    skipped_summary,
)

TEST_DB = os.environ.get("MERCATO_TEST_DB", "sqlite")
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
T = TypeVar("T")


def pytest_report_header(config: pytest.Config) -> str:
    return f"mercato test database: {TEST_DB}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The PostgreSQL pass needs PostgreSQL's server binaries: without them it is one line and done
    (exit status 0), unless MERCATO_REQUIRE_POSTGRES=1, which makes it fail."""
    if TEST_DB != "postgresql" or postgres_available():
        return
    need = SYSTEM_PACKAGES["postgres"]
    if required("postgres"):
        pytest.exit(f"{need.require}=1 but {need.binary} are not installed (apt-get install {need.package})",
                    returncode=3)
    pytest.exit(f"Skipped for want of system packages: {need.enables} (no {need.binary}). "
                f"Install them with: apt-get install {need.package}", returncode=0)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reasons = [str(report.longrepr) for report in terminalreporter.stats.get("skipped", [])]
    line = skipped_summary(reasons)
    if line:
        terminalreporter.write_line(line, yellow=True)


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str | None, Path]]:
    """(database URL, Redis URL or None, media folder) for the whole session."""
    root = tmp_path_factory.mktemp("mercato")
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server())
        if redis_url is None and required("redis"):
            need = SYSTEM_PACKAGES["redis"]
            pytest.exit(f"{need.require}=1 but {need.binary} is not installed (apt-get install {need.package})",
                        returncode=3)
        if TEST_DB == "postgresql":
            try:
                url = stack.enter_context(postgres_server())
            except FileNotFoundError as exc:
                if os.environ.get("MERCATO_REQUIRE_POSTGRES") == "1":
                    pytest.exit(f"MERCATO_REQUIRE_POSTGRES=1 but {exc}", returncode=3)
                pytest.skip(f"PostgreSQL run skipped: {exc}")
        else:
            url = f"sqlite+aiosqlite:///{root / 'test.db'}"
        os.environ["DATABASE_URL"] = url
        if redis_url:
            os.environ["REDIS_URL"] = redis_url
        os.environ["MERCATO_MEDIA_DIR"] = str(root / "media")
        get_settings.cache_clear()
        upgrade(url)
        yield url, redis_url, root / "media"


@pytest.fixture(scope="session")
def settings(backend: tuple[str, str | None, Path]) -> Settings:
    return get_settings()


_LIVE: list[LiveServer] = []  # the session's app server, once started


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The one app of the session. Its start settles the heap (kit/heap.py) once, as in production."""
    from mercato.app import create_app

    server = LiveServer(create_app(settings, migrate=False))
    server.start()
    _LIVE.append(server)
    yield server
    _LIVE.remove(server)
    server.stop()


def run_async(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion from sync test code, even when this thread already runs an
    event loop (Playwright's sync API keeps one): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


async def _truncate(url: str) -> None:
    db = Database(url, pool=False)
    try:
        # The previous test's browser page may still send a last request while it closes (feed
        # events on page hide); PostgreSQL may then pick the TRUNCATE as a deadlock victim: retry.
        for attempt in range(5):
            try:
                await _empty_tables(db)
                return
            except DBAPIError as exc:
                if "deadlock" not in str(exc).lower() or attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
    finally:
        await db.dispose()


async def _empty_tables(db: Database) -> None:
    async with db.write_engine.begin() as conn:
        tables = [t.name for t in reversed(metadata.sorted_tables)]
        if db.is_sqlite:
            # The ledger's append-only triggers stand down only while ledger_maintenance has a row.
            await conn.execute(text("INSERT INTO ledger_maintenance (reason) VALUES ('test reset')"))
            for name in tables:
                await conn.execute(text(f'DELETE FROM "{name}"'))
            await conn.execute(text("DELETE FROM ledger_maintenance"))
        else:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def on_live_server(work: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``work(app)`` on the session's app server, on its event loop (nothing when not started)."""
    for server in _LIVE:
        server.call(lambda: work(server.app))


def reset_database(url: str) -> None:
    """Empty the database for the next test, and make the running app (if any) consistent with it:
    first it writes what it still holds back (served feed pages), so nothing of the previous test
    lands afterwards; then the tables are emptied; then it forgets its caches of the old rows and
    anything queued meanwhile (a late request of the previous test's browser page)."""
    from mercato.app import forget_cached, write_held_back

    async def write(app: Any) -> None:
        await write_held_back(url)

    async def forget(app: Any) -> None:
        forget_cached(url)

    on_live_server(write)
    run_async(_truncate(url))
    on_live_server(forget)


@pytest.fixture
def clean_db(backend: tuple[str, str | None, Path]) -> str:
    """An empty database (schema kept) for this test."""
    reset_database(backend[0])
    return backend[0]


@pytest.fixture
def server(live_server: LiveServer, clean_db: str) -> str:
    # User ids come back after the tables are emptied: yesterday's user 1 is not today's.
    live_server.app.state.rate_limiter.forget()  # type: ignore[attr-defined]
    return live_server.url


@pytest.fixture
def set_rates(server: str, live_server: LiveServer, settings: Settings) -> Iterator[Callable[..., None]]:
    """``set_rates(checkout="2/hour", …)``: the test server's rates of these rules, for this test only."""
    from mercato.kit.ratelimit import rates_of

    limiter: Any = live_server.app.state.rate_limiter  # type: ignore[attr-defined]
    suite_rates = limiter.rates

    def apply(**rates: str) -> None:
        limiter.rates = {**suite_rates, **{name: rates_of(settings, rates)[name] for name in rates}}

    try:
        yield apply
    finally:
        limiter.rates = suite_rates


@pytest.fixture
def production_limits(set_rates: Callable[..., None]) -> None:
    """Every rule at its production rate (the suite raises the sign-up rate, see above)."""
    from mercato.kit.ratelimit import RULES

    set_rates(**{name: str(Settings.model_fields[rule.setting].default) for name, rule in RULES.items()})


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


@pytest.fixture
def db_run(clean_db: str) -> Callable[[Callable[[AsyncSession], Awaitable[T]]], T]:
    """Run ``fn(session)`` in its own unit of work against the test database and return its result."""

    def runner(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def go() -> T:
            db = Database(clean_db, pool=False)
            try:
                async with db.unit_of_work() as session:
                    return await fn(session)
            finally:
                await db.dispose()

        return run_async(go())

    return runner


@pytest.fixture
def count_rows(db_run: Callable[..., Any]) -> Callable[[Any], int]:
    """How many rows a model's table holds now (to prove that a refused request wrote nothing)."""

    def count(model: Any) -> int:
        async def go(db: AsyncSession) -> int:
            return int((await db.execute(select(func.count()).select_from(model))).scalar_one())

        result: int = db_run(go)
        return result

    return count


_counter = itertools.count(1)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_user(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    """Register an account over the API; returns the session body plus ``headers`` for it."""

    def create(
        name: str | None = None, *, dob: str = "1990-01-01", password: str = "correct-horse-1"
    ) -> dict[str, Any]:
        label = name or f"user{next(_counter)}"
        response = api.post("/api/v1/auth/register", json={
            "email": f"{label}@example.com", "password": password, "display_name": label.title(),
            "date_of_birth": dob,
        })
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        body["headers"] = auth(body["token"])
        body["password"] = password
        return body

    return create


@pytest.fixture
def make_shop(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Open a shop for ``owner`` (a new user if omitted); returns the shop body plus ``owner``."""

    def create(slug: str | None = None, owner: dict[str, Any] | None = None, currency: str = "USD") -> dict[str, Any]:
        owner = owner or make_user()
        slug = slug or f"shop-{next(_counter)}"
        response = api.post("/api/v1/shops", headers=owner["headers"],
                            json={"name": slug.replace("-", " ").title(), "slug": slug, "currency": currency})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        body["owner"] = owner
        return body

    return create


@pytest.fixture
def make_product(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def create(shop: dict[str, Any], title: str = "Test Product", **fields: Any) -> dict[str, Any]:
        payload = {"title": title, "status": "active", "variants": [{"sku": None, "price": 1999, "stock": 10}]}
        payload.update(fields)
        response = api.post(f"/api/v1/shops/{shop['slug']}/products", headers=shop["owner"]["headers"], json=payload)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return create


@pytest.fixture
def in_plan(api: httpx.Client, db_run: Callable[..., Any], settings: Settings) -> Callable[..., dict[str, Any]]:
    """Let creators promote products of another shop the way the affiliate program does (it replaced
    ``open_to_creators``): a new open plan of ``shop`` over ``products`` (or ``plan``, an existing
    one), each creator given the follower minimum and joined over the API. Returns the plan."""

    def put(shop: dict[str, Any], products: list[dict[str, Any]], *creators: dict[str, Any],
            plan: dict[str, Any] | None = None, rate_bps: int = 1000) -> dict[str, Any]:
        if plan is None:
            made = api.post(f"/api/v1/shops/{shop['slug']}/affiliate/plans", headers=shop["owner"]["headers"],
                            json={"name": "Open plan", "kind": "open", "product_ids": [p["id"] for p in products],
                                  "rate_bps": rate_bps})
            assert made.status_code == 201, made.text
            plan = made.json()
        for creator in creators:
            async def eligible(db: AsyncSession, user_id: int = creator["user"]["id"]) -> None:
                user = await db.get(User, user_id)
                assert user is not None
                user.followers_count = max(user.followers_count, settings.affiliate_min_followers)

            db_run(eligible)
            joined = api.post(f"/api/v1/affiliate/plans/{plan['id']}/join", headers=creator["headers"], json={})
            assert joined.status_code == 201 and joined.json()["status"] == "active", joined.text
        return plan

    return put
