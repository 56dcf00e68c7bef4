"""Every query of selling in the LIVE room. The buying path (offers, early refusals, taking and
giving back deal units) is plain statements in the checkout's transaction (``kit.sql
InTransaction``), like the rest of checkout; the host's actions use the ORM."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.sql.transaction import InTransaction
from mercato.live.selling.models import (
    RUNNING,
    DealBuyer,
    FlashDeal,
    Giveaway,
    LiveCoupon,
    LiveCouponClaim,
    WatchTime,
)

_OFFERS_SQL = (
    "SELECT l.id, d.id, d.variant_id, d.deal_price, CASE WHEN d.opens_at <= :now THEN 1 ELSE 0 END "
    "FROM lives l LEFT JOIN live_flash_deals d ON d.live_id = l.id AND d.variant_id IN :variants "
    "AND d.phase IN ('announced', 'open') AND d.ends_at > :now WHERE l.id = :live"
)
_EARLY_SQL = (
    "SELECT d.id, d.variant_id, d.units_left, d.per_buyer_limit, CASE WHEN d.opens_at <= :now THEN 1 ELSE 0 END, "
    "COALESCE(b.quantity, 0) FROM live_flash_deals d "
    "LEFT JOIN live_deal_buyers b ON b.deal_id = d.id AND b.buyer_id = :buyer "
    "WHERE d.live_id = :live AND d.variant_id IN :variants AND d.phase IN ('announced', 'open') AND d.ends_at > :now"
)
#: The flash-sale gate's fragment (composed by ``orders.repository.gate_facts`` through
#: ``orders.hooks.LiveGate``): the running deal of LIVE ``:live_id`` on ``:variant_id`` — the
#: rows ``_EARLY_SQL`` reads — with the buyer's (``s.user_id``) count; NULL columns when none.
GATE_DEAL_JOIN = (
    "LEFT JOIN live_flash_deals d ON d.live_id = :live_id AND d.variant_id = :variant_id "
    "AND d.phase IN ('announced', 'open') AND d.ends_at > :now "
    "LEFT JOIN live_deal_buyers b ON b.deal_id = d.id AND b.buyer_id = s.user_id"
)
GATE_DEAL_COLUMNS = (
    "d.id, d.units_left, d.per_buyer_limit, CASE WHEN d.opens_at <= :now THEN 1 ELSE 0 END, "
    "COALESCE(b.quantity, 0), d.created_at"
)
_TAKE_UNITS_SQL = (
    "UPDATE live_flash_deals SET units_left = units_left - :q, updated_at = :now "
    "WHERE id = :deal AND phase IN ('announced', 'open') AND opens_at <= :now AND ends_at > :now "
    "AND units_left >= :q RETURNING units_left, per_buyer_limit, live_id"
)
_DEAL_STATE_SQL = (
    "SELECT units_left, CASE WHEN opens_at <= :now THEN 1 ELSE 0 END, "
    "CASE WHEN phase IN ('announced', 'open') AND ends_at > :now THEN 1 ELSE 0 END, per_buyer_limit "
    "FROM live_flash_deals WHERE id = :deal"
)
_TAKE_BUYER_SQL = (
    "INSERT INTO live_deal_buyers (deal_id, buyer_id, quantity) VALUES (:deal, :buyer, :q) "
    "ON CONFLICT (deal_id, buyer_id) DO UPDATE SET quantity = live_deal_buyers.quantity + excluded.quantity "
    "WHERE live_deal_buyers.quantity + excluded.quantity <= :limit RETURNING quantity"
)
_BOUGHT_SQL = "SELECT quantity FROM live_deal_buyers WHERE deal_id = :deal AND buyer_id = :buyer"
_HOLD_SQL = (
    "INSERT INTO live_deal_holds (deal_id, buyer_id, checkout_id, order_line_id, quantity, status, created_at) "
    "VALUES (:deal, :buyer, :checkout, :line, :q, 'active', :now)"
)
_RELEASE_HOLDS_SQL = (
    "UPDATE live_deal_holds SET status = 'released' WHERE checkout_id = :checkout AND status = 'active' "
    "RETURNING deal_id, buyer_id, quantity"
)
_RELEASE_LINE_HOLDS_SQL = (
    "UPDATE live_deal_holds SET status = 'released' WHERE checkout_id = :checkout AND status = 'active' "
    "AND order_line_id IN :lines RETURNING deal_id, buyer_id, quantity"
)
_GIVE_BACK_UNITS_SQL = (
    "UPDATE live_flash_deals SET units_left = units_left + :q, updated_at = :now "
    "WHERE id = :deal AND units_left + :q <= total_units RETURNING units_left, live_id"
)
_GIVE_BACK_BUYER_SQL = (
    "UPDATE live_deal_buyers SET quantity = quantity - :q WHERE deal_id = :deal AND buyer_id = :buyer "
    "AND quantity >= :q"
)
_WATCH_SQL = (
    "INSERT INTO live_watch_time (live_id, user_id, seconds, updated_at) VALUES (:live, :user, :s, :now) "
    "ON CONFLICT (live_id, user_id) DO UPDATE SET seconds = live_watch_time.seconds + excluded.seconds, "
    "updated_at = excluded.updated_at RETURNING seconds"
)


# --- the buying path (plain statements) ------------------------------------------------------


async def offers(db: AsyncSession, live_id: int, variant_ids: Sequence[int], now: datetime) -> list[Sequence[Any]]:
    """Rows ``(live id, deal id, variant id, deal price, opened 0|1)`` of the LIVE's running deals
    on these variants; one row with NULL deal columns when there is none; no row: no such LIVE."""
    return await InTransaction.of(db).all(_OFFERS_SQL, {"live": live_id, "variants": list(variant_ids), "now": now})


async def early_facts(db: AsyncSession, live_id: int, buyer_id: int, variant_ids: Sequence[int],
                      now: datetime) -> list[Sequence[Any]]:
    """Rows ``(deal id, variant id, units left, per-buyer limit, opened 0|1, bought)`` of the
    LIVE's running deals on these variants, as committed."""
    return await InTransaction.of(db).all(_EARLY_SQL, {"live": live_id, "buyer": buyer_id,
                                                       "variants": list(variant_ids), "now": now})


