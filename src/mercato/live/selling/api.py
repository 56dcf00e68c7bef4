"""JSON routes of selling in the LIVE room: flash deals, pinned coupons, giveaways (docs/live.md,
"Selling in the room"). Buying is the ordinary ``POST /api/v1/checkouts`` with ``live_id``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response

from mercato.accounts.deps import CurrentUser
from mercato.kit.fields import PathId
from mercato.kit.http import DbSession
from mercato.live.room import presence
from mercato.live.selling import coupons, deals, giveaways
from mercato.live.selling.schemas import FlashDealIn, GiveawayIn, LiveCouponIn

router = APIRouter(prefix="/api/v1", tags=["live"])


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/lives/{live_id:int}/flash-deals", status_code=201)
async def announce_deal(live_id: PathId, body: FlashDealIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Announce a LIVE flash deal (host or a member of the LIVE's shop): it opens after
    ``countdown_seconds`` and sells for ``duration_minutes``."""
    now = _now()
    return await deals.deal_body(db, await deals.announce(db, user, live_id, body, now), now)


@router.get("/lives/{live_id:int}/flash-deals")
async def list_deals(live_id: PathId, db: DbSession) -> list[dict[str, Any]]:
    """The LIVE's flash deals, newest first."""
    return await deals.deals_of_live(db, live_id, _now())


@router.post("/lives/{live_id:int}/flash-deals/{deal_id:int}/cancel")
async def cancel_deal(live_id: PathId, deal_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    now = _now()
    return await deals.deal_body(db, await deals.cancel(db, user, live_id, deal_id, now), now)


@router.post("/lives/{live_id:int}/coupons", status_code=201)
async def pin_coupon(live_id: PathId, body: LiveCouponIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Pin a coupon in the room, optionally unlocked after ``watch_minutes`` of watching."""
    pinned, coupon = await coupons.pin(db, user, live_id, body.coupon_id, body.watch_minutes, _now())
    return coupons.coupon_out(pinned, coupon)


@router.delete("/lives/{live_id:int}/coupons/{coupon_id:int}", status_code=204)
async def unpin_coupon(live_id: PathId, coupon_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    await coupons.unpin(db, user, live_id, coupon_id)
    return Response(status_code=204)


@router.post("/lives/{live_id:int}/coupons/{coupon_id:int}/claim", status_code=201)
async def claim_coupon(live_id: PathId, coupon_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Claim the pinned coupon (once): the answer holds its ``code`` for checkout."""
    return await coupons.claim(db, user, live_id, coupon_id, _now())


@router.post("/lives/{live_id:int}/giveaways", status_code=201)
async def announce_giveaway(live_id: PathId, body: GiveawayIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    return giveaways.giveaway_out(await giveaways.announce(db, user, live_id, body.prize, body.winners, _now()))


@router.post("/lives/{live_id:int}/giveaways/{giveaway_id:int}/draw")
async def draw_giveaway(live_id: PathId, giveaway_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Draw the winners among the signed-in viewers in the room now (no purchase needed)."""
    drawn = await giveaways.draw(db, user, live_id, giveaway_id, await presence.present_user_ids(live_id), _now())
    return giveaways.giveaway_out(drawn)


@router.get("/lives/{live_id:int}/giveaways/{giveaway_id:int}")
async def audit_giveaway(live_id: PathId, giveaway_id: PathId, db: DbSession) -> dict[str, Any]:
    """The draw's audit: seed, eligible viewers, winners, and whether re-running the seed gives them."""
    return await giveaways.audit(db, live_id, giveaway_id)
