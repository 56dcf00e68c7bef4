"""In-flight claims of the flash-sale gate (orders/flash_claims.py): in process memory and in a
real Redis (the throw-away server of tests/harness.py), the same contract."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mercato.orders.flash_claims import ADMITTED, ALREADY_HELD, Claims, LocalClaims, RedisClaims
from tests.conftest import run_async
from tests.harness import missing


@pytest.fixture
def redis_url(backend: tuple[str, str | None, Path]) -> str:
    if backend[1] is None:
        missing("redis")
    return backend[1]


def with_claims(kind: str, redis_url: str | None, seconds: float = 30.0) -> Callable[[Any], Any]:
    """Run ``test(claims)`` with claims of ``kind`` (a fresh Redis connection per run)."""

    def runner(test: Any) -> Any:
        async def go() -> Any:
            if kind == "local":
                return await test(LocalClaims(seconds=seconds))
            from redis.asyncio import Redis

            redis = Redis.from_url(redis_url or "")
            try:
                return await test(RedisClaims(redis, seconds=seconds, prefix=f"test:{uuid.uuid4().hex}"))
            finally:
                await redis.aclose()

        return run_async(go())

    return runner


@pytest.fixture(params=["local", "redis"])
def claims_run(request: pytest.FixtureRequest, backend: tuple[str, str | None, Path]) -> Iterator[Callable[..., Any]]:
    if request.param == "redis" and backend[1] is None:
        missing("redis")
    yield lambda test, seconds=30.0: with_claims(request.param, backend[1], seconds)(test)


def test_admits_up_to_what_is_left_and_says_what_is_left(claims_run: Callable[..., Any]) -> None:
    async def test(claims: Claims) -> list[int]:
        return [await claims.claim("7:a", "u1:k1", 3, 2), await claims.claim("7:a", "u2:k2", 3, 2),
                await claims.claim("7:a", "u3:k3", 3, 1), await claims.claim("7:a", "u4:k4", 3, 1),
                await claims.claim("8:a", "u4:k4", 1, 1)]

    # 3 available: 2 claimed, then 2 more cannot (1 left), 1 can, then none is left; another
    # variant is counted apart.
    assert claims_run(test) == [ADMITTED, 1, ADMITTED, 0, ADMITTED]


def test_release_gives_the_units_back_and_the_same_holder_passes_again(claims_run: Callable[..., Any]) -> None:
    async def test(claims: Claims) -> list[int]:
        out = [await claims.claim("7:a", "u1:k1", 1, 1), await claims.claim("7:a", "u1:k1", 1, 1),
               await claims.claim("7:a", "u2:k2", 1, 1)]
        await claims.release("7:a", "u1:k1")
        out.append(await claims.claim("7:a", "u2:k2", 1, 1))
        await claims.release("7:a", "nobody")  # harmless
        return out

    assert claims_run(test) == [ADMITTED, ALREADY_HELD, 0, ADMITTED]


def test_the_database_snapshot_is_the_ceiling(claims_run: Callable[..., Any]) -> None:
    """Claims never add units: with 0 available nothing is admitted, whatever Redis holds."""

    async def test(claims: Claims) -> list[int]:
        return [await claims.claim("7:a", "u1:k1", 0, 1), await claims.claim("7:a", "u2:k2", 5, 1),
                await claims.claim("7:a", "u3:k3", 1, 1)]

    # The snapshot read by the later buyer already counts the earlier one's reservation or
    # not; either way the in-flight claim is subtracted, erring towards a refusal, never a sale.
    assert claims_run(test) == [0, ADMITTED, 0]


def test_claims_of_a_dead_request_expire(claims_run: Callable[..., Any]) -> None:
    async def test(claims: Claims) -> list[int]:
        first = await claims.claim("7:a", "u1:k1", 1, 1)
        blocked = await claims.claim("7:a", "u2:k2", 1, 1)
        await asyncio.sleep(0.35)
        return [first, blocked, await claims.claim("7:a", "u2:k2", 1, 1)]

    assert claims_run(test, seconds=0.3) == [ADMITTED, 0, ADMITTED]


def test_concurrent_claims_never_admit_more_than_available(redis_url: str) -> None:
    """200 claims at once from 4 connections (as from 4 processes) for 10 units: exactly 10."""

    async def test() -> list[int]:
        from redis.asyncio import Redis

        prefix = f"test:{uuid.uuid4().hex}"
        clients = [Redis.from_url(redis_url) for _ in range(4)]
        try:
            gates = [RedisClaims(c, prefix=prefix) for c in clients]
            return list(await asyncio.gather(*(gates[i % 4].claim("9:a", f"u{i}:k", 10, 1) for i in range(200))))
        finally:
            for c in clients:
                await c.aclose()

    answers = run_async(test())
    assert answers.count(ADMITTED) == 10
    assert sorted(set(answers)) == [ADMITTED, 0]