async def take_units(db: AsyncSession, deal_id: int, quantity: int, now: datetime) -> Sequence[Any] | None:
    """Guarded: ``quantity`` units off an open deal that has them; ``(units left, per-buyer
    limit, live id)``, or ``None`` (nothing changed)."""
    return await InTransaction.of(db).first(_TAKE_UNITS_SQL, {"deal": deal_id, "q": quantity, "now": now})


async def deal_state(db: AsyncSession, deal_id: int, now: datetime) -> Sequence[Any] | None:
    """``(units left, opened 0|1, running 0|1, per-buyer limit)`` of a deal."""
    return await InTransaction.of(db).first(_DEAL_STATE_SQL, {"deal": deal_id, "now": now})


async def take_for_buyer(db: AsyncSession, deal_id: int, buyer_id: int, quantity: int, limit: int) -> int | None:
    """Guarded: the buyer's units of the deal grow by ``quantity`` if they stay within ``limit``;
    their new total, or ``None`` (nothing changed). The caller checks ``quantity <= limit``."""
    found = await InTransaction.of(db).scalar(_TAKE_BUYER_SQL, {"deal": deal_id, "buyer": buyer_id, "q": quantity,
                                                                "limit": limit})
    return None if found is None else int(found)


async def bought(db: AsyncSession, deal_id: int, buyer_id: int) -> int:
    found = await InTransaction.of(db).scalar(_BOUGHT_SQL, {"deal": deal_id, "buyer": buyer_id})
    return 0 if found is None else int(found)


async def add_hold(db: AsyncSession, *, deal_id: int, buyer_id: int, checkout_id: int, order_line_id: int,
                   quantity: int, now: datetime) -> None:
    await InTransaction.of(db).execute(_HOLD_SQL, {"deal": deal_id, "buyer": buyer_id, "checkout": checkout_id,
                                                   "line": order_line_id, "q": quantity, "now": now})


async def release_holds(db: AsyncSession, checkout_id: int, line_ids: Sequence[int] | None) -> list[Sequence[Any]]:
    """Guarded: the checkout's active holds (of these lines) become released; their ``(deal id,
    buyer id, quantity)`` (a hold another sweeper released is not returned twice)."""
    raw = InTransaction.of(db)
    if line_ids is None:
        return await raw.all(_RELEASE_HOLDS_SQL, {"checkout": checkout_id})
    if not line_ids:
        return []
    return await raw.all(_RELEASE_LINE_HOLDS_SQL, {"checkout": checkout_id, "lines": list(line_ids)})


async def give_back(db: AsyncSession, deal_id: int, buyer_id: int, quantity: int,
                    now: datetime) -> Sequence[Any] | None:
    """Units back to the deal and off the buyer's count; ``(units left, live id)`` of the deal."""
    raw = InTransaction.of(db)
    row = await raw.first(_GIVE_BACK_UNITS_SQL, {"deal": deal_id, "q": quantity, "now": now})
    await raw.execute(_GIVE_BACK_BUYER_SQL, {"deal": deal_id, "buyer": buyer_id, "q": quantity})
    return row


# --- deals (the host's side) ---------------------------------------------------------------


async def add(db: AsyncSession, row: object) -> None:
    db.add(row)
    await db.flush()


