"""R9 as a property: any sequence of coin purchases (through the sandbox card), gifts and refunds
of unspent coins keeps the ledger identity after every step — money in = coin liability + host
shares + gift revenue, trial balance 0, and every wallet equals what its lots hold."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import AppError
from mercato.ledger.models import LedgerAccount, LedgerEntry
from mercato.live.gifts import service
from mercato.live.gifts.models import CoinPurchase, CoinWallet
from mercato.live.models import Live
from mercato.payments import service as payments
from mercato.payments.provider import CardInput, get_provider
from tests.conftest import run_async

_ids = itertools.count(1)
CARD = CardInput(number="4242424242424242", exp_month=12, exp_year=datetime.now(UTC).year + 1, cvc="123")
OPS = st.lists(st.one_of(
    st.tuples(st.just("buy"), st.integers(0, 2), st.sampled_from(["coins_65", "coins_330"])),
    st.tuples(st.just("gift"), st.integers(0, 2), st.sampled_from([1, 5, 10, 99]), st.integers(1, 99)),
    st.tuples(st.just("refund"), st.integers(0, 2), st.integers(0, 5)),
), min_size=1, max_size=12)


async def _identity(db: AsyncSession, users: list[int]) -> None:
    totals = {str(code): int(total) for code, total in (await db.execute(
        select(LedgerAccount.code, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id).group_by(LedgerAccount.code))).all()}
    assert sum(totals.values()) == 0
    coins = sum(v for k, v in totals.items() if ":coins:" in k)
    shares = sum(v for k, v in totals.items() if k.startswith("creator:") or ":credits:" in k)
    assert totals.get("platform:cash:USD", 0) == -(coins + shares + totals.get("platform:gift_revenue:USD", 0))
    for user_id in users:
        wallet = int(await db.scalar(select(CoinWallet.coins).where(CoinWallet.user_id == user_id)) or 0)
        left, money = (await db.execute(select(func.coalesce(func.sum(CoinPurchase.coins_left), 0),
                                               func.coalesce(func.sum(CoinPurchase.amount_left), 0))
                                        .where(CoinPurchase.user_id == user_id,
                                               CoinPurchase.status == "paid"))).one()
        assert wallet == int(left) >= 0
        assert -totals.get(f"user:{user_id}:coins:USD", 0) == int(money)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_ledger_identity_holds_after_every_step(ops: list[tuple[Any, ...]], clean_db: str,
                                                  settings: Settings) -> None:
    async def go() -> None:
        database = Database(clean_db, pool=False)
        provider = get_provider(settings, database)
        try:
            async with database.unit_of_work() as db:
                people = [User(email=f"p{next(_ids)}@example.com", password_hash="x", display_name=f"P{i}",
                               date_of_birth=date(1990, 1, 1)) for i in range(4)]
                db.add_all(people)
                await db.flush()
                live = Live(host_id=people[3].id, title="Gifts", status="live")
                db.add(live)
                await db.flush()
                ids, live_id = [p.id for p in people], live.id
                gifts = {g.coins: g.id for g in await service.catalog(db) if not g.joins_fan_club}
            purchases: dict[int, list[int]] = {i: [] for i in range(3)}
            for op in ops:
                async with database.unit_of_work() as db:
                    sender = await db.get(User, ids[op[1]])
                    assert sender is not None
                    try:
                        if op[0] == "buy":
                            purchase, intent = await service.start_purchase(db, sender, op[2], settings)
                            await payments.confirm(db, intent, CARD, provider=provider, settings=settings)
                            purchases[op[1]].append(purchase.id)
                        elif op[0] == "gift":
                            await service.send_gift(db, sender, live_id, gifts[op[2]], op[3], settings)
                        elif purchases[op[1]]:
                            chosen = purchases[op[1]][op[2] % len(purchases[op[1]])]
                            await service.refund_purchase(db, sender, chosen, provider=provider)
                    except AppError as refused:
                        assert refused.code in ("insufficient_coins", "coin_purchase_not_refundable")
                        await db.rollback()
                async with database.unit_of_work() as db:
                    await _identity(db, ids)
        finally:
            await database.dispose()

    run_async(go())
