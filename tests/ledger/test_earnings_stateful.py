"""Creator earnings under any history: commissions credited to pending, releases (retried),
diamonds straight to available, clawbacks that drive available below 0 after a release,
payouts sent at once or held after a payout-method change and released by the job. After every
step the ledger sums to 0 per currency, every balance matches an independent model, a payout
is exactly what was available when requested (a clawback netted from it), payouts below the
minimum are refused, and no payout is ever sent twice.

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
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.ledger import earnings, payouts, service
from mercato.ledger.models import LedgerTransaction, Payout
from mercato.ledger.service import Posting, creator_account, platform_account
from tests.conftest import _truncate

T = TypeVar("T")
CURRENCIES = ["USD", "JPY", "KWD"]
HOLD = timedelta(hours=48)
MINIMUM = 1000


@dataclass
class Commission:
    creator: int  # index
    currency: str
    amount: int
    released: bool = False


@dataclass
class CreatorModel:
    id: int
    method_changed_at: datetime | None = None
    balances: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}))


@dataclass
class HeldPayout:
    id: int
    creator: int
    currency: str
    amount: int
    release_at: datetime


@dataclass
class Snapshot:
    trial: dict[str, int]
    unbalanced: list[int]
    balances: dict[int, dict[str, dict[str, int]]]
    duplicates: list[tuple[str, str]]
    sent_twice: list[str]
    payouts: dict[int, tuple[str, int]]  # id → (status, amount)


amounts = st.one_of(st.integers(1, 5_000), st.integers(1, 10**12))


class EarningsMachine(RuleBasedStateMachine):
    url: ClassVar[str]
    settings: ClassVar[Settings]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.run(_truncate(self.url))
        self.db = Database(self.url)
        self.now = datetime(2026, 1, 1, 12, tzinfo=UTC)
        self.creators = [CreatorModel(id=i) for i in self.run(self._uow(self._make_creators))]
        self.commissions: dict[int, Commission] = {}
        self.held: list[HeldPayout] = []
        self.requested: dict[int, int] = {}  # payout id → amount at request
        self.next_ref = 1
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
    async def _make_creators(db: AsyncSession) -> list[int]:
        made = []
        for i in (1, 2):
            user = User(email=f"creator{i}@example.com", password_hash="x", display_name=f"Creator {i}",
                        date_of_birth=date(1990, 1, 1), niche_tags=[], bio="")
            db.add(user)
            await db.flush()
            made.append(user.id)
        return made

    def ref(self) -> str:
        self.next_ref += 1
        return str(self.next_ref)

    def unreleased(self) -> list[int]:
        return [ref for ref, c in self.commissions.items() if not c.released]

    def released(self) -> list[int]:
        return [ref for ref, c in self.commissions.items() if c.released]

    # --- rules -------------------------------------------------------------------------

    @initialize(recent=st.booleans())
    def start_with_a_payout_method(self, recent: bool) -> None:
        self.set_payout_method(0, recent)

    @initialize(currency=st.sampled_from(CURRENCIES), amount=st.integers(MINIMUM, 10**9))
    def start_with_a_released_commission(self, currency: str, amount: int) -> None:
        """Creator 0 starts with payable commission money, so payouts and clawbacks after a
        payout happen in most examples."""
        self.commission(0, currency, amount)
        self.release(0, False)

    @rule(creator=st.integers(0, 1), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def commission(self, creator: int, currency: str, amount: int) -> None:
        """An affiliate commission: the platform owes it, not payable before the order settles."""
        model = self.creators[creator]
        ref = int(self.ref())

        async def go(db: AsyncSession) -> None:
            await service.post(db, kind="test_commission", reference=str(ref), currency=currency, postings=[
                Posting(platform_account("cash", currency), amount),
                Posting(creator_account(model.id, "pending", currency), -amount)])

        self.tx(go)
        self.commissions[ref] = Commission(creator, currency, amount)
        model.balances[currency]["pending"] += amount

    @precondition(lambda self: bool(self.unreleased()))
    @rule(pick=st.integers(0, 10**6), retried=st.booleans())
    def release(self, pick: int, retried: bool) -> None:
        ref = self.unreleased()[pick % len(self.unreleased())]
        c = self.commissions[ref]
        model = self.creators[c.creator]

        async def go(db: AsyncSession) -> object:
            return await earnings.release(db, creator_id=model.id, currency=c.currency, amount=c.amount,
                                          kind="test_release", reference=str(ref))

        assert self.tx(go) is not None
        if retried:
            assert self.tx(go) is None
            event("release retried")
        c.released = True
        model.balances[c.currency]["pending"] -= c.amount
        model.balances[c.currency]["available"] += c.amount

    @rule(creator=st.integers(0, 1), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def diamonds(self, creator: int, currency: str, amount: int) -> None:
        """A gift's host share: payable at once."""
        model = self.creators[creator]
        ref = self.ref()

        async def go(db: AsyncSession) -> None:
            await service.post(db, kind="test_gift", reference=ref, currency=currency, postings=[
                Posting(platform_account("cash", currency), amount),
                Posting(creator_account(model.id, "available", currency), -amount)])

        self.tx(go)
        model.balances[currency]["available"] += amount

    @precondition(lambda self: bool(self.released()))
    @rule(pick=st.integers(0, 10**6), share=st.integers(1, 10_000))
    def clawback(self, pick: int, share: int) -> None:
        """A released commission reversed (its order refunded): taken back from available,
        which goes below 0 when it was already paid out."""
        ref = self.released()[pick % len(self.released())]
        c = self.commissions.pop(ref)
        model = self.creators[c.creator]
        amount = max(1, c.amount * share // 10_000)

        async def go(db: AsyncSession) -> None:
            await service.post(db, kind="test_reversal", reference=str(ref), currency=c.currency, postings=[
                Posting(creator_account(model.id, "available", c.currency), amount),
                Posting(platform_account("cash", c.currency), -amount)])

        self.tx(go)
        model.balances[c.currency]["available"] -= amount
        if model.balances[c.currency]["available"] < 0:
            event("clawback below 0")

    @rule(creator=st.integers(0, 1), recent=st.sampled_from([False, False, True]))
    def set_payout_method(self, creator: int, recent: bool) -> None:
        model = self.creators[creator]
        changed = self.now if recent else self.now - HOLD - timedelta(hours=1)

        async def go(db: AsyncSession) -> None:
            await payouts.set_payee_method(db, payouts.Payee("creator", model.id, "test"), account_holder="Creator",
                                           account_number="GB29 NWBK 6016 1331", now=changed)

        self.tx(go)
        model.method_changed_at = changed

    def payable(self) -> list[tuple[int, str]]:
        """(creator index, currency) pairs whose available balance is not 0 (above or below)."""
        return [(i, cur) for i, c in enumerate(self.creators) for cur, values in sorted(c.balances.items())
                if values["available"] != 0]

    @rule(creator=st.integers(0, 1), currency=st.sampled_from(CURRENCIES),
          targeted=st.sampled_from([True, True, False]))
    def request_payout(self, creator: int, currency: str, targeted: bool = False) -> None:
        """A payout of any creator and currency, or (``targeted``) of one whose available is not 0."""
        if targeted and self.payable():
            creator, currency = self.payable()[(creator * 3 + CURRENCIES.index(currency)) % len(self.payable())]
        model = self.creators[creator]
        available = model.balances[currency]["available"]

        async def go(db: AsyncSession) -> tuple[int, str, int]:
            user = await db.get(User, model.id)
            assert user is not None
            payout = await payouts.request_creator_payout(db, user, currency, self.settings, now=self.now)
            return payout.id, payout.status, payout.amount

        if available <= 0:
            with pytest.raises(Conflict) as conflict:
                self.tx(go)
            assert conflict.value.code == "nothing_to_pay_out"
            event("payout: nothing to pay out" + (" (clawback)" if available < 0 else ""))
            return
        if available < MINIMUM:
            with pytest.raises(Conflict) as conflict:
                self.tx(go)
            assert conflict.value.code == "below_payout_minimum"
            event("payout: below the minimum")
            return
        if model.method_changed_at is None:
            with pytest.raises(ValidationFailed) as invalid:
                self.tx(go)
            assert invalid.value.code == "no_payout_method"
            return
        payout_id, status, amount = self.tx(go)
        assert amount == available
        self.requested[payout_id] = amount
        model.balances[currency]["available"] = 0
        if model.method_changed_at + HOLD > self.now:
            assert status == "held"
            event("payout: held")
            model.balances[currency]["in_transit"] += amount
            self.held.append(HeldPayout(payout_id, creator, currency, amount, model.method_changed_at + HOLD))
        else:
            assert status == "sent"
            event("payout: sent at once")
            model.balances[currency]["paid_out"] += amount

    @rule(hours=st.one_of(st.just(49), st.integers(1, 72)), job_runs=st.booleans())
    def time_passes(self, hours: int, job_runs: bool) -> None:
        self.now += timedelta(hours=hours)
        if job_runs and self.held:
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
            model = self.creators[held.creator]
            assert model.method_changed_at is not None
            if model.method_changed_at + HOLD > self.now:  # changed again during the hold: waits longer
                held.release_at = model.method_changed_at + HOLD
                continue
            self.held.remove(held)
            model.balances[held.currency]["in_transit"] -= held.amount
            model.balances[held.currency]["paid_out"] += held.amount
            expected += 1
        assert released == expected
        if released:
            event("held payout released")

    # --- invariants --------------------------------------------------------------------

    async def _read_snapshot(self, db: AsyncSession) -> Snapshot:
        twice = await db.execute(
            select(LedgerTransaction.kind, LedgerTransaction.reference)
            .group_by(LedgerTransaction.kind, LedgerTransaction.reference).having(func.count() > 1))
        sent_twice = await db.execute(
            select(LedgerTransaction.reference).where(LedgerTransaction.kind == "payout_sent")
            .group_by(LedgerTransaction.reference).having(func.count() > 1))
        rows = (await db.execute(select(Payout))).scalars()
        return Snapshot(
            trial=await service.trial_balance(db),
            unbalanced=await service.unbalanced_transactions(db),
            balances={c.id: await earnings.creator_balances(db, c.id) for c in self.creators},
            duplicates=[(row[0], row[1]) for row in twice],
            sent_twice=[row[0] for row in sent_twice],
            payouts={p.id: (p.status, p.amount) for p in rows},
        )

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = self.run(self._uow(self._read_snapshot))
        return self._snapshot

    @invariant()
    def the_ledger_sums_to_zero_per_currency(self) -> None:
        snap = self.snapshot()
        assert all(total == 0 for total in snap.trial.values()) and snap.unbalanced == []

    @invariant()
    def creator_balances_match_the_model(self) -> None:
        zero = {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}
        for model in self.creators:
            stored = self.snapshot().balances[model.id]
            for currency in CURRENCIES:
                assert stored.get(currency, zero) == model.balances.get(currency, zero), (model.id, currency)

    @invariant()
    def payouts_are_what_was_available_and_never_sent_twice(self) -> None:
        snap = self.snapshot()
        assert snap.duplicates == [] and snap.sent_twice == []
        assert {pid: amount for pid, (_, amount) in snap.payouts.items()} == self.requested
        held_ids = {h.id for h in self.held}
        assert {pid for pid, (status, _) in snap.payouts.items() if status == "held"} == held_ids
        assert all(status in {"held", "sent"} for status, _ in snap.payouts.values())


def test_creator_earnings_balance_after_any_history(clean_db: str, settings: Settings) -> None:
    assert settings.creator_payout_minimum == MINIMUM
    EarningsMachine.url = clean_db
    EarningsMachine.settings = settings
    run_state_machine_as_test(EarningsMachine, settings=hsettings(
        max_examples=25, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