async def deal(db: AsyncSession, deal_id: int) -> FlashDeal | None:
    return await db.get(FlashDeal, deal_id)


async def running_deal(db: AsyncSession, live_id: int) -> FlashDeal | None:
    return await db.scalar(select(FlashDeal).where(FlashDeal.live_id == live_id, FlashDeal.phase.in_(RUNNING))
                           .order_by(FlashDeal.id.desc()).limit(1))


async def deals_of_live(db: AsyncSession, live_id: int, limit: int = 50) -> list[FlashDeal]:
    return list((await db.scalars(select(FlashDeal).where(FlashDeal.live_id == live_id)
                                  .order_by(FlashDeal.id.desc()).limit(limit))).all())


async def move_phase(db: AsyncSession, deal_id: int, from_phases: Sequence[str], to_phase: str,
                     closed_at: datetime | None = None) -> bool:
    """Guarded phase change (two job runs never announce the same change twice)."""
    values: dict[str, Any] = {"phase": to_phase}
    if closed_at is not None:
        values["closed_at"] = closed_at
    result = await db.execute(update(FlashDeal).where(FlashDeal.id == deal_id, FlashDeal.phase.in_(from_phases))
                              .values(**values).execution_options(synchronize_session=False))
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        found = await db.get(FlashDeal, deal_id)
        if found is not None:
            await db.refresh(found)
    return changed


async def due_to_open(db: AsyncSession, now: datetime, limit: int = 100) -> list[int]:
    return list((await db.scalars(select(FlashDeal.id).where(FlashDeal.phase == "announced", FlashDeal.opens_at <= now)
                                  .order_by(FlashDeal.id).limit(limit))).all())


async def due_to_close(db: AsyncSession, now: datetime, live_id: int | None = None, limit: int = 100) -> list[int]:
    query = select(FlashDeal.id).where(FlashDeal.phase.in_(RUNNING), FlashDeal.ends_at <= now)
    if live_id is not None:
        query = query.where(FlashDeal.live_id == live_id)
    return list((await db.scalars(query.order_by(FlashDeal.id).limit(limit))).all())


async def buyers_of(db: AsyncSession, deal_id: int) -> dict[int, int]:
    rows = await db.execute(select(DealBuyer.buyer_id, DealBuyer.quantity).where(DealBuyer.deal_id == deal_id))
    return {int(buyer): int(quantity) for buyer, quantity in rows}


# --- coupons and watch time ------------------------------------------------------------------


async def live_coupon(db: AsyncSession, live_id: int, coupon_id: int) -> LiveCoupon | None:
    return await db.scalar(select(LiveCoupon).where(LiveCoupon.live_id == live_id, LiveCoupon.coupon_id == coupon_id))


async def pinned_coupon(db: AsyncSession, live_id: int) -> LiveCoupon | None:
    return await db.scalar(select(LiveCoupon).where(LiveCoupon.live_id == live_id, LiveCoupon.pinned.is_(True))
                           .order_by(LiveCoupon.id.desc()).limit(1))


async def unpin_coupons(db: AsyncSession, live_id: int) -> None:
    await db.execute(update(LiveCoupon).where(LiveCoupon.live_id == live_id, LiveCoupon.pinned.is_(True))
                     .values(pinned=False).execution_options(synchronize_session=False))


async def claim(db: AsyncSession, live_coupon_id: int, user_id: int) -> LiveCouponClaim | None:
    return await db.get(LiveCouponClaim, (live_coupon_id, user_id))


async def claims_count(db: AsyncSession, live_coupon_id: int) -> int:
    return int(await db.scalar(select(func.count()).select_from(LiveCouponClaim)
                               .where(LiveCouponClaim.live_coupon_id == live_coupon_id)) or 0)


async def add_watch(db: AsyncSession, live_id: int, user_id: int, seconds: int, now: datetime) -> int:
    """The member's watch time grows by ``seconds`` (one upsert); their new total."""
    return int(await InTransaction.of(db).scalar(_WATCH_SQL, {"live": live_id, "user": user_id, "s": seconds,
                                                              "now": now}))


async def watched(db: AsyncSession, live_id: int, user_id: int) -> int:
    found = await db.get(WatchTime, (live_id, user_id))
    return 0 if found is None else found.seconds


# --- giveaways -------------------------------------------------------------------------------


async def giveaway(db: AsyncSession, giveaway_id: int) -> Giveaway | None:
    return await db.get(Giveaway, giveaway_id)


async def mark_drawn(db: AsyncSession, giveaway_id: int, values: dict[str, Any]) -> bool:
    """Guarded: an announced giveaway becomes drawn (a second draw changes nothing)."""
    result = await db.execute(update(Giveaway).where(Giveaway.id == giveaway_id, Giveaway.status == "announced")
                              .values(status="drawn", **values).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))
