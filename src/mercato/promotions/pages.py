"""Seller Center → Promotions and the operator's platform coupons: a table of coupons with an
activate / deactivate button each, and a create form that shows its errors next to the fields
and keeps what was typed. Plain forms, no script needed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.deps import AdminUser, CurrentUser
from mercato.catalog import repository as catalog_repo
from mercato.catalog import shops
from mercato.catalog.presenters import shop_out
from mercato.kit.errors import AppError, Forbidden, NotFound, ValidationFailed
from mercato.kit.http import DbSession
from mercato.kit.money import SUPPORTED_CURRENCIES, MoneyError, exponent, format_money, parse_amount
from mercato.promotions import credits, service
from mercato.promotions.api import CouponId, coupon_out
from mercato.promotions.errors import PromotionsError
from mercato.promotions.schemas import MAX_PERCENT_BPS, MIN_PERCENT_BPS, CouponIn, CouponUpdate
from mercato.web.forms import error_messages, form_data
from mercato.web.render import redirect, render

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from mercato.accounts.models import User
    from mercato.catalog.models import Shop
    from mercato.promotions.models import Coupon

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
FIELDS = ("code", "kind", "percent", "amount", "currency", "min_spend", "starts_at", "ends_at", "per_user_limit",
          "total_limit")
#: Error keys of the service / schema → the form field that shows them.
FIELD_OF = {"percent_bps": "percent"}
NOTICES = {"created": "Coupon created.", "activated": "Coupon activated.", "deactivated": "Coupon deactivated."}
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KWD")


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=PromotionsError.INVALID_INPUT, details={"field": field})


def _money(form: dict[str, str], field: str, currency: str | None, label: str) -> int | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    if currency is None:
        raise _invalid("currency", "Choose a currency.")
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        raise _invalid(field, f"{label}: {exc}.") from exc


def _percent_bps(text: str) -> int | None:
    text = text.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        bps = Decimal(text) * 100
    except InvalidOperation as exc:
        raise _invalid("percent", "Enter a number such as 10 or 12.5.") from exc
    if not bps.is_finite() or bps != bps.to_integral_value():
        raise _invalid("percent", "At most two decimals.")
    if not MIN_PERCENT_BPS <= bps <= MAX_PERCENT_BPS:
        raise _invalid("percent", "Between 1 and 90 %.")
    return int(bps)


def _count(form: dict[str, str], field: str) -> int | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise _invalid(field, "A whole number of 1 or more, or empty for no limit.")
    return int(text)


def _moment(form: dict[str, str], field: str) -> datetime | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _invalid(field, "A date and time such as 2026-12-01 09:00.") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def coupon_from_form(form: dict[str, str], currency: str | None) -> CouponIn:
    """Decimal amounts in ``currency``, percent as a number, times in UTC → a :class:`CouponIn`."""
    kind = form.get("kind", "percent")
    body: dict[str, Any] = {
        "code": form.get("code", ""), "kind": kind, "currency": currency,
        "min_spend": _money(form, "min_spend", currency, "Minimum spend") or 0,
        "starts_at": _moment(form, "starts_at"), "ends_at": _moment(form, "ends_at"),
        "per_user_limit": _count(form, "per_user_limit"), "total_limit": _count(form, "total_limit"),
    }
    if kind == "amount":
        body["amount"] = _money(form, "amount", currency, "Amount off")
    else:
        body["percent_bps"] = _percent_bps(form.get("percent", ""))
    return CouponIn.model_validate(body)


def _errors(exc: Exception) -> tuple[str, dict[str, str]]:
    if isinstance(exc, Forbidden):
        raise exc
    message, errors = error_messages(exc)
    return message, {FIELD_OF.get(k, k): v for k, v in errors.items()}


async def _start_over(db: AsyncSession, user: User) -> None:
    """Drop whatever the failed attempt did; the caller (expired by the rollback) is read again."""
    await db.rollback()
    await db.refresh(user)


def _first_error(errors: dict[str, str]) -> str | None:
    return next((f for f in FIELDS if f in errors), None)


async def _listing(db: AsyncSession, scope: str, cursor: str | None) -> dict[str, Any]:
    rows, nxt = await service.coupons_page(db, scope, cursor, PAGE_SIZE)
    now = datetime.now(UTC)
    return {"coupons": [coupon_out(c, now) for c in rows], "next_cursor": nxt, "cursor": cursor}


# --- Seller Center -----------------------------------------------------------------------------


async def _seller_context(db: AsyncSession, user: User, shop: Shop, cursor: str | None = None) -> dict[str, Any]:
    member = await catalog_repo.membership(db, shop.id, user.id)
    exp = exponent(shop.currency)
    return {
        "shop": shop_out(shop, member.role if member else None), **await _listing(db, service.shop_scope(shop), cursor),
        "action": f"/seller/{shop.slug}/promotions", "currency": shop.currency, "currencies": None,
        "step": "1" if exp == 0 else f"{Decimal(1).scaleb(-exp)}", "values": {"kind": "percent"}, "errors": {},
        "focus": None,
    }


@router.get("/seller/{slug}/promotions", response_class=HTMLResponse)
async def seller_promotions(request: Request, slug: str, user: CurrentUser, db: DbSession,
                            cursor: str | None = None, saved: str | None = None) -> Response:
    shop = await shops.member_shop(db, user, slug)
    ctx = await _seller_context(db, user, shop, cursor)
    ctx["notice"] = NOTICES.get(saved or "")
    return render(request, "promotions/seller.html", ctx, user=user)


@router.post("/seller/{slug}/promotions", response_class=HTMLResponse)
async def seller_create(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    shop = await shops.member_shop(db, user, slug)
    form = await form_data(request)
    values = {k: form.get(k, "") for k in FIELDS}
    try:
        await service.create_shop_coupon(db, shop, coupon_from_form(form, shop.currency), now=datetime.now(UTC))
    except (ValidationError, AppError) as exc:
        message, errors = _errors(exc)
        await _start_over(db, user)
        shop = await shops.get_shop(db, slug)
        ctx = await _seller_context(db, user, shop)
        ctx.update({"values": values, "errors": errors, "error": message, "focus": _first_error(errors)})
        return render(request, "promotions/seller.html", ctx, user=user,
                      status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/seller/{shop.slug}/promotions?saved=created")


async def _toggle(db: AsyncSession, coupon: Coupon, form: dict[str, str]) -> str:
    """Activate or deactivate; returns the notice key."""
    action = form.get("action", "")
    if action not in ("activate", "deactivate"):
        raise ValidationFailed("Unknown action.", code=PromotionsError.INVALID_ACTION)
    await service.update_coupon(db, coupon, CouponUpdate(active=action == "activate"))
    return f"{action}d"


@router.post("/seller/{slug}/promotions/{coupon_id:int}", response_class=HTMLResponse)
async def seller_toggle(request: Request, slug: str, coupon_id: CouponId, user: CurrentUser, db: DbSession) -> Response:
    shop = await shops.member_shop(db, user, slug)
    coupon = await service.editable_coupon(db, user, coupon_id)
    if coupon.shop_id != shop.id:
        raise NotFound("No such coupon in this shop.")
    saved = await _toggle(db, coupon, await form_data(request))
    return redirect(f"/seller/{shop.slug}/promotions?saved={saved}")


# --- operator ----------------------------------------------------------------------------------


async def _admin_context(db: AsyncSession, cursor: str | None = None) -> dict[str, Any]:
    return {**await _listing(db, service.PLATFORM_SCOPE, cursor), "action": "/admin/coupons", "currency": None,
            "currencies": sorted(SUPPORTED_CURRENCIES, key=lambda c: (c not in COMMON_CURRENCIES, c)),
            "step": "any", "values": {"kind": "percent"}, "errors": {}, "focus": None}


@router.get("/admin/coupons", response_class=HTMLResponse)
async def admin_coupons(request: Request, user: AdminUser, db: DbSession, cursor: str | None = None,
                        saved: str | None = None) -> Response:
    ctx = await _admin_context(db, cursor)
    ctx["notice"] = NOTICES.get(saved or "")
    return render(request, "promotions/admin.html", ctx, user=user)


@router.post("/admin/coupons", response_class=HTMLResponse)
async def admin_create(request: Request, user: AdminUser, db: DbSession) -> Response:
    form = await form_data(request)
    values = {k: form.get(k, "") for k in FIELDS}
    currency = values["currency"].strip().upper() or None
    try:
        if currency is not None and currency not in SUPPORTED_CURRENCIES:
            raise _invalid("currency", "Choose a supported currency.")
        await service.create_platform_coupon(db, coupon_from_form(form, currency), now=datetime.now(UTC))
    except (ValidationError, AppError) as exc:
        message, errors = _errors(exc)
        await _start_over(db, user)
        ctx = await _admin_context(db)
        ctx.update({"values": values, "errors": errors, "error": message, "focus": _first_error(errors)})
        return render(request, "promotions/admin.html", ctx, user=user,
                      status=exc.status if isinstance(exc, AppError) else 422)
    return redirect("/admin/coupons?saved=created")


@router.post("/admin/coupons/{coupon_id:int}", response_class=HTMLResponse)
async def admin_toggle(request: Request, coupon_id: CouponId, user: AdminUser, db: DbSession) -> Response:
    coupon = await service.editable_coupon(db, user, coupon_id)
    if coupon.shop_id is not None:
        raise NotFound("No such platform coupon.")
    saved = await _toggle(db, coupon, await form_data(request))
    return redirect(f"/admin/coupons?saved={saved}")


# --- shopping credits ----------------------------------------------------------------------------


@router.get("/me/credits", response_class=HTMLResponse)
async def my_credits(request: Request, user: CurrentUser, db: DbSession, cursor: str | None = None) -> Response:
    """The shopper's credits: balance per currency and every movement, newest first."""
    page = await credits.history(db, user.id, cursor, PAGE_SIZE)
    return render(request, "promotions/credits.html", {
        "balances": await credits.balances(db, user.id),
        "lines": [(line, credits.describe(line)) for line in page.items], "next_cursor": page.next_cursor,
    }, user=user)


