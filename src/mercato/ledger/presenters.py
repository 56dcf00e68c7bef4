"""Turn balances, payout methods, payouts and statement lines into API bodies (shared by the
JSON routes and the Finance and Earnings pages), and build the composite answers: a shop's
finance, a creator's earnings and the operator's ledger check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.kit.db import utcnow
from mercato.ledger import earnings, payouts, service
from mercato.ledger.models import Payout, PayoutMethod
from mercato.ledger.schemas import (
    BalanceOut,
    CreatorBalanceOut,
    CreatorEarningsOut,
    EarningsSectionOut,
    FinanceOut,
    LedgerCheckOut,
    LiabilityOut,
    PayoutMethodOut,
    PayoutOut,
    RevenueOut,
    StatementLineOut,
    TrialBalanceOut,
)


def balances_out(balances: dict[str, dict[str, int]], shop_currency: str) -> list[BalanceOut]:
    """Every currency with entries, and always the shop's own (zeros before the first sale)."""
    rows = dict(balances)
    rows.setdefault(shop_currency, {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0})
    return [BalanceOut(currency=cur, **values) for cur, values in sorted(rows.items())]


def method_out(method: PayoutMethod | None, settings: Settings) -> PayoutMethodOut | None:
    if method is None:
        return None
    return PayoutMethodOut(kind=method.kind, label=method.label, changed_at=method.changed_at,
                           hold_until=payouts.hold_until(method, settings))


def payout_out(payout: Payout) -> PayoutOut:
    return PayoutOut(id=payout.id, currency=payout.currency, amount=payout.amount, status=payout.status,
                     hold_reason=payout.hold_reason, release_at=payout.release_at, provider_ref=payout.provider_ref,
                     created_at=payout.created_at, sent_at=payout.sent_at)


def line_out(line: service.StatementLine) -> StatementLineOut:
    return StatementLineOut(id=line.entry_id, created_at=line.created_at, account=line.account,
                            currency=line.currency, amount=line.amount, kind=line.kind, reference=line.reference,
                            memo=line.memo, order_id=line.order_id)


async def finance_of(db: AsyncSession, shop: Shop, settings: Settings) -> FinanceOut:
    recent = await payouts.list_payouts(db, shop.id, limit=10)
    return FinanceOut(
        shop=shop.slug, currency=shop.currency,
        balances=balances_out(await service.shop_balances(db, shop.id), shop.currency),
        payout_method=method_out(await payouts.payout_method(db, shop.id), settings),
        recent_payouts=[payout_out(p) for p in recent.items],
    )


def section_out(section: earnings.EarningsSection) -> EarningsSectionOut:
    return EarningsSectionOut(key=section.key, title=section.title, columns=list(section.columns),
                              rows=[list(row) for row in section.rows])


async def creator_earnings_of(db: AsyncSession, user: User, settings: Settings,
                              now: datetime | None = None) -> tuple[CreatorEarningsOut, list[earnings.EarningsSection]]:
    """The creator's earnings (the JSON body) and the registered sections as given (the page
    also shows their HTML fragments)."""
    now = now or utcnow()
    balances = await earnings.creator_balances(db, user.id)
    method = await payouts.creator_payout_method(db, user.id)
    held = await payouts.held_payouts(db, "creator", user.id)
    recent = await payouts.list_payee_payouts(db, "creator", user.id, limit=10)
    sections = await earnings.earnings_sections(db, user)
    rows = []
    for currency, values in balances.items():
        ready = earnings.payout_readiness(values, currency, method, held, settings, now)
        rows.append(CreatorBalanceOut(currency=currency, **values, payout_blocked=ready.blocked,
                                      payout_held_until=ready.held_until))
    body = CreatorEarningsOut(balances=rows, payout_minimum=settings.creator_payout_minimum,
                              payout_method=method_out(method, settings),
                              recent_payouts=[payout_out(p) for p in recent.items],
                              sections=[section_out(s) for s in sections])
    return body, sections


async def ledger_check(db: AsyncSession) -> LedgerCheckOut:
    trial = await service.trial_balance(db)
    unbalanced = await service.unbalanced_transactions(db)
    revenue = await service.platform_revenue(db)
    counts = await service.counts(db)
    return LedgerCheckOut(
        balanced=all(v == 0 for v in trial.values()) and not unbalanced,
        trial_balance=[TrialBalanceOut(currency=c, sum=v, balanced=v == 0) for c, v in trial.items()],
        unbalanced_transactions=unbalanced,
        revenue=[RevenueOut(currency=c, **values) for c, values in revenue.items()],
        liabilities=[LiabilityOut(currency=c, owner=o, account=a, amount=v)
                     for (c, o, a), v in (await service.liabilities(db)).items()],
        **counts,
    )
