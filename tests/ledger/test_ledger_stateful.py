"""R2: after any mix of payments, partial and full refunds, settlements, payouts (sent at once or
held and released) the ledger balances — per transaction and globally, per currency — shop
balances match an independent model, available goes below 0 only after a refund of a settled
order, entries are never changed or removed, and no (kind, reference) exists twice.

Runs on the real database of the session (SQLite or PostgreSQL), emptied before each example.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, event
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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop, ShopMember
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.ledger import payouts, postings, service
from mercato.ledger.models import LedgerEntry, LedgerTransaction
from mercato.ledger.postings import PaymentSplit
from tests.conftest import _truncate

T = TypeVar("T")
CURRENCIES = ["USD", "JPY", "KWD"]
HOLD = timedelta(hours=48)


@dataclass
class OrderModel:
    shop_id: int
    currency: str
    split: PaymentSplit
    refunded: int = 0
    settled: bool = False
    pending_left: int = 0  # what the order still has on pending


@dataclass
class HeldPayout:
    id: int
    shop_id: int
    currency: str
    amount: int
    release_at: datetime


@dataclass
class ShopModel:
    id: int
    owner_id: int
    method_changed_at: datetime | None = None
    balances: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}))
    clawback: set[str] = field(default_factory=set)  # currencies that had a refund after settlement


@dataclass
class Snapshot:
    unbalanced: list[int]
    trial: dict[str, int]
    balances: dict[int, dict[str, dict[str, int]]]
    entries: dict[int, tuple[int, int, int, str]]
    duplicates: list[tuple[str, str]]


amounts = st.one_of(st.integers(0, 10**12), st.integers(0, 5_000))


class LedgerMachine(RuleBasedStateMachine):
    url: ClassVar[str]
    settings: ClassVar[Settings]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.run(_truncate(self.url))
        self.db = Database(self.url)
        self.now = datetime(2026, 1, 1, 12, tzinfo=UTC)
        self.shops = [ShopModel(id=s, owner_id=u) for s, u in self.run(self._uow(self._make_shops))]
        self.orders: dict[int, OrderModel] = {}
        self.held: list[HeldPayout] = []
        self.next_order = 1
        self.next_refund = 1
        self.entries_seen: dict[int, tuple[int, int, int, str]] = {}
        self._snapshot: Snapshot | None = None

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()

    # --- plumbing ----------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def _uow(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.db.unit_of_work() as session:
            return await fn(session)

    def tx(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        self._snapshot = None
        return self.run(self._uow(fn))

    @staticmethod
    async def _make_shops(db: AsyncSession) -> list[tuple[int, int]]:
        made = []
        for i in (1, 2):
            owner = User(email=f"owner{i}@example.com", password_hash="x", display_name=f"Owner {i}",
                         date_of_birth=date(1990, 1, 1), niche_tags=[], bio="")
            shop = Shop(slug=f"machine-{i}", name=f"Machine {i}", currency="USD")
            db.add_all([owner, shop])
            await db.flush()
            db.add(ShopMember(shop_id=shop.id, user_id=owner.id, role="owner"))
            made.append((shop.id, owner.id))
        await db.flush()
        return made

    def earning(self) -> list[tuple[int, str]]:
        """(shop index, currency) pairs with something available to pay out."""
        return [(i, cur) for i, shop in enumerate(self.shops) for cur, values in sorted(shop.balances.items())
                if values["available"] > 0]

    def refundable(self) -> list[int]:
        return [oid for oid, o in self.orders.items() if o.refunded < o.split.paid]

    def unsettled(self) -> list[int]:
        return [oid for oid, o in self.orders.items() if not o.settled]

    # --- rules -------------------------------------------------------------------------
    # Every history starts with shop 0 having a payout method (fresh or old) and one settled
    # sale, so payouts — sent at once, held, released — happen in most examples. Shop 1 starts
    # without a method.

    @initialize(recent=st.booleans())
    def start_with_a_payout_method(self, recent: bool) -> None:
        self.set_payout_method(0, recent)

    @initialize(currency=st.sampled_from(CURRENCIES), paid=st.integers(1, 10**9))
    def start_with_a_settled_sale(self, currency: str, paid: int) -> None:
        self.pay(0, currency, paid, 0, 1_000, 600)
        self.settle(0)

    @rule(shop=st.integers(0, 1), currency=st.sampled_from(CURRENCIES), paid=amounts,
          discount=st.one_of(st.just(0), amounts), tax_share=st.integers(0, 10_000),
          fee_bps=st.one_of(st.just(600), st.integers(0, 10_000)), retried=st.booleans())
    def pay(self, shop: int, currency: str, paid: int, discount: int, tax_share: int, fee_bps: int,
            retried: bool = False) -> None:
        """A paid order; ``retried``: the payment is posted a second time (a retry), which changes nothing."""
        model = self.shops[shop]
        split = postings.split_payment(paid, (paid + discount) * tax_share // 10_000 // 4, discount, fee_bps)
        order_id = self.next_order
        self.next_order += 1

        async def go(db: AsyncSession) -> object:
            return await postings.post_order_payment(db, order_id=order_id, shop_id=model.id, currency=currency,
                                                     split=split)

        posted = self.tx(go)
        assert (posted is None) == (paid == 0 and discount == 0)
        if retried:
            assert self.tx(go) is None
        self.orders[order_id] = OrderModel(model.id, currency, split, pending_left=split.seller_share)
        model.balances[currency]["pending"] += split.seller_share

    def _refund(self, order_id: int, amount: int) -> None:
        order = self.orders[order_id]
        parts = postings.split_refund(order.split, order.refunded, amount)
        refund_id = self.next_refund
        self.next_refund += 1

        async def go(db: AsyncSession) -> object:
            return await postings.post_refund(db, refund_id=refund_id, order_id=order_id, shop_id=order.shop_id,
                                              currency=order.currency, parts=parts, settled=order.settled)

        assert self.tx(go) is not None
        order.refunded += amount
        shop = next(s for s in self.shops if s.id == order.shop_id)
        if order.settled:
            shop.balances[order.currency]["available"] -= parts.seller
            if parts.seller > 0:
                shop.clawback.add(order.currency)
                event("refund after settlement")
        else:
            shop.balances[order.currency]["pending"] -= parts.seller
            order.pending_left -= parts.seller

    @precondition(lambda self: bool(self.refundable()))
    @rule(pick=st.integers(0, 10**6), share=st.integers(1, 9_999), full=st.booleans())
    def refund(self, pick: int, share: int, full: bool) -> None:
        """A partial refund of a ``share`` of what is left, or a full refund of the rest."""
        order_id = self.refundable()[pick % len(self.refundable())]
        order = self.orders[order_id]
        remaining = order.split.paid - order.refunded
        self._refund(order_id, remaining if full else max(1, remaining * share // 10_000))

    @precondition(lambda self: bool(self.unsettled()))
    @rule(pick=st.integers(0, 10**6))
    def settle(self, pick: int) -> None:
        order_id = self.unsettled()[pick % len(self.unsettled())]
        order = self.orders[order_id]

        async def go(db: AsyncSession) -> int:
            return await postings.post_settlement(db, order_id=order_id, shop_id=order.shop_id,
                                                  currency=order.currency)

        moved = self.tx(go)
        assert moved == order.pending_left
        order.settled = True
        balances = next(s for s in self.shops if s.id == order.shop_id).balances[order.currency]
        balances["pending"] -= moved
        balances["available"] += moved
        order.pending_left = 0

    @rule(shop=st.integers(0, 1), recent=st.sampled_from([False, False, True]))
    def set_payout_method(self, shop: int, recent: bool) -> None:
        model = self.shops[shop]
        changed = self.now if recent else self.now - HOLD - timedelta(hours=1)

        async def go(db: AsyncSession) -> None:
            loaded = await db.get(Shop, model.id)
            assert loaded is not None
            await payouts.set_payout_method(db, loaded, account_holder="Owner", account_number="DE89 3704 0044 0532",
                                            now=changed)

        self.tx(go)
        model.method_changed_at = changed

    @rule(shop=st.integers(0, 1), currency=st.sampled_from(CURRENCIES),
          earnings_first=st.sampled_from([True, True, True, False]))
    def request_payout(self, shop: int, currency: str, earnings_first: bool = False) -> None:
        """A payout of any shop and currency, or (``earnings_first``) of one with money available."""
        if earnings_first and self.earning():
            shop, currency = self.earning()[(shop * 3 + CURRENCIES.index(currency)) % len(self.earning())]
        model = self.shops[shop]
        available = model.balances[currency]["available"]

        async def go(db: AsyncSession) -> tuple[int, str, int]:
            loaded, owner = await db.get(Shop, model.id), await db.get(User, model.owner_id)
            assert loaded is not None and owner is not None
            payout = await payouts.request_payout(db, loaded, currency, owner, self.settings, now=self.now)
            return payout.id, payout.status, payout.amount

        if available <= 0:
            with pytest.raises(Conflict) as conflict:
                self.tx(go)
            assert conflict.value.code == "nothing_to_pay_out"
            event("payout: nothing to pay out" + (" (clawback)" if available < 0 else ""))
            return
        if model.method_changed_at is None:
            with pytest.raises(ValidationFailed) as invalid:
                self.tx(go)
            assert invalid.value.code == "no_payout_method"
            return
        payout_id, status, amount = self.tx(go)
        assert amount == available
        model.balances[currency]["available"] = 0
        if model.method_changed_at + HOLD > self.now:
            assert status == "held"
            event("payout: held")
            model.balances[currency]["in_transit"] += amount
            self.held.append(HeldPayout(payout_id, model.id, currency, amount, model.method_changed_at + HOLD))
        else:
            assert status == "sent"
            event("payout: sent at once")
            model.balances[currency]["paid_out"] += amount

    @rule(hours=st.one_of(st.just(49), st.integers(1, 72)), job_runs=st.booleans())
    def time_passes(self, hours: int, job_runs: bool) -> None:
        """The clock moves on; the release job may run (as it does every minute in production)."""
        self.now += timedelta(hours=hours)
        if job_runs:
            self.release_held()

    @precondition(lambda self: bool(self.held))
    @rule()
    def release_held(self) -> None:
        async def go(db: AsyncSession) -> int:
            return await payouts.release_held_payouts(db, self.settings, now=self.now)

        released = self.tx(go)
        expected = 0
        for held in list(self.held):
            if held.release_at > self.now:
                continue
            shop = next(s for s in self.shops if s.id == held.shop_id)
            assert shop.method_changed_at is not None
            if shop.method_changed_at + HOLD > self.now:  # changed again during the hold: waits longer
                held.release_at = shop.method_changed_at + HOLD
                continue
            self.held.remove(held)
            shop.balances[held.currency]["in_transit"] -= held.amount
            shop.balances[held.currency]["paid_out"] += held.amount
            expected += 1
        assert released == expected
        if released:
            event("held payout released")

    # --- invariants --------------------------------------------------------------------
    # They share one snapshot of the database per step (read in one unit of work).

    async def _read_snapshot(self, db: AsyncSession) -> Snapshot:
        entries = await db.execute(select(LedgerEntry.id, LedgerEntry.transaction_id, LedgerEntry.account_id,
                                          LedgerEntry.amount, LedgerEntry.currency))
        twice = await db.execute(
            select(LedgerTransaction.kind, LedgerTransaction.reference)
            .group_by(LedgerTransaction.kind, LedgerTransaction.reference).having(func.count() > 1))
        return Snapshot(
            unbalanced=await service.unbalanced_transactions(db),
            trial=await service.trial_balance(db),
            balances={shop.id: await service.shop_balances(db, shop.id) for shop in self.shops},
            entries={row[0]: (row[1], row[2], row[3], row[4]) for row in entries},
            duplicates=[(row[0], row[1]) for row in twice],
        )

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = self.run(self._uow(self._read_snapshot))
        return self._snapshot

    @invariant()
    def every_transaction_balances_per_currency(self) -> None:
        assert self.snapshot().unbalanced == []

    @invariant()
    def the_whole_ledger_sums_to_zero_per_currency(self) -> None:
        assert all(total == 0 for total in self.snapshot().trial.values())

    @invariant()
    def shop_balances_match_the_model(self) -> None:
        zero = {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}
        for shop in self.shops:
            stored = self.snapshot().balances[shop.id]
            for currency in CURRENCIES:
                assert stored.get(currency, zero) == shop.balances.get(currency, zero), (shop.id, currency)

    @invariant()
    def available_is_negative_only_after_a_refund_of_a_settled_order(self) -> None:
        for shop in self.shops:
            for currency, values in self.snapshot().balances[shop.id].items():
                assert values["pending"] >= 0 and values["in_transit"] >= 0 and values["paid_out"] >= 0
                if values["available"] < 0:
                    assert currency in shop.clawback, (shop.id, currency, values)

    @invariant()
    def entries_are_append_only(self) -> None:
        current = self.snapshot().entries
        assert len(current) >= len(self.entries_seen)
        for entry_id, values in self.entries_seen.items():
            assert current.get(entry_id) == values, entry_id
        self.entries_seen = current

    @invariant()
    def no_kind_and_reference_twice(self) -> None:
        assert self.snapshot().duplicates == []


def test_the_ledger_balances_after_any_history(clean_db: str, settings: Settings) -> None:
    LedgerMachine.url = clean_db
    LedgerMachine.settings = settings
    run_state_machine_as_test(LedgerMachine, settings=hsettings(
        max_examples=25, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