GRANT_FIELDS = ("user", "amount", "currency", "reason")


def _admin_credits_context(values: dict[str, str] | None = None) -> dict[str, Any]:
    """The form carries a fresh ``reference``: submitting it twice grants once."""
    return {"values": values or {"currency": "USD"}, "errors": {}, "focus": None, "reference": uuid4().hex,
            "currencies": sorted(SUPPORTED_CURRENCIES, key=lambda c: (c not in COMMON_CURRENCIES, c))}


@router.get("/admin/credits", response_class=HTMLResponse)
async def admin_credits(request: Request, user: AdminUser) -> Response:
    return render(request, "promotions/admin_credits.html", _admin_credits_context(), user=user)


@router.post("/admin/credits", response_class=HTMLResponse)
async def admin_grant(request: Request, user: AdminUser, db: DbSession) -> Response:
    """Grant credits from the operator's form: the amount is typed in major units (``12.50``)."""
    form = await form_data(request)
    values = {k: form.get(k, "").strip() for k in GRANT_FIELDS}
    currency = values["currency"].upper()
    try:
        if currency not in SUPPORTED_CURRENCIES:
            raise _invalid("currency", "Choose a supported currency.")
        amount = _money(form, "amount", currency, "Amount")
        if amount is None or amount <= 0:
            raise _invalid("amount", "Enter an amount above 0.")
        done = await credits.operator_grant(db, user, user_ref=values["user"], amount=amount, currency=currency,
                                            reason=values["reason"], reference=form.get("reference") or None)
    except (ValidationError, AppError) as exc:
        message, errors = _errors(exc)
        await _start_over(db, user)
        ctx = _admin_credits_context(values)
        ctx.update({"errors": errors, "error": message, "focus": next((f for f in GRANT_FIELDS if f in errors), None),
                    "reference": form.get("reference") or ctx["reference"]})
        return render(request, "promotions/admin_credits.html", ctx, user=user,
                      status=exc.status if isinstance(exc, AppError) else 422)
    ctx = _admin_credits_context()
    balance = await credits.balance(db, done.user.id, currency)
    ctx["notice"] = (f"Granted {format_money(amount, currency)} to {done.user.display_name} (user {done.user.id}); "
                     f"their balance is {format_money(balance, currency)}.")
    return render(request, "promotions/admin_credits.html", ctx, user=user)
