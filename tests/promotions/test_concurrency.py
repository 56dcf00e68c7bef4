"""Coupon limits under real concurrency (RELIABILITY.md: "reuse a single-use coupon … also
concurrently → 409; total never below 0"). Every contender has its own ``Database`` and session;
they are released together. On SQLite the writers queue on ``BEGIN IMMEDIATE``; on PostgreSQL
they run in parallel and the guarded UPDATE / unique use number decide."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import Database
from mercato.kit.errors import AppError
from mercato.promotions import service
from mercato.promotions.service import OrderDraft
from tests.promotions.conftest import NOW, Seed

Job = Callable[[AsyncSession], Awaitable[Any]]


def race(url: str, jobs: list[Job]) -> list[Any]:
    """Run each job in its own unit of work, all at once; an ``AppError`` is returned, not raised."""

    async def run() -> list[Any]:
        databases = [Database(url, pool=False) for _ in jobs]
        start = asyncio.Barrier(len(jobs))

        async def contender(db: Database, job: Job) -> Any:
            try:
                async with db.unit_of_work() as session:
                    if not db.is_sqlite:
                        await session.connection()  # connect before the start, so all start together
                    await start.wait()
                    return await job(session)
            except AppError as exc:
                return exc

        tasks = [asyncio.create_task(contender(db, job)) for db, job in zip(databases, jobs, strict=True)]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for db in databases:
                await db.dispose()

    return asyncio.run(run())


def outcome(result: Any) -> str:
    return result.code if isinstance(result, AppError) else "redeemed"


def redeem_job(user_id: int, checkout_id: int, code: str, drafts: list[OrderDraft]) -> Job:
    async def job(session: AsyncSession) -> Any:
        return await service.redeem_coupons(session, user_id=user_id, checkout_id=checkout_id, codes=[code],
                                            drafts=drafts, now=NOW)

    return job


def test_total_limit_5_with_40_concurrent_shoppers(seed: Seed, clean_db: str) -> None:
    shop = seed.shop()
    coupon = seed.coupon("FIRST5", shop_id=shop, currency="USD", total_limit=5)
    users = seed.users(40)
    drafts = [OrderDraft(shop, "USD", 2000)]
    jobs = [redeem_job(user, checkout, "first5", drafts) for user, checkout in zip(users, seed.checkout_each(users),
                                                                                    strict=True)]
    results = race(clean_db, jobs)
    assert Counter(outcome(r) for r in results) == Counter({"redeemed": 5, "coupon_exhausted": 35})
    assert all(r.status == 409 for r in results if isinstance(r, AppError))
    assert seed.facts(coupon) == (5, 5)


def test_per_user_limit_1_with_10_concurrent_checkouts_of_one_shopper(seed: Seed, clean_db: str) -> None:
    shop = seed.shop()
    coupon = seed.coupon("JUSTONCE", shop_id=shop, currency="USD", per_user_limit=1)
    user = seed.user()
    drafts = [OrderDraft(shop, "USD", 2000)]
    jobs = [redeem_job(user, checkout, "JUSTONCE", drafts) for checkout in seed.checkouts(user, 10)]
    results = race(clean_db, jobs)
    assert Counter(outcome(r) for r in results) == Counter({"redeemed": 1, "coupon_limit_reached": 9})
    assert seed.facts(coupon) == (1, 1)


def test_both_limits_with_many_shoppers_trying_several_times(seed: Seed, clean_db: str) -> None:
    shop = seed.shop()
    coupon = seed.coupon("DROP", total_limit=4, per_user_limit=1)  # a platform coupon
    users = seed.users(8)
    drafts = [OrderDraft(shop, "USD", 2000)]
    tries = [user for user in users for _ in range(3)]
    jobs = [redeem_job(user, checkout, "DROP", drafts) for user, checkout in zip(tries, seed.checkout_each(tries),
                                                                                  strict=True)]
    results = race(clean_db, jobs)
    counts = Counter(outcome(r) for r in results)
    assert counts["redeemed"] == 4
    assert set(counts) <= {"redeemed", "coupon_exhausted", "coupon_limit_reached"}
    redeemed_users = [user for user, r in zip(tries, results, strict=True) if not isinstance(r, AppError)]
    assert len(set(redeemed_users)) == 4  # never twice for one shopper
    assert seed.facts(coupon) == (4, 4)


def test_concurrent_releases_give_each_use_back_once(seed: Seed, clean_db: str, db_run: Any) -> None:
    shop = seed.shop()
    coupon = seed.coupon("BACK", shop_id=shop, currency="USD", total_limit=3)
    user = seed.user()
    checkout = seed.checkout(user)
    db_run(redeem_job(user, checkout, "BACK", [OrderDraft(shop, "USD", 2000)]))
    assert seed.facts(coupon) == (1, 1)

    async def release(session: AsyncSession) -> int:
        return await service.release_checkout(session, checkout)

    results = race(clean_db, [release] * 6)
    assert sorted(results) == [0, 0, 0, 0, 0, 1]
    assert seed.facts(coupon) == (0, 0)
