"""LIVE flash deals: announced in the room with a countdown, open for a few minutes, a fixed
number of units at a price below the variant's lowest of the last 30 days, at most so many per
buyer. Buying goes through the ordinary buy-now checkout with ``live_id`` (orders/hooks.py):
this module prices it and takes the units with guarded updates in the checkout's transaction,
so thousands of buyers at once never take more than the deal has.

Services validate, decide and flush; the unit of work (request or job) commits, and the room
hears of a change only then (``live.broadcast.after_commit``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import products as catalog_products
from mercato.catalog.models import Product, Variant
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.money import format_money
from mercato.live import broadcast
from mercato.live import service as live_service
from mercato.live.errors import LiveError
from mercato.live.selling import access, repository
from mercato.live.selling.models import RUNNING, FlashDeal
from mercato.live.selling.schemas import FlashDealIn
from mercato.orders import hooks as order_hooks
from mercato.orders.hooks import LiveDealFacts, LiveOffer, LiveTake


def state(deal: FlashDeal, now: datetime) -> str:
    """What a viewer sees: ``announced`` (counting down), ``open``, ``sold_out``, ``closed`` or
    ``cancelled`` — from the clock and the units, whatever the job has caught up with."""
    if deal.phase == "cancelled":
        return "cancelled"
    if deal.phase == "closed" or now >= deal.ends_at:
        return "closed"
    if now < deal.opens_at:
        return "announced"
    return "open" if deal.units_left > 0 else "sold_out"


def deal_out(deal: FlashDeal, product: Product | None, variant: Variant | None, now: datetime) -> dict[str, Any]:
    """The deal as the API, the room's ``flash`` frame and the snapshot give it."""
    return {
        "id": deal.id, "live_id": deal.live_id, "product_id": deal.product_id, "variant_id": deal.variant_id,
        "title": product.title if product else "", "variant_title": variant.title if variant else "",
        "deal_price": deal.deal_price, "regular_price": deal.regular_price,
        "lowest_price_30d": deal.lowest_price_30d, "currency": deal.currency,
        "deal_price_display": format_money(deal.deal_price, deal.currency),
        "regular_price_display": format_money(deal.regular_price, deal.currency),
        "total_units": deal.total_units, "units_left": deal.units_left, "per_buyer_limit": deal.per_buyer_limit,
        "opens_at": deal.opens_at.isoformat(), "ends_at": deal.ends_at.isoformat(), "state": state(deal, now),
    }


async def deal_body(db: AsyncSession, deal: FlashDeal, now: datetime) -> dict[str, Any]:
    return deal_out(deal, await db.get(Product, deal.product_id), await db.get(Variant, deal.variant_id), now)


async def _announce_frame(db: AsyncSession, deal: FlashDeal, now: datetime) -> None:
    broadcast.after_commit(db, deal.live_id, {"type": "flash", "deal": await deal_body(db, deal, now)})


async def announce(db: AsyncSession, user: User, live_id: int, data: FlashDealIn, now: datetime) -> FlashDeal:
    """Announce a deal on a product of the LIVE's bag: it opens after the countdown and closes
    after the duration. One running deal per LIVE."""
    live = await access.seller_live(db, user, live_id)
    await close_due(db, now, live_id=live.id)  # a deal past its end no longer counts as running
    if await repository.running_deal(db, live.id) is not None:
        raise Conflict("A flash deal is already running in this LIVE.", code=LiveError.DEAL_ALREADY_RUNNING)
    variant = await db.get(Variant, data.variant_id)
    product = await db.get(Product, variant.product_id) if variant is not None else None
    if variant is None or product is None or not await access.in_bag(db, live, product):
        raise ValidationFailed("This product is not in the LIVE's bag.", code=LiveError.NOT_IN_BAG,
                               details={"field": "variant_id"})
    lowest = await catalog_products.lowest_price_30d(db, variant, now)
    if data.deal_price >= lowest:
        raise ValidationFailed(
            f"A LIVE flash deal must be below the lowest price of the last 30 days "
            f"({format_money(lowest, variant.currency)}).", code=LiveError.DEAL_PRICE_TOO_HIGH,
            details={"field": "deal_price", "lowest_price_30d": lowest, "currency": variant.currency})
    if data.total_units > variant.available:
        raise Conflict(f"Only {variant.available} units are in stock.", code=LiveError.DEAL_UNITS_UNAVAILABLE,
                       details={"field": "total_units", "available": variant.available})
    opens_at = now + timedelta(seconds=data.countdown_seconds)
    deal = FlashDeal(live_id=live.id, variant_id=variant.id, product_id=product.id, created_by=user.id,
                     deal_price=data.deal_price, regular_price=variant.price, lowest_price_30d=lowest,
                     currency=variant.currency, total_units=data.total_units, units_left=data.total_units,
                     per_buyer_limit=data.per_buyer_limit, opens_at=opens_at,
                     ends_at=opens_at + timedelta(minutes=data.duration_minutes), phase="announced")
    try:
        async with db.begin_nested():
            await repository.add(db, deal)
    except IntegrityError as exc:  # another deal was announced meanwhile (the unique running index)
        raise Conflict("A flash deal is already running in this LIVE.",
                       code=LiveError.DEAL_ALREADY_RUNNING) from exc
    await _announce_frame(db, deal, now)
    return deal


