"""The sandbox provider: test cards, card validation, idempotent charges in its own transaction, refunds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.payments import sandbox
from mercato.payments.models import SandboxCharge
from mercato.payments.provider import CardInput, CardInvalid, ChargeResult, card_brand, luhn_ok, validate_card
from mercato.payments.sandbox import SandboxProvider
from tests.payments.conftest import DECLINED, INSUFFICIENT, NEXT_YEAR, OTHER_VALID, REQUIRES_ACTION, SUCCESS

Runner = Callable[[Callable[[Database], Any]], Any]


def card(number: str = SUCCESS, *, month: int = 12, year: int = NEXT_YEAR, cvc: str = "123") -> CardInput:
    return CardInput(number=number, exp_month=month, exp_year=year, cvc=cvc, name="Ada Buyer")


# --- validation ------------------------------------------------------------------------------


def test_luhn_and_brands() -> None:
    assert luhn_ok("4242424242424242") and luhn_ok("4000002760003184") and luhn_ok("378282246310005")
    assert not luhn_ok("4242424242424241")
    assert [card_brand(n) for n in ("4242424242424242", "5555555555554444", "2223003122003222",
                                    "378282246310005", "6011111111111117", "3056930009020004")] == [
        "visa", "mastercard", "mastercard", "amex", "discover", "unknown"]


@pytest.mark.parametrize(("number", "month", "year", "cvc", "field"), [
    ("4242 4242 4242 4241", 12, NEXT_YEAR, "123", "card_number"),  # Luhn
    ("4242", 12, NEXT_YEAR, "123", "card_number"),  # too short
    ("4242-4242-4242-424x", 12, NEXT_YEAR, "123", "card_number"),  # not digits
    ("", 12, NEXT_YEAR, "123", "card_number"),
    (SUCCESS, 13, NEXT_YEAR, "123", "exp_month"),
    (SUCCESS, 0, NEXT_YEAR, "123", "exp_month"),
    (SUCCESS, 12, 2020, "123", "exp_year"),  # expired
    (SUCCESS, 12, NEXT_YEAR + 30, "123", "exp_year"),
    (SUCCESS, 12, NEXT_YEAR, "12", "cvc"),
    (SUCCESS, 12, NEXT_YEAR, "1234", "cvc"),  # 4 digits only for amex
    (SUCCESS, 12, NEXT_YEAR, "12a", "cvc"),
    ("3782 822463 10005", 12, NEXT_YEAR, "123", "cvc"),  # amex wants 4
])
def test_invalid_cards_name_the_field(number: str, month: int, year: int, cvc: str, field: str) -> None:
    with pytest.raises(CardInvalid) as caught:
        validate_card(card(number, month=month, year=year, cvc=cvc))
    assert caught.value.status == 422
    assert caught.value.code == "invalid_card"
    assert caught.value.details == {"field": field}


def test_valid_cards_pass_and_this_month_is_not_expired() -> None:
    now = datetime.now(UTC)
    validate_card(card(SUCCESS, month=now.month, year=now.year))
    validate_card(card("3782 822463 10005", cvc="1234"))
    validate_card(card("4242-4242-4242-4242"))


def test_card_input_never_shows_the_number() -> None:
    c = card(SUCCESS, cvc="987")
    assert "4242424242424242" not in repr(c) and "4242 4242 4242 4242" not in repr(c)
    assert "987" not in repr(c)
    assert (c.last4, c.brand) == ("4242", "visa")


# --- charges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "expected"), [
    (SUCCESS, ("succeeded", None, "visa")),
    (OTHER_VALID, ("succeeded", None, "mastercard")),
    (DECLINED, ("declined", "card_declined", "visa")),
    (INSUFFICIENT, ("insufficient_funds", "insufficient_funds", "visa")),
    (REQUIRES_ACTION, ("requires_action", None, "visa")),
])
def test_each_test_card_has_its_outcome(with_database: Runner, settings: Settings, number: str,
                                        expected: tuple[str, str | None, str]) -> None:
    async def go(database: Database) -> tuple[ChargeResult, list[SandboxCharge]]:
        provider = SandboxProvider(settings, database)
        result = await provider.charge(idempotency_key="k1", reference="pi_1", amount=1999, currency="usd",
                                       card=card(number))
        async with database.unit_of_work() as session:
            rows = list((await session.execute(select(SandboxCharge))).scalars())
        return result, rows

    result, rows = with_database(go)
    assert (result.status, result.error_code, result.card_brand) == expected
    assert result.card_last4 == number[-4:]
    assert len(rows) == 1
    row = rows[0]
    assert result.provider_ref == f"sbx_ch_{row.id}"
    assert (row.idempotency_key, row.reference, row.amount, row.currency, row.card_last4) == (
        "k1", "pi_1", 1999, "USD", number[-4:])
    if expected[0] == "requires_action":
        assert row.action_token and result.next_action == {"type": "redirect",
                                                           "url": f"/sandbox/actions/{row.action_token}"}
    else:
        assert row.action_token is None and result.next_action is None
    if expected[1]:
        assert result.error_message


def test_invalid_card_records_nothing(with_database: Runner, settings: Settings) -> None:
    async def go(database: Database) -> int:
        provider = SandboxProvider(settings, database)
        with pytest.raises(CardInvalid):
            await provider.charge(idempotency_key="k1", reference="pi_1", amount=100, currency="USD",
                                  card=card("4242 4242 4242 4241"))
        async with database.unit_of_work() as session:
            return len(list((await session.execute(select(SandboxCharge))).scalars()))

    assert with_database(go) == 0


def test_same_key_same_charge_even_concurrently(with_database: Runner, settings: Settings) -> None:
    async def go(database: Database) -> tuple[list[ChargeResult], int]:
        provider = SandboxProvider(settings, database)
        first = await provider.charge(idempotency_key="pi_7_a1", reference="pi_7", amount=500, currency="USD",
                                      card=card(SUCCESS))
        again = await provider.charge(idempotency_key="pi_7_a1", reference="pi_7", amount=500, currency="USD",
                                      card=card(SUCCESS))
        burst = await asyncio.gather(*[
            provider.charge(idempotency_key="pi_8_a1", reference="pi_8", amount=700, currency="USD",
                            card=card(DECLINED))
            for _ in range(6)])
        async with database.unit_of_work() as session:
            count = len(list((await session.execute(select(SandboxCharge))).scalars()))
        return [first, again, *burst], count

    results, count = with_database(go)
    assert count == 2
    assert results[0] == results[1] and results[0].status == "succeeded"
    assert all(r == results[2] for r in results[2:]) and results[2].status == "declined"


def test_a_retry_gets_the_stored_charge_whatever_card_it_carries(with_database: Runner, settings: Settings) -> None:
    """After a crash the money already moved with the first card; the retry must not charge again."""

    async def go(database: Database) -> tuple[ChargeResult, ChargeResult, ChargeResult]:
        provider = SandboxProvider(settings, database)
        first = await provider.charge(idempotency_key="k", reference="pi_1", amount=500, currency="USD",
                                      card=card(SUCCESS))
        other_card = await provider.charge(idempotency_key="k", reference="pi_1", amount=500, currency="USD",
                                           card=card(DECLINED))
        other_amount = await provider.charge(idempotency_key="k", reference="pi_1", amount=501, currency="USD",
                                             card=card(SUCCESS))
        return first, other_card, other_amount

    first, other_card, other_amount = with_database(go)
    assert other_card.status == "succeeded" and other_card.provider_ref == first.provider_ref
    assert other_amount.status == "error" and other_amount.error_code == "idempotency_key_reused"


def test_the_charge_is_committed_on_its_own(with_database: Runner, settings: Settings) -> None:
    """Like a remote provider: the charge survives a caller that never commits. On SQLite, inside a
    caller's write transaction, it joins that transaction instead (one writer; see sandbox.py)."""

    async def go(database: Database) -> tuple[int, int]:
        provider = SandboxProvider(settings, database)
        await provider.charge(idempotency_key="alone", reference="pi_1", amount=500, currency="USD",
                              card=card(SUCCESS))
        async with database.writer() as caller:
            await caller.execute(select(1))  # the caller's transaction is open (SQLite: holds the lock)
            with sandbox.caller_session(caller):
                await provider.charge(idempotency_key="inside", reference="pi_2", amount=500, currency="USD",
                                      card=card(SUCCESS))
            await caller.rollback()  # the caller "crashes"
        async with database.unit_of_work() as session:
            keys = set((await session.execute(select(SandboxCharge.idempotency_key))).scalars())
        return int("alone" in keys), int("inside" in keys)

    alone, inside = with_database(go)
    assert alone == 1
    assert inside == (0 if settings.is_sqlite else 1)


