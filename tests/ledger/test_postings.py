"""R4: splits are exact for every amount and currency exponent; every posting balances; posting
is idempotent by (kind, reference), also when two sessions race."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import Database
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import apply_rate_bps, exponent
from mercato.ledger import postings, service
from mercato.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from mercato.ledger.postings import PaymentSplit, RefundSplit, split_payment, split_refund
from mercato.ledger.service import Posting

T = TypeVar("T")
DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]
CURRENCIES = ["JPY", "USD", "KWD"]  # exponents 0, 2, 3
PROPERTY = hsettings(max_examples=300, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])


@st.composite
def payments(draw: st.DrawFn) -> tuple[str, PaymentSplit]:
    """A currency and a split of up to 10**12 minor units (whole major units and odd minor units alike)."""
    currency = draw(st.sampled_from(CURRENCIES))
    scale = 10 ** exponent(currency)
    amount = st.one_of(st.integers(0, 10**12), st.integers(0, 10**12 // scale).map(lambda v: v * scale),
                       st.integers(0, 1000))
    paid = draw(amount)
    discount = draw(st.one_of(st.just(0), amount))
    tax = draw(st.integers(0, paid + discount))
    fee_bps = draw(st.one_of(st.sampled_from([0, 600, 10_000]), st.integers(0, 10_000)))
    return currency, split_payment(paid, tax, discount, fee_bps)


@PROPERTY
@given(payments())
def test_payment_split_parts_sum_exactly(case: tuple[str, PaymentSplit]) -> None:
    currency, split = case
    base = split.paid + split.platform_discount - split.tax
    assert split.tax + split.fee + split.seller_share == split.paid + split.platform_discount
    assert 0 <= split.fee <= base and split.seller_share >= 0
    lines = postings.payment_postings(7, currency, split)
    assert sum(line.amount for line in lines) == 0
    if lines:
        service.check_postings(currency, lines)


def test_fee_is_six_percent_of_paid_plus_platform_discount_minus_tax() -> None:
    split = split_payment(10_000, 800, 1_000, 600)
    assert (split.fee, split.seller_share) == (612, 9_588)  # 6 % of 10,200
    assert split_payment(1, 0, 0, 10_000).fee == 1
    assert split_payment(8, 0, 0, 600).fee == apply_rate_bps(8, 600) == 0  # 0.48 → 0 (half-even)
    assert split_payment(25, 0, 0, 600).fee == 2  # 1.5 → 2 (half-even)


@pytest.mark.parametrize(("paid", "tax", "discount", "bps"), [(-1, 0, 0, 600), (10, 11, 0, 600), (10, 0, 0, 10_001)])
def test_split_payment_refuses_impossible_inputs(paid: int, tax: int, discount: int, bps: int) -> None:
    with pytest.raises(ValidationFailed) as info:
        split_payment(paid, tax, discount, bps)
    assert info.value.code == "invalid_split"


@st.composite
def refund_sequences(draw: st.DrawFn) -> tuple[str, PaymentSplit, list[int]]:
    currency, split = draw(payments().filter(lambda c: c[1].paid > 0))
    cuts = draw(st.lists(st.integers(1, split.paid), max_size=8, unique=True))
    bounds = [0, *sorted(set(cuts) | {split.paid})]
    return currency, split, [b - a for a, b in itertools.pairwise(bounds)]


@PROPERTY
@given(refund_sequences(), st.booleans())
def test_partial_refunds_add_up_to_the_original_parts(case: tuple[str, PaymentSplit, list[int]],
                                                      settled: bool) -> None:
    currency, split, amounts = case
    assert sum(amounts) == split.paid
    refunded = 0
    total = RefundSplit(0, 0, 0, 0)
    for amount in amounts:
        parts = split_refund(split, refunded, amount)
        assert parts.amount == amount  # the buyer gets exactly what was asked
        lines = postings.refund_postings(7, currency, parts, settled=settled)
        assert sum(line.amount for line in lines) == 0
        service.check_postings(currency, lines)
        refunded += amount
        total = RefundSplit(total.tax + parts.tax, total.fee + parts.fee, total.seller + parts.seller,
                            total.platform_discount + parts.platform_discount)
        # Cumulatively nothing is ever returned beyond its original part, nor below 0.
        assert 0 <= total.tax <= split.tax and 0 <= total.fee <= split.fee
        assert 0 <= total.seller <= split.seller_share and 0 <= total.platform_discount <= split.platform_discount
        # A single partial refund can carry at most a 1-unit rounding correction against a part.
        assert min(parts.tax, parts.fee, parts.seller, parts.platform_discount) >= -1
    assert (total.tax, total.fee, total.seller, total.platform_discount) == (
        split.tax, split.fee, split.seller_share, split.platform_discount)


def test_one_full_refund_returns_the_original_parts() -> None:
    split = split_payment(1999, 160, 300, 600)
    assert split_refund(split, 0, 1999) == RefundSplit(tax=160, fee=128, seller=2011, platform_discount=300)


@pytest.mark.parametrize(("before", "amount", "code"), [
    (0, 0, "invalid_refund_amount"), (0, -5, "invalid_refund_amount"), (0, 1001, "refund_exceeds_paid"),
    (900, 101, "refund_exceeds_paid"), (-1, 10, "refund_exceeds_paid"),
])
def test_split_refund_refuses_bad_amounts(before: int, amount: int, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        split_refund(split_payment(1000, 0, 0, 600), before, amount)
    assert info.value.code == code


@pytest.mark.parametrize("lines", [
    [],
    [Posting("platform:cash:USD", 100), Posting("platform:fees:USD", -99)],
    [Posting("platform:cash:USD", 100), Posting("platform:fees:USD", -100), Posting("shop:1:pending:USD", 0)],
    [Posting("platform:cash:USD", 100), Posting("platform:fees:JPY", -100)],
])
def test_post_refuses_unbalanced_transactions(db_run: DbRun, lines: list[Posting]) -> None:
    async def go(db: AsyncSession) -> None:
        with pytest.raises(ValidationFailed) as info:
            await service.post(db, kind="test", reference="x", currency="USD", postings=lines)
        assert info.value.code == "unbalanced_transaction" and info.value.status == 422

    db_run(go)
    assert db_run(_count_rows) == (0, 0, 0)


@pytest.mark.parametrize("code", ["platform:bank:USD", "shop:x:pending:USD", "shop:1:wallet:USD", "platform:cash:usd",
                                  "platform:cash:XXX", "shop:01:pending:USD", "creator:1:pending"])
def test_unknown_account_codes_are_refused(code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.account_spec(code)
    assert info.value.code == "unknown_ledger_account"


async def _count_rows(db: AsyncSession) -> tuple[int, int, int]:
    accounts, transactions, entries = [
        int((await db.execute(select(func.count()).select_from(model))).scalar_one())
        for model in (LedgerAccount, LedgerTransaction, LedgerEntry)
    ]
    return accounts, transactions, entries


def test_posting_creates_accounts_with_their_kind_and_is_idempotent(db_run: DbRun) -> None:
    split = split_payment(10_000, 800, 1_000, 600)

    async def pay(db: AsyncSession) -> bool:
        txn = await postings.post_order_payment(db, order_id=41, shop_id=3, currency="USD", split=split)
        return txn is not None

    assert db_run(pay) is True
    assert db_run(pay) is False  # same (kind, reference): nothing posted
    assert db_run(_count_rows) == (5, 1, 5)

    async def look(db: AsyncSession) -> dict[str, Any]:
        kinds = {a.code: a.kind for a in (await db.execute(select(LedgerAccount))).scalars()}
        return {"kinds": kinds, "balances": {code: await service.balance(db, code) for code in kinds},
                "trial": await service.trial_balance(db), "shop": await service.shop_balances(db, 3)}

    seen = db_run(look)
    assert seen["kinds"] == {"platform:cash:USD": "asset", "platform:promotions:USD": "expense",
                             "platform:tax_payable:USD": "liability", "platform:fees:USD": "revenue",
                             "shop:3:pending:USD": "liability"}
    assert seen["balances"] == {"platform:cash:USD": 10_000, "platform:promotions:USD": 1_000,
                                "platform:tax_payable:USD": 800, "platform:fees:USD": 612,
                                "shop:3:pending:USD": 9_588}
    assert seen["trial"] == {"USD": 0}
    assert seen["shop"] == {"USD": {"pending": 9_588, "available": 0, "in_transit": 0, "paid_out": 0}}


def test_settlement_moves_what_the_order_left_and_refunds_after_it_claw_back(db_run: DbRun) -> None:
    split = split_payment(5_000, 0, 0, 600)  # fee 300, seller 4,700

    async def scenario(db: AsyncSession) -> dict[str, Any]:
        await postings.post_order_payment(db, order_id=1, shop_id=9, currency="JPY", split=split)
        first = split_refund(split, 0, 1_000)
        await postings.post_refund(db, refund_id=1, order_id=1, shop_id=9, currency="JPY", parts=first)
        moved = await postings.post_settlement(db, order_id=1, shop_id=9, currency="JPY")
        again = await postings.post_settlement(db, order_id=1, shop_id=9, currency="JPY")
        settled_flag = await postings.order_settled(db, 1)
        rest = split_refund(split, 1_000, 4_000)
        await postings.post_refund(db, refund_id=2, order_id=1, shop_id=9, currency="JPY", parts=rest)
        return {"moved": moved, "again": again, "settled": settled_flag, "first": first, "rest": rest,
                "shop": await service.shop_balances(db, 9), "trial": await service.trial_balance(db),
                "revenue": await service.platform_revenue(db)}

    out = db_run(scenario)
    assert out["first"] == RefundSplit(tax=0, fee=60, seller=940, platform_discount=0)
    assert out["moved"] == 4_700 - 940 and out["again"] == 0 and out["settled"] is True
    # The second refund came out of available (settled), which ends at 0: the order is fully refunded.
    assert out["shop"] == {"JPY": {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}}
    assert out["trial"] == {"JPY": 0}
    assert out["revenue"] == {"JPY": {"fees": 0, "promotions": 0, "tax_payable": 0, "cash": 0}}


def test_a_free_order_posts_nothing(db_run: DbRun) -> None:
    async def go(db: AsyncSession) -> object:
        return await postings.post_order_payment(db, order_id=5, shop_id=1, currency="USD",
                                                 split=split_payment(0, 0, 0, 600))

    assert db_run(go) is None
    assert db_run(_count_rows) == (0, 0, 0)


def test_concurrent_duplicate_posts_write_one_transaction(clean_db: str) -> None:
    """The second writer of the same (kind, reference) waits for the first, then posts nothing."""
    lines = [Posting("platform:cash:KWD", 1_234), Posting("shop:2:pending:KWD", -1_234)]

    async def go() -> tuple[bool, bool, tuple[int, int, int]]:
        db = Database(clean_db)
        try:
            async with db.unit_of_work() as first:
                won = await service.post(first, kind="test", reference="race", currency="KWD", postings=lines)

                async def second() -> bool:
                    async with db.unit_of_work() as other:
                        return await service.post(other, kind="test", reference="race", currency="KWD",
                                                  postings=lines) is not None

                task = asyncio.create_task(second())
                await asyncio.sleep(0.3)  # the second is now blocked on the first's write
                assert not task.done()
            lost = await task
            async with db.unit_of_work() as check:
                counts = await _count_rows(check)
            return won is not None, lost, counts
        finally:
            await db.dispose()

    assert asyncio.run(go()) == (True, False, (2, 1, 2))
