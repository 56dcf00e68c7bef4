"""The payments service: crash safety of confirm (R6), refunds, Stripe events, guards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.payments import service
from mercato.payments.models import PaymentIntent, SandboxCharge
from mercato.payments.provider import CardInput, PaymentProviderError, WebhookEvent
from mercato.payments.sandbox import SandboxProvider
from mercato.payments.stripe import StripeProvider
from tests.payments.conftest import (
    NEXT_YEAR,
    REQUIRES_ACTION,
    SUCCESS,
    Buyer,
    DbRun,
    HookCalls,
    event_types,
    intent_row,
    sandbox_charges,
)

Runner = Callable[[Callable[[Database], Any]], Any]


def card(number: str = SUCCESS) -> CardInput:
    return CardInput(number=number, exp_month=12, exp_year=NEXT_YEAR, cvc="123", name="Ada")


def test_r6_a_crash_after_the_charge_is_retried_with_the_same_key(
    with_database: Runner, settings: Settings, buyer: Buyer, make_intent: Callable[..., int], hook_calls: HookCalls,
    db_run: DbRun,
) -> None:
    intent_id = make_intent(buyer.user_id, amount=1800)

    async def crash_then_retry(database: Database) -> tuple[list[str], list[str]]:
        provider = SandboxProvider(settings, database)
        async with database.writer() as session:  # the request that dies before its commit
            intent = await session.get(PaymentIntent, intent_id)
            assert intent is not None
            await service.confirm(session, intent, card(), provider=provider, settings=settings)
            assert intent.status == "succeeded"
            await session.rollback()
        async with database.unit_of_work() as session:
            after_crash = list((await session.execute(select(SandboxCharge.idempotency_key))).scalars())
        async with database.unit_of_work() as session:  # the retry
            intent = await session.get(PaymentIntent, intent_id)
            assert intent is not None and intent.attempts == 0
            await service.confirm(session, intent, card(), provider=provider, settings=settings)
        async with database.unit_of_work() as session:
            after_retry = list((await session.execute(select(SandboxCharge.idempotency_key))).scalars())
        return after_crash, after_retry

    after_crash, after_retry = with_database(crash_then_retry)
    key = service.idempotency_key_for(intent_id, 1)
    # PostgreSQL: the provider kept the charge, the retry got it back. SQLite: it rode the caller's
    # transaction (single writer) and vanished with it, so the retry made the one charge.
    assert after_crash == ([] if settings.is_sqlite else [key])
    assert after_retry == [key]
    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.attempts, intent.provider_ref) == ("succeeded", 1,
                                                                     f"sbx_ch_{sandbox_charges(db_run)[0].id}")
    assert event_types(db_run, intent_id) == ["created", "attempted", "succeeded"]
    assert len(hook_calls.succeeded) == 2  # one per transaction; the first one was rolled back with its effects


def test_concurrent_confirms_of_one_intent_charge_once(with_database: Runner, settings: Settings, buyer: Buyer,
                                                       make_intent: Callable[..., int], db_run: DbRun) -> None:
    intent_id = make_intent(buyer.user_id)

    async def race(database: Database) -> list[str]:
        provider = SandboxProvider(settings, database)

        async def attempt() -> str:
            try:
                async with database.unit_of_work() as session:
                    intent = await session.get(PaymentIntent, intent_id)
                    assert intent is not None
                    await service.confirm(session, intent, card(), provider=provider, settings=settings)
                    return intent.status
            except Conflict as exc:
                return exc.code

        return list(await asyncio.gather(*[attempt() for _ in range(5)]))

    outcomes = with_database(race)
    assert outcomes.count("succeeded") == 1
    assert set(outcomes) - {"succeeded"} <= {"payment_in_progress", "payment_not_confirmable"}
    assert len(sandbox_charges(db_run)) == 1
    assert intent_row(db_run, intent_id).attempts == 1


def _pay(db_run: DbRun, settings: Settings, intent_id: int) -> None:
    async def go(session: AsyncSession) -> None:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None
        await service.confirm(session, intent, card(), provider=SandboxProvider(settings), settings=settings)

    db_run(go)


def test_refunds_partial_then_full_never_more(db_run: DbRun, settings: Settings, buyer: Buyer,
                                              make_intent: Callable[..., int]) -> None:
    intent_id = make_intent(buyer.user_id, amount=1000)
    _pay(db_run, settings, intent_id)

    async def refund(session: AsyncSession, amount: int, key: str) -> Any:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None
        return await service.refund(session, intent, amount, provider=SandboxProvider(settings), idempotency_key=key)

    first = db_run(lambda s: refund(s, 400, "refund_1"))
    assert (first.status, first.amount) == ("succeeded", 400) and first.provider_ref
    again = db_run(lambda s: refund(s, 400, "refund_1"))  # same key: the same refund, no second one
    assert again.provider_ref == first.provider_ref
    assert intent_row(db_run, intent_id).refunded == 400

    with pytest.raises(ValidationFailed) as too_much:
        db_run(lambda s: refund(s, 601, "refund_2"))
    assert too_much.value.code == "refund_too_large" and too_much.value.details == {"field": "amount", "max": 600}
    with pytest.raises(ValidationFailed):
        db_run(lambda s: refund(s, 0, "refund_3"))
    rest = db_run(lambda s: refund(s, 600, "refund_4"))
    assert rest.status == "succeeded"
    with pytest.raises(ValidationFailed):
        db_run(lambda s: refund(s, 1, "refund_5"))

    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.refunded) == ("succeeded", 1000)
    assert sandbox_charges(db_run)[0].refunded == 1000
    assert event_types(db_run, intent_id) == ["created", "attempted", "succeeded", "refunded", "refunded"]


def test_refund_needs_a_paid_intent(db_run: DbRun, settings: Settings, buyer: Buyer,
                                    make_intent: Callable[..., int]) -> None:
    intent_id = make_intent(buyer.user_id)

    async def go(session: AsyncSession) -> None:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None
        await service.refund(session, intent, 100, provider=SandboxProvider(settings), idempotency_key="r")

    with pytest.raises(Conflict) as caught:
        db_run(go)
    assert caught.value.code == "payment_not_refundable"


def test_guards_on_create_and_confirm(db_run: DbRun, settings: Settings, buyer: Buyer,
                                      make_intent: Callable[..., int]) -> None:
    with pytest.raises(ValidationFailed):
        make_intent(buyer.user_id, amount=-1)
    with pytest.raises(ValidationFailed):
        make_intent(buyer.user_id, currency="XXX")
    stripe_intent = make_intent(buyer.user_id, provider="stripe")

    async def wrong_provider(session: AsyncSession) -> None:
        intent = await session.get(PaymentIntent, stripe_intent)
        assert intent is not None
        await service.confirm(session, intent, card(), provider=SandboxProvider(settings), settings=settings)

    with pytest.raises(Conflict) as caught:
        db_run(wrong_provider)
    assert caught.value.code == "payment_provider_mismatch"

    free = make_intent(buyer.user_id, amount=0)
    _pay(db_run, settings, free)
    assert intent_row(db_run, free).status == "succeeded"
    assert sandbox_charges(db_run) == []  # nothing to charge


def test_stripe_error_rolls_back_so_the_retry_reuses_the_key(db_run: DbRun, settings: Settings, buyer: Buyer,
                                                             make_intent: Callable[..., int]) -> None:
    intent_id = make_intent(buyer.user_id, provider="stripe")
    seen: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["idempotency-key"])
        return httpx.Response(500, json={"error": {"type": "api_error", "message": "Stripe is down"}})

    provider = StripeProvider(settings.model_copy(update={"stripe_api_key": "sk_test_x"}),
                              transport=httpx.MockTransport(down))

    async def go(session: AsyncSession) -> None:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None
        await service.confirm(session, intent, card(), provider=provider, settings=settings)

    for _ in range(2):
        with pytest.raises(PaymentProviderError):
            db_run(go)
    expected = service.idempotency_key_for(intent_id, 1)
    assert seen == [expected, expected]
    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.attempts) == ("requires_payment_method", 0)


def test_stripe_requires_action_then_webhook(db_run: DbRun, settings: Settings, buyer: Buyer,
                                             make_intent: Callable[..., int], hook_calls: HookCalls) -> None:
    intent_id = make_intent(buyer.user_id, provider="stripe")
    pi = {"id": "pi_3PqZ9", "object": "payment_intent", "status": "requires_action",
          "next_action": {"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds/x"}},
          "payment_method": {"card": {"brand": "visa", "last4": "3184"}}}
    provider = StripeProvider(settings.model_copy(update={"stripe_api_key": "sk_test_x"}),
                              transport=httpx.MockTransport(lambda request: httpx.Response(200, json=pi)))

    async def confirm(session: AsyncSession) -> tuple[str, Any]:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None
        await service.confirm(session, intent, card(REQUIRES_ACTION), provider=provider, settings=settings)
        return intent.status, intent.next_action

    assert db_run(confirm) == ("requires_action", {"type": "redirect", "url": "https://hooks.stripe.com/3ds/x"})

    async def deliver(session: AsyncSession, event: WebhookEvent) -> bool:
        return await service.handle_webhook(session, "stripe", event)

    succeeded = WebhookEvent(id="evt_1", type="payment.succeeded", provider_ref="pi_3PqZ9",
                             data={"reference": f"pi_{intent_id}"})
    failed_late = WebhookEvent(id="evt_2", type="payment.failed", provider_ref="pi_3PqZ9",
                               data={"reference": f"pi_{intent_id}", "error_code": "card_declined"})
    answers = []
    for event in (succeeded, succeeded, failed_late):
        answers.append(db_run(lambda session, event=event: deliver(session, event)))  # type: ignore[misc]
    assert answers == [True, False, True]
    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.card_last4, intent.card_brand) == ("succeeded", "3184", "visa")
    assert hook_calls.succeeded == [intent_id] and hook_calls.failed == []
    # an event about another payment (or a stale attempt) leaves this one alone
    stray = WebhookEvent(id="evt_3", type="payment.failed", provider_ref="pi_other",
                         data={"reference": f"pi_{intent_id}"})
    assert db_run(lambda s: deliver(s, stray)) is True
    assert intent_row(db_run, intent_id).status == "succeeded" and hook_calls.failed == []
