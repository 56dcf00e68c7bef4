"""Checkout: one order per shop, stock reserved with a TTL, coupons redeemed, payment intents
created — all in one transaction, so a failure anywhere leaves nothing behind (service layer)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop, Variant
from mercato.config import Settings
from mercato.inventory import service as inventory
from mercato.kit import idempotency
from mercato.kit.errors import AppError, Conflict, NotFound, ValidationFailed
from mercato.kit.faults import checkpoint
from mercato.kit.money import format_money
from mercato.kit.sql.transaction import InTransaction, snapshot
from mercato.orders import cart as carts
from mercato.orders import pricing
from mercato.orders.models import Address, Checkout, Order, OrderEvent, OrderLine
from mercato.orders.schemas import AddressIn, CheckoutIn
from mercato.payments import service as payments
from mercato.payments.models import PaymentIntent
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
        address = await db.get(Address, body.address_id)
        if address is None or address.user_id != user.id:
            raise NotFound("No such address.", code="address_not_found")
        return AddressIn.model_validate(address, from_attributes=True).model_dump()
    if body.address is not None:
        return body.address.model_dump()
    default = (await db.execute(select(Address).where(Address.user_id == user.id)
                                .order_by(Address.is_default.desc(), Address.id.desc()).limit(1))).scalar_one_or_none()
    if default is None:
        raise ValidationFailed("Add a shipping address.", code="address_required", details={"field": "address"})
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
                                       code="quantity_too_large")
            variant, product, shop = await carts._purchasable(db, variant_id)
            lines.append(carts.Line(variant=variant, product=product, shop=shop, quantity=quantity))
        return lines
    return await carts.cart_lines(db, user.id)


async def quote(db: AsyncSession, user: User, body: CheckoutIn, settings: Settings, *,
                redeem_for_checkout: int | None = None, lines: list[carts.Line] | None = None,
                address: dict[str, Any] | None = None) -> Quote:
    """Price a checkout: orders per shop, shipping, coupons, tax. Redeems coupons only when
    ``redeem_for_checkout`` is given (inside :func:`place`)."""
    if lines is None:
        lines = await _wanted_lines(db, user, body, settings)
    if not lines:
        raise ValidationFailed("Your cart is empty.", code="cart_empty")
    for line in lines:
        problem = carts.line_problem(line)
        if problem == "unavailable":
            raise Conflict(f"{line.product.title} is no longer available.", code="product_unavailable",
                           details={"variant_id": line.variant.id})
    if address is None:
        address = await resolve_address(db, user, body)
    by_shop: dict[int, DraftOrder] = {}
    for line in sorted(lines, key=lambda item: (item.shop.id, item.variant.id)):
        draft = by_shop.setdefault(line.shop.id, DraftOrder(shop=line.shop, lines=[]))
        draft.lines.append(line)
        draft.subtotal += line.variant.price * line.quantity
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


async def place(db: AsyncSession, user: User, body: CheckoutIn, settings: Settings,
                placed: Placed | None = None) -> Checkout:
    """Create the checkout, its orders and payment intents, and reserve every unit.

    Variants are reserved last, in primary-key order (rule 3), with guarded updates; the first
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
        if line.variant.available < line.quantity:
            raise _out_of_stock(line)
    if not lines:
        raise ValidationFailed("Your cart is empty.", code="cart_empty")
    address = await resolve_address(db, user, body)
    raw = InTransaction.of(db)
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=settings.reservation_ttl_seconds)
    source = "buy_now" if body.items is not None else "cart"
    checkout_id = int(await raw.scalar(
        "INSERT INTO checkouts (buyer_id, status, address, expires_at, source, created_at, updated_at) "
        "VALUES (:buyer, 'open', :address, :expires, :source, :now, :now) RETURNING id",
        {"buyer": user.id, "address": address, "expires": expires_at, "source": source, "now": now}))
    checkout = snapshot(Checkout, dict(id=checkout_id, buyer_id=user.id, status="open", address=address,
                                       expires_at=expires_at, source=source, platform_coupon_code=None,
                                       created_at=now, updated_at=now))
    priced = await quote(db, user, body, settings, redeem_for_checkout=checkout_id, lines=lines, address=address)
    if body.expected_totals is not None and body.expected_totals != priced.totals():
        raise Conflict("Prices changed since you looked. Check the new totals and place the order again.",
                       code="prices_changed", details={"totals": priced.totals()})
    await db.flush()  # coupon redemptions, if any, before the plain statements below
    intents: dict[str, PaymentIntent] = {}
    for currency, amount in sorted(priced.totals().items()):
        intents[currency] = await payments.create_intent(db, checkout_id=checkout_id, buyer_id=user.id,
                                                         currency=currency, amount=amount,
                                                         provider_name=settings.payment_provider)
    orders: list[Order] = []
    reservations: list[dict[str, Any]] = []
    for draft in priced.orders:
        values = dict(checkout_id=checkout_id, buyer_id=user.id, shop_id=draft.shop.id, status="awaiting_payment",
                      currency=draft.currency, subtotal=draft.subtotal, seller_discount=draft.seller_discount,
                      platform_discount=draft.platform_discount, shipping=draft.shipping, tax=draft.tax,
                      total=draft.total, fee=0, refunded=0, address=priced.address,
                      seller_coupon_id=draft.seller_coupon_id, platform_coupon_id=draft.platform_coupon_id,
                      payment_intent_id=intents[draft.currency].id, created_at=now, updated_at=now)
        order_id = int(await raw.scalar(
            "INSERT INTO orders (checkout_id, buyer_id, shop_id, status, currency, subtotal, seller_discount, "
            "platform_discount, shipping, tax, total, fee, refunded, address, seller_coupon_id, platform_coupon_id, "
            "payment_intent_id, created_at, updated_at) VALUES (:checkout_id, :buyer_id, :shop_id, :status, "
            ":currency, :subtotal, :seller_discount, :platform_discount, :shipping, :tax, :total, :fee, :refunded, "
            ":address, :seller_coupon_id, :platform_coupon_id, :payment_intent_id, :created_at, :updated_at) "
            "RETURNING id", values))
        order = snapshot(Order, {"id": order_id, **values})
        written: list[OrderLine] = []
        totals = [line.variant.price * line.quantity for line in draft.lines]
        discounts = pricing.spread(draft.seller_discount + draft.platform_discount, totals)
        for line, line_total, discount in zip(draft.lines, totals, discounts, strict=True):
            line_values = dict(order_id=order_id, product_id=line.product.id, variant_id=line.variant.id,
                               title=line.product.title, variant_title=line.variant.title, sku=line.variant.sku,
                               unit_price=line.variant.price, quantity=line.quantity, discount=discount,
                               total=line_total - discount, refunded_quantity=0)
            line_id = int(await raw.scalar(
                "INSERT INTO order_lines (order_id, product_id, variant_id, title, variant_title, sku, unit_price, "
                "quantity, discount, total, refunded_quantity) VALUES (:order_id, :product_id, :variant_id, :title, "
                ":variant_title, :sku, :unit_price, :quantity, :discount, :total, :refunded_quantity) RETURNING id",
                line_values))
            written.append(snapshot(OrderLine, {"id": line_id, **line_values}))
            reservations.append({"variant": line.variant.id, "checkout": checkout_id, "line": line_id,
                                 "q": line.quantity, "expires": expires_at, "now": now})
        note = "Order placed; stock reserved."
        await raw.execute("INSERT INTO order_events (order_id, status, note, actor_id, created_at) "
                          "VALUES (:order, 'awaiting_payment', :note, :actor, :now)",
                          {"order": order_id, "note": note, "actor": user.id, "now": now})
        orders.append(order)
        if placed is not None:
            placed.shops[draft.shop.id] = draft.shop
            placed.lines[order_id] = written
            placed.events[order_id] = [snapshot(OrderEvent, dict(order_id=order_id, status="awaiting_payment",
                                                                 note=note, actor_id=user.id, created_at=now))]
    await inventory.hold_for_checkout(db, reservations)
    if placed is not None:
        placed.orders = orders
        placed.intents = list(intents.values())
    # Take the stock in primary-key order (rule 3); the first variant short of stock aborts the
    # whole checkout, and the transaction rolls everything above back.
    for line in sorted(lines, key=lambda item: item.variant.id):
        if not await inventory.reserve(db, line.variant.id, line.quantity):
            await _reread_stock(db, line.variant)
            raise _out_of_stock(line)
    checkpoint("checkout.after_reserve")
    return checkout


