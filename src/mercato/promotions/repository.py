"""Every query of the promotions domain (coupons and their redemptions).

The counters are only ever changed by the guarded statements here (never check-then-act):
their row count says whether the change happened, so callers never read-then-write.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.promotions.models import Coupon, CouponRedemption


def _rows(result: object) -> int:
    return int(result.rowcount)  # type: ignore[attr-defined]


def shop_scope(shop_id: int) -> str:
    return f"shop:{shop_id}"


PLATFORM_SCOPE = "platform"


async def active_coupons_with_codes(db: AsyncSession, codes: Sequence[str], scopes: Sequence[str]) -> list[Coupon]:
    """Active coupons whose (normalised, upper-case) code is one of ``codes`` within ``scopes``."""
    if not codes or not scopes:
        return []
    stmt = (select(Coupon).where(Coupon.code.in_(list(codes)), Coupon.scope.in_(list(scopes)), Coupon.active)
            .order_by(Coupon.id))
    return list((await db.execute(stmt)).scalars())


async def coupon_by_id(db: AsyncSession, coupon_id: int) -> Coupon | None:
    return await db.get(Coupon, coupon_id)


async def coupon_in_scope(db: AsyncSession, scope: str, code: str) -> Coupon | None:
    stmt = select(Coupon).where(Coupon.scope == scope, Coupon.code == code)
    return (await db.execute(stmt)).scalar_one_or_none()


async def coupons_of_scope(db: AsyncSession, scope: str, limit: int, before_id: int | None) -> list[Coupon]:
    """Newest first, keyset on id; returns up to ``limit + 1`` rows so the caller can see a next page."""
    stmt = select(Coupon).where(Coupon.scope == scope)
    if before_id is not None:
        stmt = stmt.where(Coupon.id < before_id)
    return list((await db.execute(stmt.order_by(Coupon.id.desc()).limit(limit + 1))).scalars())


async def take_one(db: AsyncSession, coupon_id: int) -> bool:
    """Count one redemption if the coupon is active and below its total limit (one guarded UPDATE)."""
    result = await db.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.active,
               or_(Coupon.total_limit.is_(None), Coupon.redeemed_count < Coupon.total_limit))
        .values(redeemed_count=Coupon.redeemed_count + 1)
        .execution_options(synchronize_session=False)
    )
    return _rows(result) == 1


async def give_back(db: AsyncSession, coupon_id: int) -> bool:
    result = await db.execute(
        update(Coupon).where(Coupon.id == coupon_id, Coupon.redeemed_count > 0)
        .values(redeemed_count=Coupon.redeemed_count - 1)
        .execution_options(synchronize_session=False)
    )
    return _rows(result) == 1


async def set_total_limit(db: AsyncSession, coupon_id: int, total_limit: int | None) -> bool:
    """Change the total limit unless more uses than the new limit were already counted."""
    stmt = update(Coupon).where(Coupon.id == coupon_id)
    if total_limit is not None:
        stmt = stmt.where(Coupon.redeemed_count <= total_limit)
    result = await db.execute(stmt.values(total_limit=total_limit).execution_options(synchronize_session=False))
    return _rows(result) == 1


async def is_active(db: AsyncSession, coupon_id: int) -> bool:
    return bool((await db.execute(select(Coupon.active).where(Coupon.id == coupon_id))).scalar_one_or_none())


async def use_numbers(db: AsyncSession, coupon_id: int, user_id: int) -> set[int]:
    stmt = select(CouponRedemption.use_number).where(CouponRedemption.coupon_id == coupon_id,
                                                      CouponRedemption.user_id == user_id)
    return set((await db.execute(stmt)).scalars())


async def count_uses(db: AsyncSession, coupon_id: int, user_id: int) -> int:
    stmt = select(func.count()).select_from(CouponRedemption).where(
        CouponRedemption.coupon_id == coupon_id, CouponRedemption.user_id == user_id)
    return int((await db.execute(stmt)).scalar_one())


async def add_redemption(db: AsyncSession, *, coupon_id: int, user_id: int, checkout_id: int, use_number: int,
                         amount: int) -> None:
    db.add(CouponRedemption(coupon_id=coupon_id, user_id=user_id, checkout_id=checkout_id, use_number=use_number,
                            amount=amount))
    await db.flush()


async def redemptions_of_checkout(db: AsyncSession, checkout_id: int) -> list[tuple[int, int]]:
    """``(redemption id, coupon id)`` of a checkout, in coupon-id order (rule 3: lock in key order)."""
    stmt = (select(CouponRedemption.id, CouponRedemption.coupon_id)
            .where(CouponRedemption.checkout_id == checkout_id)
            .order_by(CouponRedemption.coupon_id, CouponRedemption.id))
    return [(int(rid), int(cid)) for rid, cid in (await db.execute(stmt)).all()]


async def delete_redemption(db: AsyncSession, redemption_id: int) -> bool:
    result = await db.execute(delete(CouponRedemption).where(CouponRedemption.id == redemption_id)
                              .execution_options(synchronize_session=False))
    return _rows(result) == 1
