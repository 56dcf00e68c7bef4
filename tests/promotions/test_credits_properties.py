"""Shopping credits' money rules as properties (hypothesis):

* the pure splits — an order paid partly with credits posts balanced lines, the seller's share,
  the fee and the tax are those of the same order paid by card, and any sequence of partial
  refunds ending with the whole amount returns exactly the credits used (each step ≥ 0 to the
  card and to the credits);
* the ledger itself — after any history of grants, checkouts holding credits, payments, partial
  and full refunds and expiries, on the real database: the trial balance is 0, no user's credits
  go below 0, each balance equals an independent model, and nothing is left held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.ledger import postings
from mercato.ledger import service as ledger
from mercato.promotions import credits
from tests.conftest import _truncate

T = TypeVar("T")
FEE_BPS = 600
PROPERTY = hsettings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def paid_with_credits(draw: st.DrawFn) -> tuple[postings.PaymentSplit, list[int]]:
    """A payment with tax, platform discount and credits, and refunds that add up to all of it."""
    paid = draw(st.one_of(st.integers(1, 10**12), st.integers(1, 5000)))
    tax = draw(st.integers(0, paid))
    discount = draw(st.integers(0, 10**6))
    used = draw(st.one_of(st.integers(0, paid), st.just(paid), st.just(0)))
    cuts = sorted(draw(st.lists(st.integers(1, paid - 1), max_size=5, unique=True))) if paid > 1 else []
    refunds = [b - a for a, b in zip([0, *cuts], [*cuts, paid], strict=True)]
    return postings.split_payment(paid, tax, discount, FEE_BPS, used), refunds


@PROPERTY
@given(paid_with_credits())
def test_credits_change_no_share_and_full_refunds_return_exactly_the_credits(
        case: tuple[postings.PaymentSplit, list[int]]) -> None:
    split, refunds = case
    by_card = postings.split_payment(split.paid, split.tax, split.platform_discount, FEE_BPS)
    assert (split.fee, split.seller_share, split.tax) == (by_card.fee, by_card.seller_share, by_card.tax)
    lines = postings.payment_postings(1, "USD", split)
    assert sum(line.amount for line in lines) == 0
    assert dict((line.account, line.amount) for line in lines).get("platform:credits_held:USD", 0) == split.credits
    refunded, to_credits, to_card = 0, 0, 0
    for amount in refunds:
        parts = postings.split_refund(split, refunded, amount)
        assert 0 <= parts.credits <= amount and parts.card == amount - parts.credits >= 0
        refund_lines = postings.refund_postings(1, "USD", parts, settled=False, buyer_id=7)
        assert sum(line.amount for line in refund_lines) == 0
        refunded += amount
        to_credits += parts.credits
        to_card += parts.card
        assert 0 <= to_credits <= split.credits
    assert (to_credits, to_card) == (split.credits, split.paid - split.credits)


def test_a_refund_giving_credits_back_needs_the_buyer() -> None:
    split = postings.split_payment(1000, 0, 0, FEE_BPS, 400)
    parts = postings.split_refund(split, 0, 500)
    assert parts.credits == 200
    with pytest.raises(ValidationFailed) as info:
        postings.refund_postings(1, "USD", parts, settled=False)
    assert info.value.code == "invalid_split"


@dataclass
class HeldOrder:
    id: int
    user: int
    total: int
    credits: int
    paid: bool = False
    refunded: int = 0
    returned: int = 0  # credits given back by its refunds


class CreditsMachine(RuleBasedStateMachine):
    url: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.run(_truncate(self.url))
        self.db = Database(self.url)
        self.users: list[int] = []
        self.shop = 0
        self.model: dict[int, int] = {}
        self.orders: list[HeldOrder] = []
        self.next_order = 1
        self.next_ref = 1

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def tx(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self.db.unit_of_work() as session:
                return await fn(session)

        return self.run(go())

    @initialize()
    def people(self) -> None:
        async def make(db: AsyncSession) -> tuple[list[int], int]:
            users = [User(email=f"c{i}@example.com", password_hash="x", display_name=f"C{i}",
                          date_of_birth=date(1990, 1, 1), niche_tags=[], bio="") for i in (1, 2)]
            shop = Shop(slug="credits-machine", name="Credits machine", currency="USD")
            db.add_all([*users, shop])
            await db.flush()
            return [u.id for u in users], shop.id

        self.users, self.shop = self.tx(make)
        self.model = {u: 0 for u in self.users}

    @rule(who=st.integers(0, 1), amount=st.integers(1, 5000), again=st.booleans())
    def grant(self, who: int, amount: int, again: bool) -> None:
        user = self.users[who]
        ref = f"g:{self.next_ref - 1 if again and self.next_ref > 1 else self.next_ref}"
        if not (again and self.next_ref > 1):
            self.next_ref += 1
        txn = self.tx(lambda db: credits.grant(db, user_id=user, amount=amount, currency="USD", reason="r",
                                               reference=ref))
        if txn is not None:
            self.model[user] += amount

    @rule(who=st.integers(0, 1), totals=st.lists(st.integers(0, 4000), min_size=1, max_size=3),
          wanted=st.one_of(st.none(), st.integers(0, 6000)))
    def checkout(self, who: int, totals: list[int], wanted: int | None) -> None:
        user = self.users[who]
        ids = list(range(self.next_order, self.next_order + len(totals)))
        self.next_order += len(totals)

        async def place(db: AsyncSession) -> list[int]:
            parts = await credits.plan_spend(db, user_id=user, currency="USD", payable=totals, wanted=wanted)
            for order_id, part in zip(ids, parts, strict=True):
                await credits.hold(db, user_id=user, order_id=order_id, shop_id=self.shop, currency="USD",
                                   amount=part)
            return parts

        try:
            parts = self.tx(place)
        except Conflict as exc:
            assert exc.code == "credits_insufficient" and wanted is not None and wanted > self.model[user]
            return
        except ValidationFailed as exc:
            assert exc.code == "credits_amount_invalid" and wanted is not None and wanted > sum(totals)
            return
        expected = min(sum(totals), self.model[user]) if wanted is None else wanted
        assert sum(parts) == expected and all(0 <= p <= t for p, t in zip(parts, totals, strict=True))
        self.model[user] -= expected
        self.orders += [HeldOrder(id=i, user=user, total=t, credits=p)
                        for i, t, p in zip(ids, totals, parts, strict=True) if t > 0]

    def _open(self) -> list[HeldOrder]:
        return [o for o in self.orders if not o.paid]

    def _paid(self) -> list[HeldOrder]:
        return [o for o in self.orders if o.paid and o.refunded < o.total]

    @precondition(lambda self: self._open())
    @rule(pick=st.integers(0, 100), pay=st.booleans())
    def pay_or_expire(self, pick: int, pay: bool) -> None:
        order = self._open()[pick % len(self._open())]
        if pay:
            split = postings.split_payment(order.total, 0, 0, FEE_BPS, order.credits)
            self.tx(lambda db: postings.post_order_payment(db, order_id=order.id, shop_id=self.shop, currency="USD",
                                                           split=split))
            order.paid = True
        else:
            self.tx(lambda db: credits.release(db, user_id=order.user, order_id=order.id, shop_id=self.shop,
                                               currency="USD", amount=order.credits))
            self.model[order.user] += order.credits
            self.orders.remove(order)

    @precondition(lambda self: self._paid())
    @rule(pick=st.integers(0, 100), share=st.integers(1, 100))
    def refund(self, pick: int, share: int) -> None:
        order = self._paid()[pick % len(self._paid())]
        left = order.total - order.refunded
        amount = max(1, left * share // 100)
        split = postings.split_payment(order.total, 0, 0, FEE_BPS, order.credits)
        parts = postings.split_refund(split, order.refunded, amount)
        ref = self.next_ref
        self.next_ref += 1
        self.tx(lambda db: postings.post_refund(db, refund_id=ref, order_id=order.id, shop_id=self.shop,
                                                currency="USD", parts=parts, settled=False, buyer_id=order.user))
        order.refunded += amount
        order.returned += parts.credits
        self.model[order.user] += parts.credits

    @invariant()
    def books_balance_and_credits_never_go_below_zero(self) -> None:
        if not self.users:
            return

        async def read(db: AsyncSession) -> tuple[dict[str, int], dict[int, int], int]:
            balances = {u: await credits.balance(db, u, "USD") for u in self.users}
            return await ledger.trial_balance(db), balances, await ledger.balance(db, "platform:credits_held:USD")

        trial, balances, held = self.tx(read)
        assert all(v == 0 for v in trial.values())
        assert all(v >= 0 for v in balances.values())
        assert balances == self.model
        assert held == sum(o.credits for o in self.orders if not o.paid)

    @invariant()
    def fully_refunded_orders_returned_exactly_their_credits(self) -> None:
        for order in self.orders:
            assert 0 <= order.returned <= order.credits
            if order.paid and order.refunded == order.total:
                assert order.returned == order.credits


def test_the_credits_ledger_holds_after_any_history(clean_db: str) -> None:
    CreditsMachine.url = clean_db
    run_state_machine_as_test(CreditsMachine, settings=hsettings(
        max_examples=15, stateful_step_count=15, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
