"""LIVE coupons: the host pins a coupon of the promotions domain in the room, optionally locked
behind a task (watch N minutes of the LIVE); a viewer claims it once and then uses its code at
checkout, where the promotions rules apply as to any coupon."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.live import broadcast
from mercato.live import service as live_service
from mercato.live.errors import LiveError
from mercato.live.selling import access, repository, watching
from mercato.live.selling.models import LiveCoupon, LiveCouponClaim
from mercato.promotions import repository as promotions_repository
from mercato.promotions import service as promotions
from mercato.promotions.models import Coupon


def coupon_out(pinned: LiveCoupon, coupon: Coupon) -> dict[str, Any]:
    """The pinned coupon as the room shows it (the code itself only to a viewer who claimed it)."""
    return {"id": coupon.id, "live_coupon_id": pinned.id, "label": promotions.discount_label(coupon),
            "min_spend": coupon.min_spend, "currency": coupon.currency, "watch_minutes": pinned.watch_minutes,
            "ends_at": coupon.ends_at.isoformat() if coupon.ends_at else None}


async def pin(db: AsyncSession, user: User, live_id: int, coupon_id: int, watch_minutes: int | None,
              now: datetime) -> tuple[LiveCoupon, Coupon]:
    """Pin a coupon the caller manages (of the LIVE's shop, or a platform coupon for operators)
    in the room, replacing the one pinned before."""
    live = await access.seller_live(db, user, live_id)
    coupon = await promotions.editable_coupon(db, user, coupon_id)
    if promotions.coupon_status(coupon, now) != "active" or \
            (live.shop_id is not None and coupon.shop_id not in (None, live.shop_id)):
        raise ValidationFailed("This coupon cannot be used in this LIVE now.", code=LiveError.COUPON_NOT_USABLE,
                               details={"field": "coupon_id", "status": promotions.coupon_status(coupon, now)})
    await repository.unpin_coupons(db, live.id)
    pinned = await repository.live_coupon(db, live.id, coupon.id)
    if pinned is None:
        pinned = LiveCoupon(live_id=live.id, coupon_id=coupon.id, watch_minutes=watch_minutes, pinned=True)
        await repository.add(db, pinned)
    else:
        pinned.watch_minutes, pinned.pinned = watch_minutes, True
        await db.flush()
    broadcast.after_commit(db, live.id, {"type": "coupon", "coupon": coupon_out(pinned, coupon)})
    return pinned, coupon


async def unpin(db: AsyncSession, user: User, live_id: int, coupon_id: int) -> None:
    """Take the coupon out of the room (claims already made stay valid: the code works as before)."""
    live = await access.seller_live(db, user, live_id, on_air=False)
    pinned = await repository.live_coupon(db, live.id, coupon_id)
    if pinned is None or not pinned.pinned:
        raise NotFound("This coupon is not pinned in this LIVE.", code=LiveError.COUPON_NOT_PINNED)
    pinned.pinned = False
    await db.flush()
    broadcast.after_commit(db, live.id, {"type": "coupon", "coupon": None})


async def claim(db: AsyncSession, user: User, live_id: int, coupon_id: int, now: datetime) -> dict[str, Any]:
    """Claim the coupon pinned in the LIVE: once per viewer, after its watch task if it has one.
    Answers the coupon with its ``code`` (entered at checkout as any coupon code)."""
    await live_service.get_live(db, live_id)
    pinned = await repository.live_coupon(db, live_id, coupon_id)
    if pinned is None or not pinned.pinned:
        raise NotFound("This coupon is not pinned in this LIVE.", code=LiveError.COUPON_NOT_PINNED)
    coupon = await promotions_repository.coupon_by_id(db, coupon_id)
    assert coupon is not None  # a pinned coupon's row goes with it (ON DELETE CASCADE)
    if await repository.claim(db, pinned.id, user.id) is not None:
        raise Conflict("You already claimed this coupon.", code=LiveError.COUPON_ALREADY_CLAIMED,
                       details={"code": coupon.code})
    if pinned.watch_minutes is not None:
        seconds = await watching.watched_seconds(db, live_id, user.id)
        if seconds < pinned.watch_minutes * 60:
            raise Conflict(f"Watch this LIVE for {pinned.watch_minutes} minutes to unlock this coupon.",
                           code=LiveError.COUPON_TASK_INCOMPLETE,
                           details={"watched_seconds": seconds, "required_seconds": pinned.watch_minutes * 60})
    try:
        async with db.begin_nested():
            await repository.add(db, LiveCouponClaim(live_coupon_id=pinned.id, user_id=user.id, claimed_at=now))
    except IntegrityError as exc:  # the same viewer claiming twice at once
        raise Conflict("You already claimed this coupon.", code=LiveError.COUPON_ALREADY_CLAIMED,
                       details={"code": coupon.code}) from exc
    return {**coupon_out(pinned, coupon), "code": coupon.code, "claimed": True}


async def current(db: AsyncSession, live_id: int) -> dict[str, Any] | None:
    """The coupon pinned in the LIVE as the room shows it, or ``None``."""
    pinned = await repository.pinned_coupon(db, live_id)
    if pinned is None:
        return None
    coupon = await promotions_repository.coupon_by_id(db, pinned.coupon_id)
    return None if coupon is None else coupon_out(pinned, coupon)