async def live_deal(db: AsyncSession, live_id: int, deal_id: int) -> FlashDeal:
    deal = await repository.deal(db, deal_id)
    if deal is None or deal.live_id != live_id:
        raise NotFound("No such flash deal.", code=LiveError.DEAL_NOT_FOUND)
    return deal


async def cancel(db: AsyncSession, user: User, live_id: int, deal_id: int, now: datetime) -> FlashDeal:
    """Stop a running deal at once (units already bought stay bought)."""
    await access.seller_live(db, user, live_id, on_air=False)
    deal = await live_deal(db, live_id, deal_id)
    if state(deal, now) in ("closed", "cancelled") or \
            not await repository.move_phase(db, deal.id, RUNNING, "cancelled", closed_at=now):
        raise Conflict("This flash deal is over.", code=LiveError.DEAL_CLOSED)
    await _announce_frame(db, deal, now)
    return deal


async def deals_of_live(db: AsyncSession, live_id: int, now: datetime) -> list[dict[str, Any]]:
    await live_service.get_live(db, live_id)
    return [await deal_body(db, deal, now) for deal in await repository.deals_of_live(db, live_id)]


async def current(db: AsyncSession, live_id: int, now: datetime) -> dict[str, Any] | None:
    """The LIVE's running deal as the room shows it, or ``None``."""
    deal = await repository.running_deal(db, live_id)
    if deal is None or state(deal, now) == "closed":
        return None
    return await deal_body(db, deal, now)


async def open_due(db: AsyncSession, now: datetime) -> int:
    """Deals whose countdown ended: the room is told they are open."""
    opened = 0
    for deal_id in await repository.due_to_open(db, now):
        if await repository.move_phase(db, deal_id, ("announced",), "open"):
            deal = await repository.deal(db, deal_id)
            assert deal is not None
            await _announce_frame(db, deal, now)
            opened += 1
    return opened


async def close_due(db: AsyncSession, now: datetime, live_id: int | None = None) -> int:
    """Deals past their end: closed, and the room is told."""
    closed = 0
    for deal_id in await repository.due_to_close(db, now, live_id):
        if await repository.move_phase(db, deal_id, RUNNING, "closed", closed_at=now):
            deal = await repository.deal(db, deal_id)
            assert deal is not None
            await _announce_frame(db, deal, now)
            closed += 1
    return closed


# --- buying (called by checkout through orders/hooks.py) -------------------------------------


def _not_open(deal_id: int) -> Conflict:
    return Conflict("This flash deal has not opened yet: wait for the countdown.", code=LiveError.DEAL_NOT_OPEN,
                    details={"deal_id": deal_id})


def _sold_out(deal_id: int, units_left: int) -> Conflict:
    return Conflict("This flash deal is sold out.", code=LiveError.DEAL_SOLD_OUT,
                    details={"deal_id": deal_id, "units_left": units_left})


def _limit(deal_id: int, limit: int, bought: int) -> Conflict:
    return Conflict(f"This flash deal allows {limit} per buyer.", code=LiveError.DEAL_LIMIT_REACHED,
                    details={"deal_id": deal_id, "per_buyer_limit": limit, "bought": bought})


def early_refusal(deal_id: int, units_left: int, limit: int, opened: bool, bought: int,
                  quantity: int) -> Conflict | None:
    """The refusal of a buy of ``quantity`` from a deal's committed state (not open, over the
    per-buyer limit, sold out: in that order), or ``None``. The route's read transaction and the
    flash-sale gate both ask it, so that either answers alike."""
    if not opened:
        return _not_open(deal_id)
    if bought + quantity > limit:
        return _limit(deal_id, limit, bought)
    if units_left < quantity:
        return _sold_out(deal_id, units_left)
    return None