def test_refunds_partial_and_full_never_beyond_the_charge(with_database: Runner, settings: Settings) -> None:
    async def go(database: Database) -> tuple[list[str], int]:
        provider = SandboxProvider(settings, database)
        charged = await provider.charge(idempotency_key="k", reference="pi_1", amount=1000, currency="USD",
                                        card=card(SUCCESS))
        declined = await provider.charge(idempotency_key="k2", reference="pi_2", amount=1000, currency="USD",
                                         card=card(DECLINED))
        assert charged.provider_ref and declined.provider_ref
        outcomes: list[str] = []
        for amount in (300, 700, 1):
            result = await provider.refund(idempotency_key=f"r{amount}", provider_ref=charged.provider_ref,
                                           amount=amount, currency="USD")
            outcomes.append(result.status)
        outcomes.append((await provider.refund(idempotency_key="r", provider_ref=declined.provider_ref, amount=1,
                                               currency="USD")).status)
        outcomes.append((await provider.refund(idempotency_key="r", provider_ref="sbx_ch_999999", amount=1,
                                               currency="USD")).status)
        async with database.unit_of_work() as session:
            row = (await session.execute(select(SandboxCharge).where(SandboxCharge.idempotency_key == "k"))
                   ).scalar_one()
        return outcomes, row.refunded

    outcomes, refunded = with_database(go)
    assert outcomes == ["succeeded", "succeeded", "failed", "failed", "failed"]
    assert refunded == 1000


def test_action_resolution_schedules_one_webhook(db_run: Any, with_database: Runner, settings: Settings) -> None:
    async def charge(database: Database) -> ChargeResult:
        return await SandboxProvider(settings, database).charge(
            idempotency_key="k", reference="pi_1", amount=1000, currency="USD", card=card(REQUIRES_ACTION))

    result = with_database(charge)
    assert result.next_action is not None
    token = result.next_action["url"].rsplit("/", 1)[1]

    async def approve(session: AsyncSession) -> tuple[str, Any, Any]:
        before = datetime.now(UTC)
        row = await sandbox.resolve_action(session, token, approve=True, settings=settings)
        assert row is not None
        again = await sandbox.resolve_action(session, token, approve=False, settings=settings)
        assert again is not None and again.status == "succeeded"  # answering twice changes nothing
        assert row.webhook_due_at is not None and row.webhook_due_at >= before
        return row.status, row.webhook_due_at, row.webhook_sent_at

    status, due, sent = db_run(approve)
    assert status == "succeeded" and due is not None and sent is None
    assert db_run(lambda s: sandbox.resolve_action(s, "no-such-token", approve=True, settings=settings)) is None
