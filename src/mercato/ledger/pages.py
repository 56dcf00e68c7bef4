"""Seller Center → Finance, Creator Studio → Earnings, and the operator's ledger check page.

The "Request payout" form carries an ``idempotency_key`` generated on the server for each
render, and the handler hands it to :mod:`mercato.kit.idempotency` through a copy of the
request with the key added as the ``Idempotency-Key`` header (plain forms cannot set
headers). Why not just rely on the ledger's ``(kind, reference)`` uniqueness? Every payout
is a new ``Payout`` row with a new reference, so a double click or a resubmitted form would
be a *second request*: it would either find nothing left to pay out and show an error,
or — if money settled in between — send a second payout the person never asked for. With
the key the second submit replays the first answer and lands on the same result.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.deps import AdminUser, CurrentUser, MaybeUser
from mercato.catalog import shops
from mercato.catalog.presenters import shop_out
from mercato.config import Settings
from mercato.kit import idempotency
from mercato.kit.errors import AppError, Forbidden, ValidationFailed
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.money import exponent
from mercato.ledger import earnings, payouts, service
from mercato.ledger.errors import LedgerError
from mercato.ledger.presenters import creator_earnings_of, finance_of, ledger_check, line_out, payout_out
from mercato.web.forms import error_messages, form_data
from mercato.web.render import redirect, render

if TYPE_CHECKING:  # for annotations only: routes import no models at run time
    from mercato.accounts.models import User
    from mercato.catalog.models import Shop

router = APIRouter(include_in_schema=False)

STATEMENT_PAGE = 25
ACCOUNT_LABELS = {"pending": "Pending", "available": "Available", "in_transit": "In transit"}
KIND_LABELS = {"order_payment": "Sale", "refund": "Refund", "settlement": "Settled",
               "payout_request": "Payout requested", "payout_sent": "Payout sent"}
EARNINGS = "/studio/earnings"


def with_idempotency_key(request: Request, key: str) -> Request:
    """A copy of ``request`` whose ``Idempotency-Key`` header is ``key`` (the form field)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != idempotency.HEADER.encode()]
    if key:
        if not key.isascii():
            raise ValidationFailed("The form is not valid. Reload the page and try again.",
                                   code=LedgerError.INVALID_IDEMPOTENCY_KEY)
        headers.append((idempotency.HEADER.encode(), key.encode()))
    return Request({**request.scope, "headers": headers})


async def _finance_context(db: AsyncSession, user: User, shop: Shop, settings: Settings,
                           cursor: str | None = None) -> dict[str, Any]:
    role = await shops.member_role(db, shop, user)
    finance = await finance_of(db, shop, settings)
    page = await service.statement(db, shop.id, cursor, STATEMENT_PAGE)
    return {
        "shop": shop_out(shop, role), "finance": finance,
        "lines": [line_out(line) for line in page.items], "next_cursor": page.next_cursor, "cursor": cursor,
        "account_labels": ACCOUNT_LABELS, "kind_labels": KIND_LABELS,
        "idempotency_key": secrets.token_urlsafe(24), "values": {}, "errors": {},
        "payable": [b for b in finance.balances if b.available > 0], "exponent": exponent,
    }


@router.get("/seller/{slug}/finance", response_class=HTMLResponse)
async def finance_page(request: Request, slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                       cursor: str | None = None, payout: int | None = None, saved: str | None = None) -> Response:
    shop = await shops.member_shop(db, user, slug)
    ctx = await _finance_context(db, user, shop, settings, cursor)
    ctx["notice_payout"] = next((p for p in ctx["finance"].recent_payouts if p.id == payout), None)
    ctx["saved"] = saved == "method"
    ctx["replayed"] = request.query_params.get("replayed") == "1"
    return render(request, "ledger/finance.html", ctx, user=user)


async def _form_error(request: Request, db: AsyncSession, user: User, slug: str, settings: Settings,
                      exc: AppError, values: dict[str, str]) -> Response:
    if isinstance(exc, Forbidden):
        raise exc
    message, errors = error_messages(exc)
    await db.rollback()  # nothing half-done; it expires what the session holds, so load it again
    await db.refresh(user)
    shop = await shops.get_shop(db, slug)
    ctx = await _finance_context(db, user, shop, settings)
    ctx.update({"error": message, "errors": errors, "values": values})
    return render(request, "ledger/finance.html", ctx, user=user, status=exc.status)


@router.post("/seller/{slug}/finance/payout-method", response_class=HTMLResponse)
async def payout_method_form(request: Request, slug: str, user: CurrentUser, db: DbSession,
                             settings: AppSettings) -> Response:
    shop = await shops.get_shop(db, slug)
    form = await form_data(request)
    values = {"account_holder": form.get("account_holder", "")}
    try:
        await payouts.require_payout_owner(db, shop, user, settings)
        await payouts.set_payout_method(db, shop, account_holder=values["account_holder"],
                                        account_number=form.get("account_number", ""))
    except AppError as exc:
        return await _form_error(request, db, user, slug, settings, exc, values)
    return redirect(f"/seller/{shop.slug}/finance?saved=method")


