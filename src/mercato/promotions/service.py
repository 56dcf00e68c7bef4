"""Coupons (docs/promotions.md): price codes for a checkout, redeem them so that every limit holds
under concurrency, give them back when a checkout is not paid, and manage them.

The checkout calls three functions with one :class:`OrderDraft` per future order (one per shop):

* :func:`preview_coupons` — validation and amounts, nothing written (totals before paying);
* :func:`redeem_coupons` — the same, plus one :class:`~mercato.promotions.models.CouponRedemption`
  per coupon and ``redeemed_count + 1``, inside the caller's unit of work;
* :func:`release_checkout` — undo every redemption of an unpaid checkout (expiry, cancel).

How the limits hold without check-then-act (docs/architecture.md, "Never check-then-act"):

* **total limit** — one guarded ``UPDATE coupons SET redeemed_count = redeemed_count + 1
  WHERE id = :id AND active AND (total_limit IS NULL OR redeemed_count < total_limit)``; a row
  count of 0 means used up (or deactivated meanwhile). The ``within_total_limit`` CHECK is the
  last line of defence.
* **per-user limit** — the redemption row takes a *use number*: the user's count of uses of the
  coupon + 1 (the lowest free number when a released checkout left a gap), at most the limit.
  ``UNIQUE (coupon_id, user_id, use_number)`` lets only one of two concurrent requests that saw
  the same count insert it; the other gets the unique violation (PostgreSQL reports it once the
  first commits), counts again and stops at the limit.

Both happen in one savepoint per coupon, so a refused coupon leaves nothing behind even if a
caller chose to continue. Services flush and never commit (rule 6).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Shop
from mercato.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mercato.kit.money import allocate, apply_rate_bps, format_money
from mercato.kit.pagination import cursor_int, decode_cursor, encode_cursor
from mercato.promotions import repository as repo
from mercato.promotions.errors import PromotionsError
from mercato.promotions.models import Coupon
from mercato.promotions.schemas import CODE_RE, CouponIn, CouponUpdate, normalize_code

SELLER = "seller"
PLATFORM = "platform"
#: Attempts at a free use number when concurrent requests of the same user keep taking it.
USE_NUMBER_ATTEMPTS = 5


# --- the contract used by the checkout ---------------------------------------------------------


@dataclass(frozen=True)
class OrderDraft:
    """One future order of the checkout."""

    shop_id: int
    currency: str
    subtotal: int  # items total, minor units, before discounts


@dataclass(frozen=True)
class AppliedCoupon:
    coupon_id: int
    code: str
    funded_by: str  # "seller" | "platform"
    shop_id: int  # the order (shop) this part applies to
    amount: int  # discount on that order, minor units, 0 < amount <= that order's subtotal


@dataclass(frozen=True)
class _Use:
    """One coupon as priced for this checkout (a snapshot: no ORM state is needed afterwards)."""

    coupon_id: int
    code: str
    funded_by: str
    per_user_limit: int | None
    total_limit: int | None
    redeemed_count: int
    parts: tuple[tuple[int, int], ...]  # (shop id, amount)

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.parts)


class _Refused(Exception):
    """The guarded update counted nothing: rolls the coupon's savepoint back."""


def _not_found(code: str) -> ValidationFailed:
    return ValidationFailed(f"{code} is not a valid code.",
                            code=PromotionsError.COUPON_NOT_FOUND, details={"code": code})


def _limit_reached(code: str) -> Conflict:
    return Conflict(f"You have already used {code} as many times as allowed.",
                    code=PromotionsError.COUPON_LIMIT_REACHED,
                    details={"code": code})


def _exhausted(code: str) -> Conflict:
    return Conflict(f"{code} has been used up.", code=PromotionsError.COUPON_EXHAUSTED, details={"code": code})


