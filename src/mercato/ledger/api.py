"""JSON routes of the ledger: a shop's finance (balances, statement, payout method, payouts)
and the operator's ledger check. All amounts are integer minor units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.deps import AdminUser, CurrentUser
from mercato.catalog import shops
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.kit import idempotency
from mercato.kit.errors import AppError
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.pagination import Page, clamp_limit
from mercato.ledger import payouts, service
from mercato.ledger.models import Payout, PayoutMethod

router = APIRouter(prefix="/api/v1", tags=["ledger"])

Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]


class BalanceOut(BaseModel):
    currency: str
    pending: int = Field(description="Earnings before settlement")
    available: int = Field(description="Settled and payable; below 0 is a clawback netted from the next payout")
    in_transit: int = Field(description="Requested or held payouts not sent yet")
    paid_out: int = Field(description="Sum of sent payouts")


class PayoutMethodOut(BaseModel):
    kind: str
    label: str  # masked: "Jane Doe ····1234"
    changed_at: datetime
    hold_until: datetime  # payouts requested before this are held


class PayoutOut(BaseModel):
    id: int
    currency: str
    amount: int
    status: str  # held | sent
    hold_reason: str | None
    release_at: datetime | None
    provider_ref: str | None
    created_at: datetime
    sent_at: datetime | None


class FinanceOut(BaseModel):
    shop: str
    currency: str
    balances: list[BalanceOut]
    payout_method: PayoutMethodOut | None
    recent_payouts: list[PayoutOut]


class StatementLineOut(BaseModel):
    id: int
    created_at: datetime
    account: str  # pending | available | in_transit
    currency: str
    amount: int  # from the shop's side: > 0 adds to the balance
    kind: str
    reference: str
    memo: str
    order_id: int | None


class PayoutMethodIn(BaseModel):
    account_holder: str = Field(min_length=2, max_length=80)
    account_number: str = Field(min_length=4, max_length=64, description="Account number or IBAN; stored masked")


class PayoutRequestIn(BaseModel):
    currency: str | None = Field(default=None, min_length=3, max_length=3,
                                 description="Defaults to the shop's currency")


class TrialBalanceOut(BaseModel):
    currency: str
    sum: int
    balanced: bool


class RevenueOut(BaseModel):
    currency: str
    fees: int
    promotions: int
    tax_payable: int
    cash: int


class LedgerCheckOut(BaseModel):
    balanced: bool
    trial_balance: list[TrialBalanceOut]
    unbalanced_transactions: list[int]
    revenue: list[RevenueOut]
    transactions: int
    entries: int
    accounts: int


# --- presenters (shared with the pages) ----------------------------------------------------


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
        **counts,
    )


# --- routes --------------------------------------------------------------------------------


@router.get("/shops/{slug}/finance", response_model=FinanceOut)
async def get_finance(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings) -> FinanceOut:
    """Balances per currency, the payout method and recent payouts (shop members)."""
    shop = await shops.member_shop(db, user, slug)
    return await finance_of(db, shop, settings)


@router.get("/shops/{slug}/finance/statement", response_model=Page[StatementLineOut])
async def get_statement(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                        cursor: str | None = None, limit: Limit = None) -> Page[StatementLineOut]:
    """Every entry of the shop's accounts, newest first."""
    shop = await shops.member_shop(db, user, slug)
    page = await service.statement(db, shop.id, cursor, clamp_limit(limit, 50, settings.page_size_max))
    return Page[StatementLineOut](items=[line_out(line) for line in page.items], next_cursor=page.next_cursor)


@router.put("/shops/{slug}/payout-method", response_model=PayoutMethodOut)
async def put_payout_method(slug: str, body: PayoutMethodIn, user: CurrentUser, db: DbSession,
                            settings: AppSettings) -> PayoutMethodOut:
    """Set the bank account (owner, 18+). Payouts in the next ``payout_hold_hours`` are held."""
    shop = await shops.get_shop(db, slug)
    await payouts.require_payout_owner(db, shop, user, settings)
    method = await payouts.set_payout_method(db, shop, account_holder=body.account_holder,
                                             account_number=body.account_number)
    out = method_out(method, settings)
    assert out is not None
    return out


@router.post("/shops/{slug}/payouts", status_code=201, response_model=PayoutOut)
async def create_payout(slug: str, body: PayoutRequestIn, request: Request, user: CurrentUser, db: DbSession,
                        settings: AppSettings) -> Response:
    """Pay out the available balance (owner, 18+). Accepts an ``Idempotency-Key``."""
    shop = await shops.get_shop(db, slug)
    # Authorise before the key is looked at: a stored answer is never replayed to someone else.
    await payouts.require_payout_owner(db, shop, user, settings)
    call = await idempotency.begin(db, request, scope=f"shop:{shop.id}:payouts", body=body.model_dump(mode="json"),
                                   lock_seconds=settings.idempotency_lock_seconds)
    if call.replay is not None:
        return call.replay
    try:
        payout = await payouts.request_payout(db, shop, body.currency or shop.currency, user, settings)
    except AppError:
        await call.abandon()
        raise
    return await call.done(201, payout_out(payout).model_dump(mode="json"))


@router.get("/shops/{slug}/payouts", response_model=Page[PayoutOut])
async def get_payouts(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                      cursor: str | None = None, limit: Limit = None) -> Page[PayoutOut]:
    shop = await shops.member_shop(db, user, slug)
    page = await payouts.list_payouts(db, shop.id, cursor, clamp_limit(limit, 20, settings.page_size_max))
    return Page[PayoutOut](items=[payout_out(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/admin/ledger", response_model=LedgerCheckOut)
async def admin_ledger(user: AdminUser, db: DbSession) -> LedgerCheckOut:
    """The ledger check: every currency sums to 0, no transaction is unbalanced; platform revenue."""
    return await ledger_check(db)
