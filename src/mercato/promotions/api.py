"""JSON routes of coupons: sellers manage their shop's, operators the platform's, shoppers preview."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query

from mercato.accounts.deps import AdminUser, CurrentUser, rate_limited
from mercato.catalog import shops
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.money import format_money
from mercato.kit.pagination import Page, clamp_limit
from mercato.promotions import credits, service
from mercato.promotions.schemas import (
    AppliedCouponOut,
    CouponIn,
    CouponOut,
    CouponUpdate,
    CreditBalanceOut,
    CreditGrantIn,
    CreditGrantOut,
    CreditLineOut,
    CreditsOut,
    PreviewIn,
)

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from mercato.catalog.models import Shop
    from mercato.promotions.models import Coupon

router = APIRouter(prefix="/api/v1", tags=["promotions"])

Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]
CouponId = PathId


def coupon_out(coupon: Coupon, now: datetime | None = None) -> CouponOut:
    now = now or datetime.now(UTC)
    min_spend = format_money(coupon.min_spend, coupon.currency) if coupon.min_spend and coupon.currency else None
    return CouponOut(
        id=coupon.id, code=coupon.code, scope=coupon.scope, shop_id=coupon.shop_id, funded_by=coupon.funded_by,
        kind=coupon.kind, percent_bps=coupon.percent_bps, amount=coupon.amount, currency=coupon.currency,
        min_spend=coupon.min_spend, starts_at=coupon.starts_at, ends_at=coupon.ends_at,
        per_user_limit=coupon.per_user_limit, total_limit=coupon.total_limit, redeemed_count=coupon.redeemed_count,
        active=coupon.active, status=service.coupon_status(coupon, now),
        discount_display=service.discount_label(coupon), min_spend_display=min_spend, created_at=coupon.created_at,
    )


async def _page(db: DbSession, scope: str, cursor: str | None, limit: int) -> Page[CouponOut]:
    rows, nxt = await service.coupons_page(db, scope, cursor, limit)
    now = datetime.now(UTC)
    return Page[CouponOut](items=[coupon_out(c, now) for c in rows], next_cursor=nxt)


@router.get("/shops/{slug}/coupons", response_model=Page[CouponOut])
async def shop_coupons(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                       cursor: str | None = None, limit: Limit = None) -> Page[CouponOut]:
    """The shop's coupons, newest first (members of the shop)."""
    shop: Shop = await shops.member_shop(db, user, slug)
    return await _page(db, service.shop_scope(shop), cursor,
                       clamp_limit(limit, settings.page_size_default, settings.page_size_max))


@router.post("/shops/{slug}/coupons", status_code=201, response_model=CouponOut)
async def create_shop_coupon(slug: str, body: CouponIn, user: CurrentUser, db: DbSession) -> CouponOut:
    """A seller-funded coupon: ``percent_bps`` 100–9000 or an ``amount`` in the shop's currency;
    the code (3–40 of A–Z 0–9 - _, case-insensitive) is unique in the shop (409 otherwise)."""
    shop = await shops.member_shop(db, user, slug)
    return coupon_out(await service.create_shop_coupon(db, shop, body, now=datetime.now(UTC)))


@router.get("/coupons/{coupon_id:int}", response_model=CouponOut)
async def get_coupon(coupon_id: CouponId, user: CurrentUser, db: DbSession) -> CouponOut:
    return coupon_out(await service.editable_coupon(db, user, coupon_id))


@router.patch("/coupons/{coupon_id:int}", response_model=CouponOut)
async def update_coupon(coupon_id: CouponId, body: CouponUpdate, user: CurrentUser, db: DbSession) -> CouponOut:
    """Activate / deactivate, change ``ends_at`` or the limits (``null`` clears). Members of the
    coupon's shop; operators for platform coupons."""
    coupon = await service.editable_coupon(db, user, coupon_id)
    return coupon_out(await service.update_coupon(db, coupon, body))


@router.get("/admin/coupons", response_model=Page[CouponOut])
async def platform_coupons(user: AdminUser, db: DbSession, settings: AppSettings, cursor: str | None = None,
                           limit: Limit = None) -> Page[CouponOut]:
    return await _page(db, service.PLATFORM_SCOPE, cursor,
                       clamp_limit(limit, settings.page_size_default, settings.page_size_max))


@router.post("/admin/coupons", status_code=201, response_model=CouponOut)
async def create_platform_coupon(body: CouponIn, user: AdminUser, db: DbSession) -> CouponOut:
    """A platform-funded coupon valid in every shop (one per checkout, spread over the orders)."""
    return coupon_out(await service.create_platform_coupon(db, body, now=datetime.now(UTC)))


@router.post("/coupons/preview", response_model=list[AppliedCouponOut], dependencies=[rate_limited("coupon")])
async def preview(body: PreviewIn, user: CurrentUser, db: DbSession) -> list[AppliedCouponOut]:
    """The discounts ``codes`` would give on these orders now (one per shop), or the coupon error
    (``coupon_not_found``, ``coupon_min_spend`` …). Redeems nothing: only paying does."""
    drafts = [service.OrderDraft(shop_id=o.shop_id, currency=o.currency, subtotal=o.subtotal) for o in body.orders]
    currency = {d.shop_id: d.currency for d in drafts}
    applied = await service.preview_coupons(db, user_id=user.id, codes=body.codes, drafts=drafts,
                                            now=datetime.now(UTC))
    return [AppliedCouponOut(coupon_id=a.coupon_id, code=a.code, funded_by=a.funded_by, shop_id=a.shop_id,
                             amount=a.amount, currency=currency[a.shop_id],
                             amount_display=format_money(a.amount, currency[a.shop_id])) for a in applied]


# --- shopping credits ----------------------------------------------------------------------------


@router.get("/me/credits", response_model=CreditsOut)
async def my_credits(user: CurrentUser, db: DbSession, settings: AppSettings, cursor: str | None = None,
                     limit: Limit = None) -> CreditsOut:
    """The caller's shopping credits: the balance per currency and the movements (grants, spends
    at checkout, give-backs), newest first, keyset-paged."""
    page = await credits.history(db, user.id, cursor, clamp_limit(limit, settings.page_size_default,
                                                                  settings.page_size_max))
    return CreditsOut(
        balances=[CreditBalanceOut(currency=cur, amount=amount, amount_display=format_money(amount, cur))
                  for cur, amount in (await credits.balances(db, user.id)).items()],
        history=[credit_line_out(line) for line in page.items], next_cursor=page.next_cursor)


def credit_line_out(line: credits.CreditLine) -> CreditLineOut:
    return CreditLineOut(id=line.entry_id, created_at=line.created_at, currency=line.currency, amount=line.amount,
                         amount_display=format_money(line.amount, line.currency), kind=line.kind,
                         description=credits.describe(line), order_id=line.order_id)


@router.post("/admin/credits", status_code=201, response_model=CreditGrantOut)
async def grant_credits(body: CreditGrantIn, user: AdminUser, db: DbSession) -> CreditGrantOut:
    """Operators: give a user platform-funded shopping credits, with a reason (kept in the ledger).
    The same ``reference`` again writes nothing (``granted: false``)."""
    done = await credits.operator_grant(db, user, user_ref=body.user, amount=body.amount, currency=body.currency,
                                        reason=body.reason, reference=body.reference)
    currency = body.currency.upper()
    balance = await credits.balance(db, done.user.id, currency)
    return CreditGrantOut(user_id=done.user.id, amount=body.amount, currency=currency, granted=done.granted,
                          reference=done.reference, balance=balance,
                          balance_display=format_money(balance, currency))