def _aware(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _check_window(coupon: Coupon, code: str, now: datetime) -> None:
    if coupon.starts_at is not None and now < coupon.starts_at:
        raise ValidationFailed(f"{code} starts on {_when(coupon.starts_at)}.", code=PromotionsError.COUPON_NOT_ACTIVE,
                               details={"code": code})
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise ValidationFailed(f"{code} ended on {_when(coupon.ends_at)}.", code=PromotionsError.COUPON_NOT_ACTIVE,
                               details={"code": code})


def required_spend(coupon: Coupon) -> int:
    """The smallest subtotal the coupon accepts: its minimum spend, and at least enough for a
    discount of one minor unit (1 % of 49 ¢ rounds to nothing)."""
    useful = 5_000 // int(coupon.percent_bps or 1) + 1 if coupon.kind == "percent" else 1
    return max(coupon.min_spend, useful)


def discount_on(coupon: Coupon, subtotal: int) -> int:
    """Percent: ``apply_rate_bps`` (half-even); amount: the amount. Never more than ``subtotal``."""
    if coupon.kind == "percent":
        return min(subtotal, apply_rate_bps(subtotal, int(coupon.percent_bps or 0)))
    return min(subtotal, int(coupon.amount or 0))


def _min_spend(code: str, missing: int, currency: str, coupon: Coupon) -> ValidationFailed:
    minimum = f" (minimum {format_money(coupon.min_spend, currency)})" if coupon.min_spend else ""
    return ValidationFailed(f"Spend {format_money(missing, currency)} more to use {code}{minimum}.",
                            code=PromotionsError.COUPON_MIN_SPEND, details={"code": code})


def _wrong_currency(code: str, currency: str | None) -> ValidationFailed:
    return ValidationFailed(f"{code} only applies to orders in {currency}.", code=PromotionsError.COUPON_WRONG_CURRENCY,
                            details={"code": code})


def _seller_parts(coupon: Coupon, code: str, order: OrderDraft) -> tuple[tuple[int, int], ...]:
    if coupon.currency is not None and coupon.currency != order.currency:
        raise _wrong_currency(code, coupon.currency)
    need = required_spend(coupon)
    if order.subtotal < need:
        raise _min_spend(code, need - order.subtotal, order.currency, coupon)
    return ((order.shop_id, discount_on(coupon, order.subtotal)),)


def _platform_parts(coupon: Coupon, code: str, drafts: list[OrderDraft]) -> tuple[tuple[int, int], ...]:
    """Per currency, the discount on the orders' combined subtotal, spread pro rata with
    ``allocate`` so the parts sum exactly. A coupon with a currency only sees orders in it; a
    percent coupon without one applies to every currency whose orders reach its threshold."""
    groups: dict[str, list[OrderDraft]] = {}
    for draft in drafts:
        if coupon.currency is None or draft.currency == coupon.currency:
            groups.setdefault(draft.currency, []).append(draft)
    if not groups:
        raise _wrong_currency(code, coupon.currency)
    need = required_spend(coupon)
    parts: list[tuple[int, int]] = []
    shortfall: tuple[int, str] | None = None
    for currency, orders in groups.items():
        subtotal = sum(o.subtotal for o in orders)
        if subtotal < need:
            shortfall = shortfall or (need - subtotal, currency)
            continue
        shares = allocate(discount_on(coupon, subtotal), [o.subtotal for o in orders])
        parts.extend((o.shop_id, share) for o, share in zip(orders, shares, strict=True) if share > 0)
    if not parts:
        missing, currency = shortfall or (need, next(iter(groups)))
        raise _min_spend(code, missing, currency, coupon)
    return tuple(parts)


def _normalized_codes(codes: list[str]) -> list[str]:
    """Trimmed, upper-case, blanks dropped; a code typed twice counts once."""
    seen: dict[str, None] = {}
    for code in codes:
        normal = normalize_code(code)
        if normal:
            seen.setdefault(normal, None)
    return list(seen)


async def _price(db: AsyncSession, *, codes: list[str], drafts: list[OrderDraft], now: datetime) -> list[_Use]:
    """Find and validate every code and compute its discount per order (writes nothing).

    A code is looked up among the platform's coupons and those of the shops in ``drafts``; when
    several scopes publish the same code, each of those coupons applies to its own scope.
    """
    now = _aware(now)
    wanted = _normalized_codes(codes)
    if not wanted:
        return []
    by_shop = {d.shop_id: d for d in drafts}
    if len(by_shop) != len(drafts):
        raise ValidationFailed("One order per shop.", code=PromotionsError.INVALID_ORDERS)
    for code in wanted:
        if not CODE_RE.match(code):  # cannot exist; never sent to the database
            raise _not_found(code[:40])
    scopes = [repo.PLATFORM_SCOPE, *(repo.shop_scope(shop_id) for shop_id in sorted(by_shop))]
    found: dict[str, list[Coupon]] = {}
    for coupon in await repo.active_coupons_with_codes(db, wanted, scopes):
        found.setdefault(coupon.code, []).append(coupon)
    uses: list[_Use] = []
    seller_code: dict[int, str] = {}
    platform_code: str | None = None
    for code in wanted:
        matches = found.get(code)
        if not matches:
            raise _not_found(code)
        for coupon in matches:
            _check_window(coupon, code, now)
            if coupon.shop_id is None:
                if platform_code is not None:
                    raise ValidationFailed(f"Only one platform code per checkout: {platform_code} is already "
                                           f"applied.",
                                           code=PromotionsError.COUPON_NOT_STACKABLE, details={"code": code})
                platform_code = code
                parts = _platform_parts(coupon, code, drafts)
            else:
                taken = seller_code.get(coupon.shop_id)
                if taken is not None:
                    raise ValidationFailed(f"Only one shop code per order: {taken} is already applied.",
                                           code=PromotionsError.COUPON_NOT_STACKABLE, details={"code": code})
                seller_code[coupon.shop_id] = code
                parts = _seller_parts(coupon, code, by_shop[coupon.shop_id])
            uses.append(_Use(coupon_id=coupon.id, code=coupon.code, funded_by=coupon.funded_by,
                             per_user_limit=coupon.per_user_limit, total_limit=coupon.total_limit,
                             redeemed_count=coupon.redeemed_count, parts=parts))
    return uses


def _applied(uses: list[_Use]) -> list[AppliedCoupon]:
    return [AppliedCoupon(coupon_id=u.coupon_id, code=u.code, funded_by=u.funded_by, shop_id=shop_id, amount=amount)
            for u in uses for shop_id, amount in u.parts]


async def preview_coupons(db: AsyncSession, *, user_id: int, codes: list[str], drafts: list[OrderDraft],
                          now: datetime) -> list[AppliedCoupon]:
    """What :func:`redeem_coupons` would apply now, with the same errors; redeems nothing.

    The limits are read, not taken: a preview can pass and the redemption still meet a limit
    reached meanwhile (the redemption is the one that counts).
    """
    uses = await _price(db, codes=codes, drafts=drafts, now=now)
    for use in uses:
        if use.per_user_limit is not None and await repo.count_uses(db, use.coupon_id, user_id) >= use.per_user_limit:
            raise _limit_reached(use.code)
        if use.total_limit is not None and use.redeemed_count >= use.total_limit:
            raise _exhausted(use.code)
    return _applied(uses)


async def _redeem(db: AsyncSession, use: _Use, *, user_id: int, checkout_id: int) -> None:
    for _ in range(USE_NUMBER_ATTEMPTS):
        taken = await repo.use_numbers(db, use.coupon_id, user_id)
        if use.per_user_limit is not None and len(taken) >= use.per_user_limit:
            raise _limit_reached(use.code)
        number = next(n for n in itertools.count(1) if n not in taken)
        try:
            async with db.begin_nested():
                await repo.add_redemption(db, coupon_id=use.coupon_id, user_id=user_id, checkout_id=checkout_id,
                                          use_number=number, amount=use.total)
                if not await repo.take_one(db, use.coupon_id):
                    raise _Refused
        except IntegrityError as exc:
            if not _is_duplicate_use(exc):
                raise
            continue
        except _Refused:
            if not await repo.is_active(db, use.coupon_id):
                raise _not_found(use.code) from None
            raise _exhausted(use.code) from None
        return
    if use.per_user_limit is not None:
        raise _limit_reached(use.code)
    raise Conflict(f"{use.code} is being used in another checkout right now. Try again.",
                   code=PromotionsError.COUPON_BUSY,
                   details={"code": use.code})


def _is_duplicate_use(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_coupon_redemptions_use" in text or "coupon_redemptions.use_number" in text


async def redeem_coupons(db: AsyncSession, *, user_id: int, checkout_id: int, codes: list[str],
                         drafts: list[OrderDraft], now: datetime) -> list[AppliedCoupon]:
    """Validate, price and redeem ``codes`` for ``checkout_id``; flushes, never commits.

    Coupons are taken in id order (rule 3: several rows are locked in key order). Any error
    is raised typed (422 / 409 with ``details={"code": …}``); the caller's transaction then
    rolls back whatever was already redeemed for the other codes.
    """
    uses = await _price(db, codes=codes, drafts=drafts, now=now)
    for use in sorted(uses, key=lambda u: u.coupon_id):
        await _redeem(db, use, user_id=user_id, checkout_id=checkout_id)
    return _applied(uses)


async def release_checkout(db: AsyncSession, checkout_id: int) -> int:
    """Give back every redemption of an unpaid checkout (expired or cancelled); returns how many.

    Each redemption is deleted with a row-count check before its coupon's count goes down, so
    two concurrent releases (or a repeated one) give each use back exactly once. The caller
    decides that the checkout is unpaid.
    """
    released = 0
    for redemption_id, coupon_id in await repo.redemptions_of_checkout(db, checkout_id):
        if await repo.delete_redemption(db, redemption_id):
            await repo.give_back(db, coupon_id)
            released += 1
    await db.flush()
    return released


# --- managing coupons --------------------------------------------------------------------------


def coupon_status(coupon: Coupon, now: datetime) -> str:
    """active | scheduled | ended | used_up | inactive — what a shopper entering it would see."""
    now = _aware(now)
    if not coupon.active:
        return "inactive"
    if coupon.ends_at is not None and now >= coupon.ends_at:
        return "ended"
    if coupon.starts_at is not None and now < coupon.starts_at:
        return "scheduled"
    if coupon.total_limit is not None and coupon.redeemed_count >= coupon.total_limit:
        return "used_up"
    return "active"


def discount_label(coupon: Coupon) -> str:
    if coupon.kind == "percent":
        bps = int(coupon.percent_bps or 0)
        return f"{bps // 100}{f'.{bps % 100:02d}'.rstrip('0') if bps % 100 else ''} % off"
    return f"{format_money(int(coupon.amount or 0), coupon.currency or 'USD')} off"


def _check_discount(data: CouponIn) -> None:
    if data.kind == "percent":
        if data.percent_bps is None:
            raise ValidationFailed("Enter the percent off (1 to 90 %).", code=PromotionsError.PERCENT_REQUIRED,
                                   details={"field": "percent_bps"})
        if data.amount is not None:
            raise ValidationFailed("A percent coupon has no amount.", code=PromotionsError.AMOUNT_NOT_ALLOWED,
                                   details={"field": "amount"})
    else:
        if data.amount is None:
            raise ValidationFailed("Enter the amount off.",
                                   code=PromotionsError.AMOUNT_REQUIRED, details={"field": "amount"})
        if data.percent_bps is not None:
            raise ValidationFailed("An amount coupon has no percent.", code=PromotionsError.PERCENT_NOT_ALLOWED,
                                   details={"field": "percent_bps"})


def _check_end(ends_at: datetime | None, start: datetime) -> None:
    if ends_at is not None and ends_at <= start:
        raise ValidationFailed(f"The end must be after the start ({_when(start)}).", code=PromotionsError.COUPON_WINDOW,
                               details={"field": "ends_at"})


async def _create(db: AsyncSession, data: CouponIn, *, scope: str, shop_id: int | None, funded_by: str,
                  currency: str | None, now: datetime) -> Coupon:
    _check_discount(data)
    _check_end(data.ends_at, data.starts_at or _aware(now))
    taken = Conflict(f"The code {data.code} is already in use here.", code=PromotionsError.COUPON_CODE_TAKEN,
                     details={"field": "code", "code": data.code})
    if await repo.coupon_in_scope(db, scope, data.code) is not None:
        raise taken
    coupon = Coupon(
        scope=scope, code=data.code, shop_id=shop_id, funded_by=funded_by, kind=data.kind,
        percent_bps=data.percent_bps if data.kind == "percent" else None,
        amount=data.amount if data.kind == "amount" else None, currency=currency, min_spend=data.min_spend,
        starts_at=data.starts_at, ends_at=data.ends_at, per_user_limit=data.per_user_limit,
        total_limit=data.total_limit, redeemed_count=0, active=True,
    )
    try:
        async with db.begin_nested():
            db.add(coupon)
            await db.flush()
    except IntegrityError as exc:  # the same code created concurrently
        raise taken from exc
    return coupon


async def create_shop_coupon(db: AsyncSession, shop: Shop, data: CouponIn, *, now: datetime) -> Coupon:
    """A seller-funded coupon of ``shop``, in the shop's currency. The caller checked membership."""
    if data.currency is not None and data.currency != shop.currency:
        raise ValidationFailed(f"Shop coupons are in the shop's currency ({shop.currency}).",
                               code=PromotionsError.WRONG_CURRENCY,
                               details={"field": "currency"})
    return await _create(db, data, scope=repo.shop_scope(shop.id), shop_id=shop.id, funded_by=SELLER,
                         currency=shop.currency, now=now)


async def create_platform_coupon(db: AsyncSession, data: CouponIn, *, now: datetime) -> Coupon:
    """A platform-funded coupon valid in every shop. An amount or a minimum spend needs a
    currency; a percent coupon without one applies to orders in any currency."""
    if data.currency is None and (data.kind == "amount" or data.min_spend):
        field = "currency"
        reason = "an amount off" if data.kind == "amount" else "a minimum spend"
        raise ValidationFailed(f"Choose the currency of {reason}.", code=PromotionsError.CURRENCY_REQUIRED,
                               details={"field": field})
    return await _create(db, data, scope=repo.PLATFORM_SCOPE, shop_id=None, funded_by=PLATFORM,
                         currency=data.currency, now=now)


async def editable_coupon(db: AsyncSession, user: User, coupon_id: int) -> Coupon:
    """The coupon if ``user`` may manage it: members of its shop, operators for platform coupons."""
    coupon = await repo.coupon_by_id(db, coupon_id)
    if coupon is None:
        raise NotFound("No such coupon.")
    if coupon.shop_id is None:
        if not user.is_admin:
            raise Forbidden("Operators only.", code=PromotionsError.ADMIN_ONLY)
    elif await catalog_repo.membership(db, coupon.shop_id, user.id) is None:
        raise Forbidden("You are not a member of this shop.", code=PromotionsError.NOT_SHOP_MEMBER)
    return coupon


async def update_coupon(db: AsyncSession, coupon: Coupon, data: CouponUpdate) -> Coupon:
    """Activate / deactivate, move or clear the end, change the limits (``null`` = unlimited).

    The total limit changes by a guarded update, so it can never drop below uses counted
    concurrently.
    """
    fields = data.model_fields_set
    if "active" in fields and data.active is not None:
        coupon.active = data.active
    if "ends_at" in fields:
        _check_end(data.ends_at, coupon.starts_at or coupon.created_at)
        coupon.ends_at = data.ends_at
    if "per_user_limit" in fields:
        coupon.per_user_limit = data.per_user_limit
    await db.flush()
    if "total_limit" in fields and not await repo.set_total_limit(db, coupon.id, data.total_limit):
        await db.refresh(coupon)
        raise ValidationFailed(f"{coupon.redeemed_count} uses are already counted; the total limit cannot be lower.",
                               code=PromotionsError.TOTAL_LIMIT_BELOW_USED, details={"field": "total_limit"})
    await db.refresh(coupon)
    return coupon


async def coupons_page(db: AsyncSession, scope: str, cursor: str | None, limit: int) -> tuple[list[Coupon], str | None]:
    """Coupons of a scope (``shop:<id>`` or ``platform``), newest first, and the next cursor."""
    after = decode_cursor(cursor)
    rows = await repo.coupons_of_scope(db, scope, limit, cursor_int(after[0], minimum=1) if after else None)
    nxt = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], nxt


def shop_scope(shop: Shop) -> str:
    return repo.shop_scope(shop.id)


PLATFORM_SCOPE = repo.PLATFORM_SCOPE