async def _reread_stock(db: AsyncSession, variant: Variant) -> None:
    """Refresh a variant snapshot's counters (for the ``out_of_stock`` answer)."""
    row = await InTransaction.of(db).first("SELECT stock, reserved, allocated FROM variants WHERE id = :id",
                                           {"id": variant.id})
    if row is not None:
        variant.stock, variant.reserved, variant.allocated = row


async def refuse_if_visibly_sold_out(db: AsyncSession, user_id: int, body: CheckoutIn, idempotency_key: str | None,
                                     settings: Settings) -> None:
    """The flash-sale fast path: on a *read* transaction, before the write path is touched (on
    SQLite: before the process's write lock), answer ``409 out_of_stock`` to a buy-now whose
    item is visibly sold out — what :func:`place` would answer after four write transactions.

    Only a refusal is decided here; everything else (including any problem with the request)
    falls through to the normal path, which decides for real. A request whose Idempotency-Key
    is already known falls through too, so that a replay returns its stored answer even after
    the stock ran out (R5). The snapshot may be a moment old; a refusal is then the answer the
    buyer would have had a moment earlier, never an oversell.
    """
    if body.items is None:
        return
    scope = f"user:{user_id}:checkouts"
    if idempotency_key is not None and await idempotency.is_known(db, scope, idempotency_key):
        return
    wanted: dict[int, int] = defaultdict(int)
    for item in body.items:
        wanted[item.variant_id] += item.quantity
    for variant_id, quantity in sorted(wanted.items()):
        try:
            variant, product, shop = await carts._purchasable(db, variant_id)
        except AppError:
            return
        if variant.available < quantity <= settings.max_cart_quantity:
            raise _out_of_stock(carts.Line(variant=variant, product=product, shop=shop, quantity=quantity))


def _out_of_stock(line: carts.Line) -> Conflict:
    return Conflict(
        f"{line.product.title} ({line.variant.title}): {carts._stock_message(line.variant.available)}",
        code="out_of_stock", details={"variant_id": line.variant.id, "available": line.variant.available},
    )


async def get_checkout(db: AsyncSession, user: User, checkout_id: int) -> Checkout:
    checkout = await InTransaction.of(db).load_one(Checkout, _CHECKOUT_SQL, {"id": checkout_id})
    if checkout is None or checkout.buyer_id != user.id:
        raise NotFound("No such checkout.")
    return checkout


_CHECKOUT_SQL = f"SELECT {InTransaction.columns(Checkout, 'c')} FROM checkouts c WHERE c.id = :id"  # noqa: S608 (columns)


async def orders_of_checkout(db: AsyncSession, checkout_id: int) -> list[Order]:
    return list((await db.execute(select(Order).where(Order.checkout_id == checkout_id).order_by(Order.id))).scalars())
