"""Seeding for coupon tests: users, shops, checkouts and coupons written straight to the database
(the service tests need no HTTP), plus an operator account for the API tests."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop
from mercato.orders.models import Checkout
from mercato.promotions.models import Coupon, CouponRedemption

T = TypeVar("T")
DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


class Seed:
    """Small factories over ``db_run``; every call is its own committed unit of work."""

    def __init__(self, db_run: DbRun) -> None:
        self.run = db_run

    def users(self, count: int = 1) -> list[int]:
        async def write(session: AsyncSession) -> list[int]:
            rows = [User(email=f"shopper{next(_ids)}@example.com", password_hash="x", display_name="Shopper",
                         date_of_birth=date(1990, 1, 1)) for _ in range(count)]
            session.add_all(rows)
            await session.flush()
            return [u.id for u in rows]

        ids: list[int] = self.run(write)
        return ids

    def user(self) -> int:
        return self.users(1)[0]

    def shop(self, currency: str = "USD") -> int:
        async def write(session: AsyncSession) -> int:
            n = next(_ids)
            shop = Shop(slug=f"seed-shop-{n}", name=f"Seed Shop {n}", currency=currency)
            session.add(shop)
            await session.flush()
            return shop.id

        shop_id: int = self.run(write)
        return shop_id

    def checkouts(self, user_id: int, count: int = 1) -> list[int]:
        async def write(session: AsyncSession) -> list[int]:
            rows = [Checkout(buyer_id=user_id, status="open", address={}, expires_at=NOW + timedelta(minutes=15))
                    for _ in range(count)]
            session.add_all(rows)
            await session.flush()
            return [c.id for c in rows]

        ids: list[int] = self.run(write)
        return ids

    def checkout_each(self, user_ids: list[int]) -> list[int]:
        """One checkout per user, in one unit of work."""

        async def write(session: AsyncSession) -> list[int]:
            rows = [Checkout(buyer_id=u, status="open", address={}, expires_at=NOW + timedelta(minutes=15))
                    for u in user_ids]
            session.add_all(rows)
            await session.flush()
            return [c.id for c in rows]

        ids: list[int] = self.run(write)
        return ids

    def checkout(self, user_id: int) -> int:
        return self.checkouts(user_id, 1)[0]

    def coupon(self, code: str, *, shop_id: int | None = None, **fields: Any) -> int:
        """A coupon; ``shop_id`` None makes it a platform coupon. Defaults: 10 % off, no limits."""
        values: dict[str, Any] = {
            "scope": "platform" if shop_id is None else f"shop:{shop_id}", "code": code, "shop_id": shop_id,
            "funded_by": "platform" if shop_id is None else "seller", "kind": "percent", "percent_bps": 1000,
            "amount": None, "currency": None, "min_spend": 0, "active": True, "redeemed_count": 0,
        }
        values.update(fields)

        async def write(session: AsyncSession) -> int:
            coupon = Coupon(**values)
            session.add(coupon)
            await session.flush()
            return coupon.id

        coupon_id: int = self.run(write)
        return coupon_id

    def facts(self, coupon_id: int) -> tuple[int, int]:
        """(redeemed_count, number of redemption rows) of a coupon."""

        async def read(session: AsyncSession) -> tuple[int, int]:
            coupon = await session.get(Coupon, coupon_id)
            assert coupon is not None
            rows = (await session.execute(select(func.count()).select_from(CouponRedemption)
                                          .where(CouponRedemption.coupon_id == coupon_id))).scalar_one()
            return coupon.redeemed_count, int(rows)

        result: tuple[int, int] = self.run(read)
        return result

    def set(self, coupon_id: int, **values: Any) -> None:
        async def write(session: AsyncSession) -> None:
            await session.execute(update(Coupon).where(Coupon.id == coupon_id).values(**values))

        self.run(write)


@pytest.fixture
def seed(db_run: DbRun) -> Seed:
    return Seed(db_run)


@pytest.fixture
def operator(make_user: Callable[..., dict[str, Any]], db_run: DbRun) -> dict[str, Any]:
    user = make_user(f"operator{next(_ids)}")

    async def promote(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == user["user"]["id"]).values(is_admin=True))

    db_run(promote)
    return user


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]
