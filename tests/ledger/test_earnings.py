"""Creator earnings in the ledger: releases move pending to available once per reference,
balances read from the creator's own accounts, the statement pages newest first, and the
Earnings page's sections come from the registered providers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop
from mercato.kit.errors import ValidationFailed
from mercato.ledger import earnings, service
from mercato.ledger.earnings import EarningsSection
from mercato.ledger.models import LedgerEntry, LedgerTransaction, PayoutMethod
from mercato.ledger.service import Posting, creator_account, platform_account

DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]


async def earn_pending(db: AsyncSession, creator_id: int, amount: int, reference: str,
                       currency: str = "USD") -> None:
    """What an affiliate commission posts: the platform owes the creator, not payable yet."""
    await service.post(db, kind="test_commission", reference=reference, currency=currency, postings=[
        Posting(platform_account("fees", currency), amount),
        Posting(creator_account(creator_id, "pending", currency), -amount),
    ])


async def _counts(db: AsyncSession) -> tuple[int, int]:
    txns = (await db.execute(select(func.count()).select_from(LedgerTransaction))).scalar_one()
    entries = (await db.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
    return int(txns), int(entries)


def test_release_moves_pending_to_available_once_per_reference(db_run: DbRun) -> None:
    async def go(db: AsyncSession) -> dict[str, Any]:
        await earn_pending(db, 7, 1_500, "c1")
        first = await earnings.release(db, creator_id=7, currency="usd", amount=1_000, kind="commission_release",
                                       reference="c1", memo="Commission released", order_id=41, shop_id=3)
        again = await earnings.release(db, creator_id=7, currency="USD", amount=1_000, kind="commission_release",
                                       reference="c1")
        return {"first": first, "again": again, "balances": await earnings.creator_balances(db, 7),
                "other": await earnings.creator_balances(db, 8), "trial": await service.trial_balance(db)}

    out = db_run(go)
    assert out["first"] is not None
    assert (out["first"].kind, out["first"].reference, out["first"].memo) == ("commission_release", "c1",
                                                                              "Commission released")
    assert (out["first"].order_id, out["first"].shop_id) == (41, 3)
    assert out["again"] is None
    assert out["balances"] == {"USD": {"pending": 500, "available": 1_000, "in_transit": 0, "paid_out": 0}}
    assert out["other"] == {}
    assert out["trial"] == {"USD": 0}


def test_release_of_zero_writes_nothing_and_below_zero_is_refused(db_run: DbRun) -> None:
    async def go(db: AsyncSession) -> tuple[Any, str, tuple[int, int]]:
        await earn_pending(db, 7, 100, "c1")
        before = await _counts(db)
        zero = await earnings.release(db, creator_id=7, currency="USD", amount=0, kind="r", reference="z")
        with pytest.raises(ValidationFailed) as refused:
            await earnings.release(db, creator_id=7, currency="USD", amount=-5, kind="r", reference="n")
        assert await _counts(db) == before
        return zero, refused.value.code, before

    zero, code, before = db_run(go)
    assert zero is None
    assert code == "invalid_release_amount"
    assert before == (1, 2)


def test_creator_balances_per_currency_with_clawback_and_paid_out(db_run: DbRun) -> None:
    async def go(db: AsyncSession) -> dict[str, dict[str, int]]:
        await earn_pending(db, 5, 2_000, "a", "JPY")
        await earnings.release(db, creator_id=5, currency="JPY", amount=2_000, kind="rel", reference="a")
        # a payout of the 2,000 requested and sent, then a reversal of the released commission
        await service.post(db, kind="payout_request", reference="payout:1", currency="JPY", postings=[
            Posting(creator_account(5, "available", "JPY"), 2_000),
            Posting(creator_account(5, "payouts_in_transit", "JPY"), -2_000)])
        await service.post(db, kind="payout_sent", reference="payout:1", currency="JPY", postings=[
            Posting(creator_account(5, "payouts_in_transit", "JPY"), 2_000),
            Posting(platform_account("cash", "JPY"), -2_000)])
        await service.post(db, kind="test_reversal", reference="a", currency="JPY", postings=[
            Posting(creator_account(5, "available", "JPY"), 300),
            Posting(platform_account("fees", "JPY"), -300)])
        await earn_pending(db, 5, 40, "b", "KWD")
        return await earnings.creator_balances(db, 5)

    assert db_run(go) == {
        "JPY": {"pending": 0, "available": -300, "in_transit": 0, "paid_out": 2_000},
        "KWD": {"pending": 40, "available": 0, "in_transit": 0, "paid_out": 0},
    }


def test_a_shops_accounts_never_count_as_a_creators(db_run: DbRun) -> None:
    """Shop 5 and creator 5 are different owners with the same id."""
    async def go(db: AsyncSession) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
        await service.post(db, kind="sale", reference="s", currency="USD", postings=[
            Posting(platform_account("cash", "USD"), 900),
            Posting(service.shop_account(5, "available", "USD"), -900)])
        await earn_pending(db, 5, 70, "c")
        return await earnings.creator_balances(db, 5), await service.shop_balances(db, 5)

    creator, shop = db_run(go)
    assert creator == {"USD": {"pending": 70, "available": 0, "in_transit": 0, "paid_out": 0}}
    assert shop == {"USD": {"pending": 0, "available": 900, "in_transit": 0, "paid_out": 0}}


def test_creator_statement_is_newest_first_and_keyset_paged(db_run: DbRun) -> None:
    async def go(db: AsyncSession) -> list[Any]:
        for i in range(3):
            await earn_pending(db, 9, 100 + i, f"c{i}")
        await earnings.release(db, creator_id=9, currency="USD", amount=100, kind="rel", reference="c0",
                               memo="Released c0")
        await earn_pending(db, 10, 555, "other")  # another creator's entry never shows
        first = await earnings.creator_statement(db, 9, None, 3)
        second = await earnings.creator_statement(db, 9, first.next_cursor, 3)
        return [first, second]

    first, second = db_run(go)
    lines = [(line.account, line.amount, line.kind, line.reference) for line in first.items + second.items]
    assert lines == [
        ("available", 100, "rel", "c0"), ("pending", -100, "rel", "c0"),
        ("pending", 102, "test_commission", "c2"), ("pending", 101, "test_commission", "c1"),
        ("pending", 100, "test_commission", "c0"),
    ]
    assert first.items[0].memo == "Released c0"
    assert first.next_cursor is not None and second.next_cursor is None
    ids = [line.entry_id for line in first.items + second.items]
    assert ids == sorted(ids, reverse=True)


def test_earnings_sections_come_from_registered_providers_in_order(db_run: DbRun) -> None:
    seen: list[int] = []

    async def diamonds(db: AsyncSession, user: User) -> list[EarningsSection]:
        seen.append(user.id)
        return [EarningsSection(key="diamonds_by_live", title="Diamonds by LIVE", columns=("LIVE", "Diamonds"),
                                rows=(("Spring haul", "$1.20"),))]

    async def commissions(db: AsyncSession, user: User) -> list[EarningsSection]:
        return [EarningsSection(key="commissions", title="Commissions by product", html="<p>none</p>")]

    earnings.register_earnings_section(diamonds)
    earnings.register_earnings_section(commissions)
    earnings.register_earnings_section(diamonds)  # registering twice changes nothing
    try:
        async def go(db: AsyncSession) -> list[EarningsSection]:
            user = User(email="c@example.com", password_hash="x", display_name="C",
                        date_of_birth=date(1990, 1, 1), niche_tags=[], bio="")
            db.add(user)
            await db.flush()
            return await earnings.earnings_sections(db, user)

        sections = db_run(go)
    finally:
        earnings.unregister_earnings_section(diamonds)
        earnings.unregister_earnings_section(commissions)
    assert [(s.key, s.title) for s in sections] == [("diamonds_by_live", "Diamonds by LIVE"),
                                                    ("commissions", "Commissions by product")]
    assert sections[0].rows == (("Spring haul", "$1.20"),)
    assert sections[1].html == "<p>none</p>"
    assert len(seen) == 1


@pytest.mark.parametrize("payee", [{}, {"shop_id": 1, "creator_id": 1}])
def test_a_payout_method_belongs_to_exactly_one_payee(db_run: DbRun, payee: dict[str, int]) -> None:
    async def go(db: AsyncSession) -> tuple[bool, int]:
        user = User(email="c@example.com", password_hash="x", display_name="C", date_of_birth=date(1990, 1, 1),
                    niche_tags=[], bio="")
        shop = Shop(slug="one-payee", name="One payee", currency="USD")
        db.add_all([user, shop])
        await db.flush()
        ids = {key: (shop.id if key == "shop_id" else user.id) for key in payee}
        refused = False
        try:
            async with db.begin_nested():
                db.add(PayoutMethod(**ids, kind="bank_account", label="C ····1234"))
                await db.flush()
        except IntegrityError:
            refused = True
        count = (await db.execute(select(func.count()).select_from(PayoutMethod))).scalar_one()
        return refused, int(count)

    assert db_run(go) == (True, 0)
