"""JSON routes of the ledger: a shop's finance (balances, statement, payout method, payouts), a
creator's earnings (the same for the signed-in user's own creator accounts, plus the sections
of the domains that pay creators) and the operator's ledger check. All amounts are integer
minor units."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mercato.accounts.deps import AdminUser, CurrentUser
from mercato.catalog import shops
from mercato.kit import idempotency
from mercato.kit.errors import AppError
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.pagination import Page, clamp_limit
from mercato.ledger import earnings, payouts, service
from mercato.ledger.presenters import creator_earnings_of, finance_of, ledger_check, line_out, method_out, payout_out
from mercato.ledger.schemas import (
    CreatorEarningsOut,
    CreatorPayoutIn,
    FinanceOut,
    LedgerCheckOut,
    PayoutMethodIn,
    PayoutMethodOut,
    PayoutOut,
    PayoutRequestIn,
    StatementLineOut,
)

router = APIRouter(prefix="/api/v1", tags=["ledger"])

Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]


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


# --- a creator's earnings: always the signed-in user's own -----------------------------------


@router.get("/creators/me/earnings", response_model=CreatorEarningsOut)
async def get_my_earnings(user: CurrentUser, db: DbSession, settings: AppSettings) -> CreatorEarningsOut:
    """Balances per currency (with why a payout is not offered), payout method, recent payouts
    and the sections the earning domains register (diamonds, commissions…)."""
    body, _ = await creator_earnings_of(db, user, settings)
    return body


@router.get("/creators/me/earnings/statement", response_model=Page[StatementLineOut])
async def get_my_statement(user: CurrentUser, db: DbSession, settings: AppSettings,
                           cursor: str | None = None, limit: Limit = None) -> Page[StatementLineOut]:
    """Every entry of the creator's accounts, newest first."""
    page = await earnings.creator_statement(db, user.id, cursor, clamp_limit(limit, 50, settings.page_size_max))
    return Page[StatementLineOut](items=[line_out(line) for line in page.items], next_cursor=page.next_cursor)


@router.put("/creators/me/payout-method", response_model=PayoutMethodOut)
async def put_my_payout_method(body: PayoutMethodIn, user: CurrentUser, db: DbSession,
                               settings: AppSettings) -> PayoutMethodOut:
    """Set the bank account (18+). Payouts in the next ``payout_hold_hours`` are held."""
    payee = payouts.require_creator_payee(user, settings)
    method = await payouts.set_payee_method(db, payee, account_holder=body.account_holder,
                                            account_number=body.account_number)
    out = method_out(method, settings)
    assert out is not None
    return out


@router.post("/creators/me/payouts", status_code=201, response_model=PayoutOut)
async def create_my_payout(body: CreatorPayoutIn, request: Request, user: CurrentUser, db: DbSession,
                           settings: AppSettings) -> Response:
    """Pay out the available balance of a currency (18+, at least ``creator_payout_minimum``).
    Accepts an ``Idempotency-Key``."""
    payouts.require_creator_payee(user, settings)
    call = await idempotency.begin(db, request, scope=f"creator:{user.id}:payouts",
                                   body=body.model_dump(mode="json"), lock_seconds=settings.idempotency_lock_seconds)
    if call.replay is not None:
        return call.replay
    try:
        payout = await payouts.request_creator_payout(db, user, body.currency, settings)
    except AppError:
        await call.abandon()
        raise
    return await call.done(201, payout_out(payout).model_dump(mode="json"))


@router.get("/creators/me/payouts", response_model=Page[PayoutOut])
async def get_my_payouts(user: CurrentUser, db: DbSession, settings: AppSettings,
                         cursor: str | None = None, limit: Limit = None) -> Page[PayoutOut]:
    page = await payouts.list_payee_payouts(db, "creator", user.id, cursor,
                                            clamp_limit(limit, 20, settings.page_size_max))
    return Page[PayoutOut](items=[payout_out(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/admin/ledger", response_model=LedgerCheckOut)
async def admin_ledger(user: AdminUser, db: DbSession) -> LedgerCheckOut:
    """The ledger check: every currency sums to 0, no transaction is unbalanced; platform revenue."""
    return await ledger_check(db)