def _gate_facts(row: Sequence[Any]) -> LiveDealFacts | None:
    deal_id, units_left, limit, opened, bought, created = row
    if deal_id is None:
        return None
    return LiveDealFacts(deal_id=int(deal_id), units_left=int(units_left), per_buyer_limit=int(limit),
                         opened=bool(int(opened)), bought=int(bought), created=str(created))


def _gate_refusal(facts: LiveDealFacts, quantity: int) -> dict[str, Any] | None:
    refused = early_refusal(facts.deal_id, facts.units_left, facts.per_buyer_limit, facts.opened, facts.bought,
                            quantity)
    return None if refused is None else refused.body()


class Selling:
    """What checkout calls for a request with ``live_id`` (``orders.hooks.LiveSelling``)."""

    async def offers(self, db: AsyncSession, live_id: int, buyer_id: int, wanted: Mapping[int, int],
                     now: datetime) -> dict[int, LiveOffer]:
        rows = await repository.offers(db, live_id, sorted(wanted), now)
        if not rows:
            raise NotFound("No such LIVE.", code=LiveError.LIVE_NOT_FOUND)
        found: dict[int, LiveOffer] = {}
        for _live, deal_id, variant_id, deal_price, opened in rows:
            if deal_id is None:
                continue
            if not int(opened):
                raise _not_open(int(deal_id))
            found[int(variant_id)] = LiveOffer(variant_id=int(variant_id), unit_price=int(deal_price),
                                               tier="live_flash", deal_id=int(deal_id))
        return found

    async def refuse_early(self, db: AsyncSession, live_id: int, buyer_id: int, wanted: Mapping[int, int],
                           now: datetime) -> None:
        for deal_id, variant_id, units_left, limit, opened, bought in await repository.early_facts(
                db, live_id, buyer_id, sorted(wanted), now):
            refused = early_refusal(int(deal_id), int(units_left), int(limit), bool(int(opened)), int(bought),
                                    wanted[int(variant_id)])
            if refused is not None:
                raise refused

    async def take(self, db: AsyncSession, buyer_id: int, checkout_id: int, takes: Sequence[LiveTake],
                   now: datetime) -> None:
        # Deal rows first, then the buyer's rows, in deal-id order: concurrent checkouts lock alike.
        for take in sorted(takes, key=lambda item: item.deal_id):
            taken = await repository.take_units(db, take.deal_id, take.quantity, now)
            if taken is None:
                facts = await repository.deal_state(db, take.deal_id, now)
                if facts is None or not int(facts[2]):
                    raise Conflict("This flash deal is over.", code=LiveError.DEAL_CLOSED,
                                   details={"deal_id": take.deal_id})
                if not int(facts[1]):
                    raise _not_open(take.deal_id)
                raise _sold_out(take.deal_id, int(facts[0]))
            units_left, limit, live_id = int(taken[0]), int(taken[1]), int(taken[2])
            if take.quantity > limit or await repository.take_for_buyer(
                    db, take.deal_id, buyer_id, take.quantity, limit) is None:
                raise _limit(take.deal_id, limit, await repository.bought(db, take.deal_id, buyer_id))
            await repository.add_hold(db, deal_id=take.deal_id, buyer_id=buyer_id, checkout_id=checkout_id,
                                      order_line_id=take.order_line_id, quantity=take.quantity, now=now)
            broadcast.after_commit(db, live_id, {"type": "flash_units", "deal_id": take.deal_id,
                                                 "units_left": units_left})

    async def release(self, db: AsyncSession, checkout_id: int, line_ids: Sequence[int] | None) -> None:
        now = datetime.now(UTC)
        holds = sorted((int(deal), int(buyer), int(quantity))
                       for deal, buyer, quantity in await repository.release_holds(db, checkout_id, line_ids))
        for deal_id, buyer_id, quantity in holds:  # deal rows in id order, as checkouts take them
            given = await repository.give_back(db, deal_id, buyer_id, quantity, now)
            if given is not None:
                broadcast.after_commit(db, int(given[1]), {"type": "flash_units", "deal_id": deal_id,
                                                           "units_left": int(given[0])})


SELLING = order_hooks.register_live_selling(Selling())
GATE = order_hooks.register_live_gate(order_hooks.LiveGate(
    columns=repository.GATE_DEAL_COLUMNS, join=repository.GATE_DEAL_JOIN, facts=_gate_facts,
    refusal=_gate_refusal, sold_out=lambda deal_id, left: _sold_out(deal_id, left).body()))
