"""kit/ratelimit.py: the limiter itself — shared through Redis by every app process, in process
otherwise; a refused hit spends nothing; a bad setting fails at start; a Redis outage lets
requests through."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mercato.config import Settings
from mercato.kit.errors import TooManyRequests
from mercato.kit.ratelimit import RULES, RateLimiter
from tests.conftest import run_async
from tests.harness import LiveServer, free_port

SEARCH = RULES["search"]


def limiter_settings(settings: Settings, redis_url: str | None, **rates: str) -> Settings:
    return settings.model_copy(update={"redis_url": redis_url, **{f"rate_limit_{k}": v for k, v in rates.items()}})


async def outcomes(limiter: RateLimiter, who: str, times: int) -> list[int]:
    """429 or 200 for ``times`` hits of the search rule."""
    answers = []
    for _ in range(times):
        try:
            await limiter.hit(SEARCH, who)
            answers.append(200)
        except TooManyRequests:
            answers.append(429)
    return answers


@pytest.fixture
def redis_url(settings: Settings) -> str:
    if not settings.redis_url:
        pytest.skip("redis-server is not installed: the shared mode cannot be tested here")
    return settings.redis_url


def test_two_limiters_on_one_redis_share_a_budget(settings: Settings, redis_url: str) -> None:
    async def go() -> tuple[list[int], list[int], list[int]]:
        first = RateLimiter(limiter_settings(settings, redis_url, search="3/minute"))
        second = RateLimiter(limiter_settings(settings, redis_url, search="3/minute"))
        first.forget()
        second.namespace = first.namespace  # two processes of one deployment
        try:
            assert first.shared and second.shared
            return (await outcomes(first, "ip:198.51.100.1", 2), await outcomes(second, "ip:198.51.100.1", 2),
                    await outcomes(second, "ip:198.51.100.2", 1))
        finally:
            await first.aclose()
            await second.aclose()

    assert run_async(go()) == ([200, 200], [200, 429], [200])


def test_in_process_limiters_count_apart(settings: Settings) -> None:
    async def go() -> tuple[list[int], list[int]]:
        first = RateLimiter(limiter_settings(settings, None, search="3/minute"))
        second = RateLimiter(limiter_settings(settings, None, search="3/minute"))
        assert not first.shared
        return await outcomes(first, "ip:198.51.100.1", 4), await outcomes(second, "ip:198.51.100.1", 1)

    assert run_async(go()) == ([200, 200, 200, 429], [200])


def test_a_refused_hit_spends_nothing_in_the_other_windows(settings: Settings) -> None:
    async def go() -> tuple[list[int], int]:
        limiter = RateLimiter(limiter_settings(settings, None, search="2/minute;3/hour"))
        answers = await outcomes(limiter, "user:1", 4)
        hour = limiter.rates["search"][1]
        stats = await limiter.window.get_window_stats(hour, limiter.namespace, "search", "user:1")
        return answers, stats.remaining

    assert run_async(go()) == ([200, 200, 429, 429], 1)


def test_a_bad_rate_setting_fails_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_SEARCH is not a rate"):
        RateLimiter(limiter_settings(settings, None, search="lots"))


def test_a_redis_outage_lets_requests_through(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> list[int]:
        limiter = RateLimiter(limiter_settings(settings, f"redis://127.0.0.1:{free_port()}/0", search="1/minute"))
        try:
            return await outcomes(limiter, "ip:198.51.100.1", 3)
        finally:
            await limiter.aclose()

    with caplog.at_level(logging.WARNING, logger="mercato.ratelimit"):
        assert run_async(go()) == [200, 200, 200]
    assert "rate limit search not applied" in caplog.text


@pytest.fixture
def second_app(live_server: LiveServer, settings: Settings, redis_url: str) -> Iterator[LiveServer]:
    """Another app process of the same deployment: same database, same Redis."""
    from mercato.app import create_app

    other = LiveServer(create_app(settings, migrate=False))
    other.start()
    try:
        yield other
    finally:
        other.stop()


def test_two_app_instances_share_one_budget_through_redis(
    set_rates: Callable[..., None], server: str, live_server: LiveServer, second_app: LiveServer,
) -> None:
    set_rates(search="3/minute")
    first: Any = live_server.app
    other: Any = second_app.app
    other.state.rate_limiter.rates = first.state.rate_limiter.rates
    other.state.rate_limiter.namespace = first.state.rate_limiter.namespace
    with httpx.Client(base_url=server, timeout=60) as a, httpx.Client(base_url=second_app.url, timeout=60) as b:
        answers = [a.get("/api/v1/search", params={"q": "x"}).status_code for _ in range(2)]
        answers += [b.get("/api/v1/search", params={"q": "x"}).status_code for _ in range(2)]
        answers.append(a.get("/api/v1/search", params={"q": "x"}).status_code)
    assert answers == [200, 200, 200, 429, 429]


def test_the_in_process_storage_keeps_what_a_moving_window_reads_and_sweeps_the_rest() -> None:
    from limits import parse
    from limits.aio.strategies import MovingWindowRateLimiter

    from mercato.kit.ratelimit import ProcessStorage

    async def go() -> tuple[list[bool], int, int, int]:
        storage = ProcessStorage()
        window = MovingWindowRateLimiter(storage)
        item = parse("3/minute")
        answers = [await window.hit(item, "n", "search", "ip:a") for _ in range(5)]
        await window.hit(item, "n", "search", "ip:b")
        kept = len(storage.events[item.key_for("n", "search", "ip:a")])
        storage.sweep(time.time() + 30)  # nothing has expired yet
        before = len(storage.events)
        storage.sweep(time.time() + 61)  # every entry has
        return answers, kept, before, len(storage.events)

    assert run_async(go()) == ([True, True, True, False, False], 3, 2, 0)