@router.post("/seller/{slug}/finance/payouts", response_class=HTMLResponse)
async def payout_form(request: Request, slug: str, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    shop = await shops.get_shop(db, slug)
    shop_slug = shop.slug  # ``begin`` may roll back, which expires loaded rows
    form = await form_data(request)
    currency = (form.get("currency") or shop.currency).strip().upper()
    try:
        await payouts.require_payout_owner(db, shop, user, settings)
        call = await idempotency.begin(
            db, with_idempotency_key(request, form.get("idempotency_key", "").strip()),
            scope=f"shop:{shop.id}:payouts", body={"currency": currency},
            lock_seconds=settings.idempotency_lock_seconds,
        )
    except AppError as exc:
        return await _form_error(request, db, user, slug, settings, exc, {})
    if call.replay is not None:
        stored = orjson.loads(call.replay.body)
        return redirect(f"/seller/{shop_slug}/finance?payout={int(stored['id'])}&replayed=1")
    try:
        payout = await payouts.request_payout(db, shop, currency, user, settings)
    except AppError as exc:
        await call.abandon()
        return await _form_error(request, db, user, slug, settings, exc, {})
    await call.done(201, payout_out(payout).model_dump(mode="json"))
    return redirect(f"/seller/{shop_slug}/finance?payout={payout.id}")


# --- Creator Studio → Earnings (the signed-in user's own) --------------------------------------


async def _earnings_context(db: AsyncSession, user: User, settings: Settings,
                            cursor: str | None = None) -> dict[str, Any]:
    body, sections = await creator_earnings_of(db, user, settings)
    page = await earnings.creator_statement(db, user.id, cursor, STATEMENT_PAGE)
    return {
        "earnings": body, "sections": sections, "studio_section": "earnings",
        "lines": [line_out(line) for line in page.items], "next_cursor": page.next_cursor, "cursor": cursor,
        "account_labels": ACCOUNT_LABELS, "kind_labels": KIND_LABELS,
        "idempotency_key": secrets.token_urlsafe(24), "values": {}, "errors": {},
    }


@router.get(EARNINGS, response_class=HTMLResponse)
async def earnings_page(request: Request, user: MaybeUser, db: DbSession, settings: AppSettings,
                        cursor: str | None = None, payout: int | None = None, saved: str | None = None) -> Response:
    if user is None:
        return redirect(f"/login?next={EARNINGS}")
    ctx = await _earnings_context(db, user, settings, cursor)
    ctx["notice_payout"] = next((p for p in ctx["earnings"].recent_payouts if p.id == payout), None)
    ctx["saved"] = saved == "method"
    ctx["replayed"] = request.query_params.get("replayed") == "1"
    return render(request, "ledger/earnings.html", ctx, user=user)


async def _earnings_error(request: Request, db: AsyncSession, user: User, settings: Settings, exc: AppError,
                          values: dict[str, str]) -> Response:
    if isinstance(exc, Forbidden):
        raise exc
    message, errors = error_messages(exc)
    await db.rollback()  # nothing half-done; it expires what the session holds, so load it again
    await db.refresh(user)
    ctx = await _earnings_context(db, user, settings)
    ctx.update({"error": message, "errors": errors, "values": values})
    return render(request, "ledger/earnings.html", ctx, user=user, status=exc.status)


@router.post(f"{EARNINGS}/payout-method", response_class=HTMLResponse)
async def earnings_method_form(request: Request, user: CurrentUser, db: DbSession,
                               settings: AppSettings) -> Response:
    form = await form_data(request)
    values = {"account_holder": form.get("account_holder", "")}
    try:
        payee = payouts.require_creator_payee(user, settings)
        await payouts.set_payee_method(db, payee, account_holder=values["account_holder"],
                                       account_number=form.get("account_number", ""))
    except AppError as exc:
        return await _earnings_error(request, db, user, settings, exc, values)
    return redirect(f"{EARNINGS}?saved=method")


@router.post(f"{EARNINGS}/payouts", response_class=HTMLResponse)
async def earnings_payout_form(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    form = await form_data(request)
    currency = form.get("currency", "").strip().upper()
    try:
        payouts.require_creator_payee(user, settings)
        call = await idempotency.begin(
            db, with_idempotency_key(request, form.get("idempotency_key", "").strip()),
            scope=f"creator:{user.id}:payouts", body={"currency": currency},
            lock_seconds=settings.idempotency_lock_seconds,
        )
    except AppError as exc:
        return await _earnings_error(request, db, user, settings, exc, {})
    if call.replay is not None:
        stored = orjson.loads(call.replay.body)
        return redirect(f"{EARNINGS}?payout={int(stored['id'])}&replayed=1")
    try:
        payout = await payouts.request_creator_payout(db, user, currency, settings)
    except AppError as exc:
        await call.abandon()
        return await _earnings_error(request, db, user, settings, exc, {})
    await call.done(201, payout_out(payout).model_dump(mode="json"))
    return redirect(f"{EARNINGS}?payout={payout.id}")


@router.get("/admin/ledger", response_class=HTMLResponse)
async def admin_ledger_page(request: Request, user: AdminUser, db: DbSession) -> Response:
    return render(request, "ledger/admin.html", {"check": await ledger_check(db)}, user=user)
