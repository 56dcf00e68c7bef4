"""Checkout: one order per shop, stock reserved with a TTL, coupons redeemed, payment intents
created — all in one transaction, so a failure anywhere leaves nothing behind (service layer)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop, Variant
from mercato.config import Settings
from mercato.inventory import service as inventory
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.events import Event, age_band
from mercato.kit.events import record_many as record_events
from mercato.kit.faults import checkpoint
from mercato.kit.money import format_money
from mercato.kit.sql.transaction import snapshot
from mercato.orders import cart as carts
from mercato.orders import events, hooks, price_priority, pricing, repository, sold_out
from mercato.orders.errors import OrdersError
from mercato.orders.hooks import LiveOffer, LiveTake
from mercato.orders.models import Checkout, Order, OrderEvent, OrderLine
from mercato.orders.schemas import AddressIn, CheckoutIn
from mercato.payments import provider as payment_providers
from mercato.payments import repository as payments_repo
from mercato.payments import service as payments
from mercato.payments.models import PaymentIntent
from mercato.promotions import credits as shopping_credits
from mercato.promotions import service as promotions


@dataclass
class DraftOrder:
    shop: Shop
    lines: list[carts.Line]
    subtotal: int = 0
    seller_discount: int = 0
    platform_discount: int = 0
    shipping: int = 0
    tax: int = 0
    seller_coupon_id: int | None = None
    platform_coupon_id: int | None = None
    coupon_codes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.subtotal - self.seller_discount - self.platform_discount + self.shipping + self.tax

    @property
    def currency(self) -> str:
        return self.shop.currency


@dataclass
class Quote:
    orders: list[DraftOrder]
    address: dict[str, Any]

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for order in self.orders:
            out[order.currency] += order.total
        return dict(out)

    def totals_display(self) -> dict[str, str]:
        return {cur: format_money(amount, cur) for cur, amount in self.totals().items()}


async def resolve_address(db: AsyncSession, user: User, body: CheckoutIn) -> dict[str, Any]:
    if body.address_id is not None:
        address = await repository.address(db, body.address_id)
        if address is None or address.user_id != user.id:
            raise NotFound("No such address.", code=OrdersError.ADDRESS_NOT_FOUND)
        return AddressIn.model_validate(address, from_attributes=True).model_dump()
    if body.address is not None:
        return body.address.model_dump()
    default = await repository.default_address(db, user.id)
    if default is None:
        raise ValidationFailed("Add a shipping address.", code=OrdersError.ADDRESS_REQUIRED,
                               details={"field": "address"})
    return AddressIn.model_validate(default, from_attributes=True).model_dump()


async def _wanted_lines(db: AsyncSession, user: User, body: CheckoutIn, settings: Settings) -> list[carts.Line]:
    if body.items is not None:
        merged: dict[int, int] = defaultdict(int)
        for item in body.items:
            merged[item.variant_id] += item.quantity
        lines = []
        for variant_id, quantity in merged.items():
            if quantity > settings.max_cart_quantity:
                raise ValidationFailed(f"At most {settings.max_cart_quantity} of one item per order.",
                                       code=OrdersError.QUANTITY_TOO_LARGE)
            variant, product, shop = await carts.purchasable(db, variant_id)
            lines.append(carts.Line(variant=variant, product=product, shop=shop, quantity=quantity))
        return lines
    return await carts.cart_lines(db, user.id)


async def price_in_live(db: AsyncSession, user: User, body: CheckoutIn, lines: list[carts.Line],
                        now: datetime) -> list[LiveOffer]:
    """For a request made in a LIVE (``live_id``): price each line by ``price_priority`` among the
    LIVE's offers (a flash deal open for its variant) and the variant's own price; answers the
    LIVE offers that won (their deal units are taken by :func:`place`). Nothing for other requests."""
    selling = hooks.live_selling()
    if body.live_id is None or selling is None or not lines:
        return []
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        wanted[line.variant.id] += line.quantity
    offers = await selling.offers(db, body.live_id, user.id, wanted, now)
    won: list[LiveOffer] = []
    for line in lines:
        live = offers.get(line.variant.id)
        if live is None:
            continue
        # The purchase line carries no compare-at price: the base tier is "list" here, which
        # ranks the same against a LIVE offer as "discount" would.
        line.offer = price_priority.resolve(line.variant.price, None, [
            price_priority.Offer(tier=live.tier, unit_price=live.unit_price, deal_id=live.deal_id)])
        if line.offer.deal_id is not None:
            won.append(live)
    return won


async def quote(db: AsyncSession, user: User, body: CheckoutIn, settings: Settings, *,
                redeem_for_checkout: int | None = None, lines: list[carts.Line] | None = None,
                address: dict[str, Any] | None = None) -> Quote:
    """Price a checkout: orders per shop, shipping, coupons, tax. Redeems coupons only when
    ``redeem_for_checkout`` is given (inside :func:`place`)."""
    if lines is None:
        lines = await _wanted_lines(db, user, body, settings)
        await price_in_live(db, user, body, lines, datetime.now(UTC))
    if not lines:
        raise ValidationFailed("Your cart is empty.", code=OrdersError.CART_EMPTY)
    for line in lines:
        problem = carts.line_problem(line)
        if problem == "unavailable":
            raise Conflict(f"{line.product.title} is no longer available.", code=OrdersError.PRODUCT_UNAVAILABLE,
                           details={"variant_id": line.variant.id})
    if address is None:
        address = await resolve_address(db, user, body)
    by_shop: dict[int, DraftOrder] = {}
    for line in sorted(lines, key=lambda item: (item.shop.id, item.variant.id)):
        draft = by_shop.setdefault(line.shop.id, DraftOrder(shop=line.shop, lines=[]))
        draft.lines.append(line)
        draft.subtotal += line.unit_price * line.quantity
    drafts = list(by_shop.values())
    codes = [c for c in (code.strip() for code in body.coupon_codes) if c]
    if codes:
        coupon_drafts = [promotions.OrderDraft(shop_id=d.shop.id, currency=d.currency, subtotal=d.subtotal)
                         for d in drafts]
        now = datetime.now(UTC)
        if redeem_for_checkout is None:
            applied = await promotions.preview_coupons(db, user_id=user.id, codes=codes, drafts=coupon_drafts,
                                                       now=now)
        else:
            applied = await promotions.redeem_coupons(db, user_id=user.id, checkout_id=redeem_for_checkout,
                                                      codes=codes, drafts=coupon_drafts, now=now)
        for part in applied:
            draft = by_shop[part.shop_id]
            if part.funded_by == "seller":
                draft.seller_discount += part.amount
                draft.seller_coupon_id = part.coupon_id
            else:
                draft.platform_discount += part.amount
                draft.platform_coupon_id = part.coupon_id
            draft.coupon_codes.append(part.code)
    rate = await pricing.tax_rate_bps(db, address["region"], address["country"])
    for draft in drafts:
        draft.shipping = pricing.shipping_fee(draft.shop, draft.subtotal)
        draft.tax = pricing.tax_amount(draft.subtotal - draft.seller_discount - draft.platform_discount, rate)
    return Quote(orders=drafts, address=address)


@dataclass
class Placed:
    """What :func:`place` wrote, for building the answer without reading it back."""

    orders: list[Order] = field(default_factory=list)
    shops: dict[int, Shop] = field(default_factory=dict)
    lines: dict[int, list[OrderLine]] = field(default_factory=dict)
    events: dict[int, list[OrderEvent]] = field(default_factory=dict)
    intents: list[PaymentIntent] = field(default_factory=list)
    #: every payment was covered by shopping credits: the orders were paid inside :func:`place`
    paid_by_credits: bool = False


async def place(db: AsyncSession, user: User, body: CheckoutIn, settings: Settings,
                placed: Placed | None = None) -> Checkout:
    """Create the checkout, its orders and payment intents, and reserve every unit.

    Variants are reserved last, in primary-key order (docs/architecture.md,
    "Concurrency and money rules"), with guarded updates; the first
    one short of stock aborts the whole checkout with ``409 out_of_stock`` and the transaction
    rolls everything back.

    The rows are written with plain statements (``kit.sql InTransaction``: this is every purchase's hot
    path); the objects returned (and in ``placed``) are detached snapshots of what was written,
    for building the answer.
    """
    lines = await _wanted_lines(db, user, body, settings)
    # Fail fast on what is visibly sold out (a plain read, no lock); the guarded updates at the
    # end decide for real. Reserving last keeps hot rows locked only until the commit.
    for line in lines:
        if sold_out.short(line.variant.available, line.quantity):
            raise _out_of_stock(line)
    if not lines:
        raise ValidationFailed("Your cart is empty.", code=OrdersError.CART_EMPTY)
    address = await resolve_address(db, user, body)
    now = datetime.now(UTC)
    live_offers = await price_in_live(db, user, body, lines, now)
    live_id = body.live_id if hooks.live_selling() is not None else None
    expires_at = now + timedelta(seconds=settings.reservation_ttl_seconds)
    source = "buy_now" if body.items is not None else "cart"
    checkout_id = await repository.insert_checkout(db, dict(buyer_id=user.id, status="open", address=address,
                                                            expires_at=expires_at, source=source, created_at=now,
                                                            updated_at=now))
    checkout = snapshot(Checkout, dict(id=checkout_id, buyer_id=user.id, status="open", address=address,
                                       expires_at=expires_at, source=source, platform_coupon_code=None,
                                       created_at=now, updated_at=now))
    priced = await quote(db, user, body, settings, redeem_for_checkout=checkout_id, lines=lines, address=address)
    if body.expected_totals is not None and body.expected_totals != priced.totals():
        raise Conflict("Prices changed since you looked. Check the new totals and place the order again.",
                       code=OrdersError.PRICES_CHANGED, details={"totals": priced.totals()})
    await db.flush()  # coupon redemptions, if any, before the plain statements below
    credits = await credits_of(db, user, body, priced)
    intents: dict[str, PaymentIntent] = {}
    for currency, amount in sorted(priced.totals().items()):
        paid_with_credits = sum(credits[d.shop.id] for d in priced.orders if d.currency == currency)
        intents[currency] = await payments.create_intent(db, checkout_id=checkout_id, buyer_id=user.id,
                                                         currency=currency, amount=amount - paid_with_credits,
                                                         provider_name=settings.payment_provider)
    orders: list[Order] = []
    reservations: list[dict[str, Any]] = []
    takes: list[LiveTake] = []
    started: list[Event] = []  # analytics: one checkout_started per order (kit/events.py)
    for draft in priced.orders:
        values = dict(checkout_id=checkout_id, buyer_id=user.id, shop_id=draft.shop.id, status="awaiting_payment",
                      currency=draft.currency, subtotal=draft.subtotal, seller_discount=draft.seller_discount,
                      platform_discount=draft.platform_discount, shipping=draft.shipping, tax=draft.tax,
                      total=draft.total, fee=0, refunded=0, address=priced.address,
                      seller_coupon_id=draft.seller_coupon_id, platform_coupon_id=draft.platform_coupon_id,
                      payment_intent_id=intents[draft.currency].id, live_id=live_id,
                      source="direct" if live_id is None else "live", credits=credits[draft.shop.id],
                      created_at=now, updated_at=now)
        order_id = await repository.insert_order(db, values)
        order = snapshot(Order, {"id": order_id, **values})
        await shopping_credits.hold(db, user_id=user.id, order_id=order_id, shop_id=draft.shop.id,
                                    currency=draft.currency, amount=credits[draft.shop.id])
        written: list[OrderLine] = []
        totals = [line.unit_price * line.quantity for line in draft.lines]
        discounts = pricing.spread(draft.seller_discount + draft.platform_discount, totals)
        for line, line_total, discount in zip(draft.lines, totals, discounts, strict=True):
            line_values = dict(order_id=order_id, product_id=line.product.id, variant_id=line.variant.id,
                               title=line.product.title, variant_title=line.variant.title, sku=line.variant.sku,
                               unit_price=line.unit_price, quantity=line.quantity, discount=discount,
                               total=line_total - discount, refunded_quantity=0)
            line_id = await repository.insert_order_line(db, line_values)
            if line.offer is not None and line.offer.deal_id is not None:
                takes.append(LiveTake(deal_id=line.offer.deal_id, order_line_id=line_id, quantity=line.quantity))
            written.append(snapshot(OrderLine, {"id": line_id, **line_values}))
            reservations.append(dict(variant_id=line.variant.id, checkout_id=checkout_id, order_line_id=line_id,
                                     quantity=line.quantity, status="active", expires_at=expires_at,
                                     created_at=now))
        event = await events.record(db, order_id, "awaiting_payment", "Order placed; stock reserved.",
                                    actor_id=user.id, now=now)
        started.append(Event(event_id=f"checkout_started:{order_id}", kind="checkout_started", occurred_at=now,
                             source="direct" if live_id is None else "live", live_id=live_id,
                             shop_id=draft.shop.id, viewer_id=user.id,
                             age_band=age_band(user.date_of_birth, now.date()), value=draft.total,
                             currency=draft.currency, quantity=sum(line.quantity for line in draft.lines)))
        orders.append(order)
        if placed is not None:
            placed.shops[draft.shop.id] = draft.shop
            placed.lines[order_id] = written
            placed.events[order_id] = [event]
    await inventory.hold_for_checkout(db, reservations)
    await record_events(db, started)
    if takes:
        # LIVE deal units before the stock (every deal buy locks the deal's row first, then the
        # variants'), in the same transaction: a refusal rolls back everything above.
        selling = hooks.live_selling()
        assert selling is not None and live_offers
        await selling.take(db, user.id, checkout_id, takes, now)
    if placed is not None:
        placed.orders = orders
        placed.intents = list(intents.values())
    # Take the stock in primary-key order (no two checkouts deadlock); the first variant short of stock aborts the
    # whole checkout, and the transaction rolls everything above back.
    for line in sorted(lines, key=lambda item: item.variant.id):
        if not await inventory.reserve(db, line.variant.id, line.quantity):
            await _reread_stock(db, line.variant)
            raise _out_of_stock(line)
    checkpoint("checkout.after_reserve")
    if any(credits.values()) and all(intent.amount == 0 for intent in intents.values()):
        await _pay_with_credits_only(db, list(intents.values()), settings)
        if placed is not None:
            placed.paid_by_credits = True
    return checkout


async def credits_of(db: AsyncSession, user: User, body: CheckoutIn, priced: Quote) -> dict[int, int]:
    """The part of each draft order (keyed by shop id: one order per shop) the buyer's shopping credits pay:
    credits are a way to pay, applied to what is payable after coupons, shipping and tax (so the
    seller's share, the fee and the tax do not change), spread over the orders of each currency
    in proportion to their totals. The buyer's credits account stays locked to the commit
    (``promotions.credits.plan_spend``)."""
    spend: dict[int, int] = {draft.shop.id: 0 for draft in priced.orders}
    if not body.use_credits and body.credits_amount is None:
        return spend
    currencies = sorted({draft.currency for draft in priced.orders})
    if body.credits_amount is not None and len(currencies) > 1:
        raise ValidationFailed("An amount of credits applies to a checkout in one currency; use use_credits.",
                               code=OrdersError.CREDITS_ONE_CURRENCY, details={"field": "credits_amount"})
    for currency in currencies:
        drafts = [draft for draft in priced.orders if draft.currency == currency]
        parts = await shopping_credits.plan_spend(db, user_id=user.id, currency=currency,
                                                  payable=[draft.total for draft in drafts],
                                                  wanted=body.credits_amount)
        for draft, part in zip(drafts, parts, strict=True):
            spend[draft.shop.id] = part
    return spend


async def _pay_with_credits_only(db: AsyncSession, intents: list[PaymentIntent], settings: Settings) -> None:
    """Credits covered the whole checkout: its payments (all of 0) are confirmed now, without a
    card, so the orders are paid by this same unit of work (as a free order is once confirmed)."""
    provider = payment_providers.get_provider(settings)
    nothing = payment_providers.CardInput(number="", exp_month=1, exp_year=1, cvc="")
    for placed_intent in intents:
        intent = await payments_repo.get_intent(db, placed_intent.id)
        assert intent is not None
        await payments.confirm(db, intent, nothing, provider=provider, settings=settings)


async def _reread_stock(db: AsyncSession, variant: Variant) -> None:
    """Refresh a variant snapshot's counters (for the ``out_of_stock`` answer)."""
    found = await inventory.counters(db, variant.id)
    if found is not None:
        variant.stock, variant.reserved, variant.allocated = found


def _out_of_stock(line: carts.Line) -> Conflict:
    return sold_out.out_of_stock(line.variant.id, line.product.title, line.variant.title, line.variant.available)


async def get_checkout(db: AsyncSession, user: User, checkout_id: int) -> Checkout:
    checkout = await repository.checkout(db, checkout_id)
    if checkout is None or checkout.buyer_id != user.id:
        raise NotFound("No such checkout.")
    return checkout


async def orders_of_checkout(db: AsyncSession, checkout_id: int) -> list[Order]:
    return await repository.orders_of_checkout(db, checkout_id)
