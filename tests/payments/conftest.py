"""Shared set-up for payments tests: a buyer with a payment intent, the sandbox's rows, a hook counter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import Database
from mercato.kit.models import InboxEvent
from mercato.orders.models import Checkout
from mercato.payments import hooks, service
from mercato.payments.models import PaymentEvent, PaymentIntent, SandboxCharge

T = TypeVar("T")

SUCCESS = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
INSUFFICIENT = "4000 0000 0000 9995"
REQUIRES_ACTION = "4000 0027 6000 3184"
OTHER_VALID = "5555 5555 5555 4444"
NEXT_YEAR = datetime.now(UTC).year + 1

DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]


def card_body(number: str = SUCCESS, **overrides: Any) -> dict[str, Any]:
    return {"card_number": number, "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123", "name": "Ada Buyer",
            **overrides}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
def with_database(clean_db: str) -> Callable[[Callable[[Database], Awaitable[T]]], T]:
    """Run ``fn(database)`` with a fresh :class:`Database` on the test database (for code that opens
    its own sessions, like the sandbox provider)."""

    def runner(fn: Callable[[Database], Awaitable[T]]) -> T:
        async def go() -> T:
            database = Database(clean_db, pool=False)
            try:
                return await fn(database)
            finally:
                await database.dispose()

        return asyncio.run(go())

    return runner


@dataclass
class Buyer:
    user_id: int
    headers: dict[str, str]
    raw: dict[str, Any] = field(repr=False)


@pytest.fixture
def buyer(make_user: Callable[..., dict[str, Any]]) -> Buyer:
    user = make_user()
    return Buyer(user_id=user["user"]["id"], headers=user["headers"], raw=user)


@pytest.fixture
def make_intent(db_run: DbRun) -> Callable[..., int]:
    """A checkout row (the FK needs one) and a payment intent for it; returns the intent id."""

    def create(buyer_id: int, amount: int = 2500, currency: str = "USD", provider: str = "sandbox") -> int:
        async def go(session: AsyncSession) -> int:
            checkout = Checkout(buyer_id=buyer_id, status="open", address={"name": "Ada"},
                                expires_at=datetime.now(UTC) + timedelta(minutes=15))
            session.add(checkout)
            await session.flush()
            intent = await service.create_intent(session, checkout_id=checkout.id, buyer_id=buyer_id,
                                                 currency=currency, amount=amount, provider_name=provider)
            return intent.id

        intent_id: int = db_run(go)
        return intent_id

    return create


@dataclass
class HookCalls:
    succeeded: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


@pytest.fixture
def hook_calls() -> Iterator[HookCalls]:
    """Handlers registered through ``payments.hooks`` that count their calls (the live server runs in
    this process, so they see its transitions too)."""
    calls = HookCalls()

    async def on_succeeded(db: AsyncSession, intent: PaymentIntent) -> None:
        calls.succeeded.append(intent.id)

    async def on_failed(db: AsyncSession, intent: PaymentIntent) -> None:
        calls.failed.append(intent.id)

    hooks.register_succeeded(on_succeeded)
    hooks.register_failed(on_failed)
    yield calls
    hooks.unregister(on_succeeded)
    hooks.unregister(on_failed)


def intent_row(db_run: DbRun, intent_id: int) -> PaymentIntent:
    async def go(session: AsyncSession) -> PaymentIntent:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None
        return intent

    found: PaymentIntent = db_run(go)
    return found


def sandbox_charges(db_run: DbRun) -> list[SandboxCharge]:
    async def go(session: AsyncSession) -> list[SandboxCharge]:
        return list((await session.execute(select(SandboxCharge).order_by(SandboxCharge.id))).scalars())

    rows: list[SandboxCharge] = db_run(go)
    return rows


def event_types(db_run: DbRun, intent_id: int) -> list[str]:
    async def go(session: AsyncSession) -> list[str]:
        stmt = select(PaymentEvent.type).where(PaymentEvent.intent_id == intent_id).order_by(PaymentEvent.id)
        return list((await session.execute(stmt)).scalars())

    types: list[str] = db_run(go)
    return types


def inbox_count(db_run: DbRun, source: str = "sandbox") -> int:
    async def go(session: AsyncSession) -> int:
        return int((await session.execute(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.source == source))).scalar_one())

    count: int = db_run(go)
    return count
