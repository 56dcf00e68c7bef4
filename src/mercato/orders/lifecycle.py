"""Order life after checkout: paid → shipped → delivered → completed, cancellations, expiry and
settlement (service layer). Every step is a guarded status change (``UPDATE … WHERE status =
<expected>`` with a row-count check), so retries and concurrent jobs never apply a step twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import products as catalog_products
from mercato.catalog import repository as catalog_repo
from mercato.config import Settings, get_settings
from mercato.inventory import service as inventory
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.ledger import postings
from mercato.orders import cart as carts
from mercato.orders import events, hooks, notify, repository
from mercato.orders.errors import OrdersError
from mercato.orders.models import Order, OrderLine
from mercato.payments import hooks as payment_hooks
from mercato.payments.models import PaymentIntent
from mercato.promotions import credits as shopping_credits
from mercato.promotions import service as promotions


async def transition(db: AsyncSession, order: Order, from_status: tuple[str, ...], to_status: str, *,
                     note: str = "", actor_id: int | None = None, **values: object) -> bool:
    """Move ``order`` to ``to_status`` if it is still in one of ``from_status`` (and record the
    event); ``False`` if it was not (nothing changed)."""
    if not await repository.change_status(db, order.id, from_status, to_status, values):
        return False
    await db.refresh(order)
    await events.record(db, order.id, to_status, note, actor_id=actor_id)
    return True


async def order_by_id(db: AsyncSession, order_id: int) -> Order:
    """An order by id, for the domains above orders (connections pushes it to the seller's store)."""
    order = await repository.order(db, order_id)
    if order is None:
        raise NotFound("No such order.")
    return order


async def lines_of(db: AsyncSession, order_id: int) -> list[OrderLine]:
    return await repository.lines_of(db, order_id)


def payment_split(order: Order, settings_fee_bps: int) -> postings.PaymentSplit:
    return postings.split_payment(order.total, order.tax, order.platform_discount, settings_fee_bps,
                                  order.credits or 0)


@dataclass
class _PaidOrder:
    """The facts of an order just marked paid (for its event and emails; see notify.OrderFacts)."""

    id: int
    checkout_id: int
    shop_id: int
    buyer_id: int
    currency: str
    total: int
    refunded: int
    split: postings.PaymentSplit
    live_id: int | None = None
    status: str = "paid"


async def on_intent_succeeded(db: AsyncSession, intent: PaymentIntent) -> None:
    """A payment went through (synchronously or by webhook): its orders become paid.

    Reserved units become allocations, the money is booked in the ledger, the buyer's cart
    loses what was bought. An order whose checkout already expired is refunded at once.

    This is the hot end of every purchase, so it runs as plain statements (``kit.sql
    InTransaction``, a fixed number per order) instead of ORM loads and flushes; the guarded
    updates are the same, and loaded copies of the rows are kept current. Stock and
    reservations move through the inventory service, the products' sales counts through the
    catalog's.
    """
    # lint: local-import (refunds imports this module: transition, payment_split)
    from mercato.orders import refunds

    settings = get_settings()
    now = datetime.now(UTC)
    await db.flush()  # the intent's pending changes first
    rows = await repository.orders_of_intent(db, intent.id)
    paid: list[_PaidOrder] = []
    for order_id, status, checkout_id, shop_id, buyer_id, currency, total, tax, discount, refunded, credits, live_id \
            in rows:
        if status == "expired":
            expired = await repository.order(db, order_id)
            assert expired is not None
            await refunds.refund_order(db, expired, expired.total, reason="Paid after the reservation expired",
                                       settings=settings, allow_unpaid=True)
            continue
        split = postings.split_payment(total, tax, discount, settings.platform_fee_bps, credits)
        # The fee is stored by the same guarded update that marks the order paid.
        if not await repository.mark_paid(db, order_id, split.fee, now):
            continue
        paid.append(_PaidOrder(id=order_id, checkout_id=checkout_id, shop_id=shop_id, buyer_id=buyer_id,
                               currency=currency, total=total, refunded=refunded, split=split, live_id=live_id))
    bought: dict[int, int] = {}
    if paid:
        ids = [order.id for order in paid]
        await events.record_same(db, ids, "paid", "Payment received.", now=now)
        sold: dict[int, int] = {}
        line_ids: list[int] = []
        for line_id, variant_id, product_id, quantity in await repository.sold_lines(db, ids):
            line_ids.append(line_id)
            bought[variant_id] = bought.get(variant_id, 0) + quantity
            sold[product_id] = sold.get(product_id, 0) + quantity
        await inventory.allocate_all(db, bought)  # rows in primary-key order
        await catalog_products.record_sale(db, sold, now)
        await inventory.allocate_reservations(db, [order.checkout_id for order in paid], line_ids)
        for order in paid:
            await postings.post_order_payment(db, order_id=order.id, shop_id=order.shop_id, currency=order.currency,
                                              split=order.split)
            await hooks.order_money(db, hooks.OrderMoneyEvent(
                kind="paid", order_id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id,
                currency=order.currency, amount=order.total, at=now, live_id=order.live_id))
            await notify.order_changed(db, order, "order.paid", buyer_subject="Thanks for your order",
                                       buyer_body="Your payment went through. The shop will ship soon.",
                                       seller_subject="New paid order",
                                       seller_body="Ship it within 2 business days.")
    if intent.checkout_id is None:  # not a checkout's payment (a coin purchase: live/gifts)
        return
    checkout = await repository.checkout_state(db, intent.checkout_id)
    if checkout is not None:
        status, source, buyer_id = checkout
        if status == "open":
            await repository.close_checkout_paid(db, intent.checkout_id, now)
        if source == "cart" and bought:
            await carts.remove_purchased(db, buyer_id, bought)


async def expire_checkout(db: AsyncSession, checkout_id: int) -> int:
    """Release the stock and coupons of an unpaid checkout whose reservation TTL passed."""
    released = await inventory.release_checkout(db, checkout_id)
    await hooks.release_live_units(db, checkout_id)  # LIVE flash-deal units the checkout held
    for order in await repository.orders_of_checkout(db, checkout_id):
        if await transition(db, order, ("awaiting_payment",), "expired",
                            note="Not paid in time; the reserved stock was released."):
            await release_credits(db, order)
            await notify.order_changed(db, order, "order.expired")
    checkout = await repository.loaded_checkout(db, checkout_id)
    if checkout is not None and checkout.status == "open":
        checkout.status = "expired"
        await promotions.release_checkout(db, checkout_id)
    await db.flush()
    return released


async def expire_due(db: AsyncSession, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    count = 0
    for checkout_id in await inventory.expired_checkouts(db, now):
        count += await expire_checkout(db, checkout_id)
    return count


async def order_for_buyer(db: AsyncSession, user: User, order_id: int) -> Order:
    order = await repository.order(db, order_id)
    if order is None or order.buyer_id != user.id:
        raise NotFound("No such order.")
    return order


async def order_for_seller(db: AsyncSession, user: User, order_id: int) -> Order:
    order = await repository.order(db, order_id)
    if order is None or await catalog_repo.membership(db, order.shop_id, user.id) is None:
        raise NotFound("No such order.")
    return order


async def ship(db: AsyncSession, order: Order, user: User | None, carrier: str, tracking: str) -> Order:
    """Mark a paid order shipped; ``user`` is ``None`` when the seller's connected store reported
    the fulfilment (connections)."""
    if not await transition(db, order, ("paid",), "shipped", note=f"Shipped with {carrier}, tracking {tracking}.",
                            actor_id=user.id if user else None, shipped_at=datetime.now(UTC), carrier=carrier,
                            tracking_number=tracking):
        raise Conflict(f"An order that is {order.status.replace('_', ' ')} cannot be shipped.",
                       code=OrdersError.INVALID_STATUS)
    lines = await lines_of(db, order.id)
    for line in lines:
        await inventory.ship(db, line.variant_id, line.quantity - line.refunded_quantity)
    await inventory.ship_reservations(db, order.checkout_id, [line.id for line in lines])
    await notify.order_changed(db, order, "order.shipped", buyer_subject="Your order is on its way",
                               buyer_body=f"{carrier} tracking number: {tracking}", carrier=carrier,
                               tracking_number=tracking)
    return order


async def deliver(db: AsyncSession, order: Order, user: User | None) -> Order:
    if not await transition(db, order, ("shipped",), "delivered", note="Delivered.",
                            actor_id=user.id if user else None, delivered_at=datetime.now(UTC)):
        raise Conflict(f"An order that is {order.status.replace('_', ' ')} cannot be marked delivered.",
                       code=OrdersError.INVALID_STATUS)
    await notify.order_changed(db, order, "order.delivered", buyer_subject="Your order was delivered",
                               buyer_body="Enjoy! You can review it or request a return within 30 days.")
    return order


@dataclass
class OrdersPage:
    items: list[Order]
    next_cursor: str | None


async def orders_page(db: AsyncSession, *, limit: int, buyer: User | None = None, shop_id: int | None = None,
                      status: str | None = None, cursor: str | None = None) -> OrdersPage:
    """A keyset page of a buyer's or a shop's orders, newest first (``cursor`` from the
    previous page's ``next_cursor``, made by ``kit.pagination``)."""
    after = decode_cursor(cursor, (int,))
    rows = await repository.orders_page(db, limit=limit + 1, buyer_id=buyer.id if buyer else None, shop_id=shop_id,
                                        status=status, before_id=after[0] if after else None)
    more = len(rows) > limit
    return OrdersPage(items=rows[:limit], next_cursor=encode_cursor([rows[limit - 1].id]) if more else None)


async def recent_orders(db: AsyncSession, *, limit: int, buyer: User | None = None, shop_id: int | None = None,
                        status: str | None = None) -> list[Order]:
    """The newest orders of a buyer or of a shop (the web pages' lists)."""
    return await repository.orders_page(db, limit=limit, buyer_id=buyer.id if buyer else None, shop_id=shop_id,
                                        status=status)


def buyer_can_cancel(order: Order, settings: Settings, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    if order.status == "awaiting_payment":
        return True
    return (order.status == "paid" and order.paid_at is not None
            and now - order.paid_at <= timedelta(seconds=settings.buyer_cancel_window_seconds))


async def cancel(db: AsyncSession, order: Order, user: User, *, by_seller: bool, settings: Settings,
                 reason: str = "") -> Order:
    """Buyer: while unpaid, or within the cancel window after payment. Seller: before shipping.
    A paid order is refunded in full and its units return to stock."""
    # lint: local-import (refunds imports this module: transition, payment_split)
    from mercato.orders import refunds

    if order.status == "awaiting_payment":
        await _cancel_unpaid(db, order, user, reason or "Cancelled before payment.")
        return order
    if order.status != "paid":
        raise Conflict(f"An order that is {order.status.replace('_', ' ')} cannot be cancelled.",
                       code=OrdersError.INVALID_STATUS)
    if not by_seller and not buyer_can_cancel(order, settings):
        raise Conflict("Orders can be cancelled within 1 hour of payment; request a return after delivery.",
                       code=OrdersError.CANCEL_WINDOW_PASSED)
    await refunds.refund_order(db, order, order.total - order.refunded,
                               reason=reason or ("Cancelled by the seller" if by_seller else "Cancelled by the buyer"),
                               settings=settings, actor=user)
    return order


async def _cancel_unpaid(db: AsyncSession, order: Order, user: User, note: str) -> None:
    lines = await lines_of(db, order.id)
    reservations = await inventory.active_reservations_of_lines(db, [line.id for line in lines])
    if not await transition(db, order, ("awaiting_payment",), "cancelled", note=note, actor_id=user.id,
                            cancelled_at=datetime.now(UTC)):
        raise Conflict("This order changed meanwhile; reload it.", code=OrdersError.INVALID_STATUS)
    await inventory.release_reservations(db, reservations)
    await hooks.release_live_units(db, order.checkout_id, [line.id for line in lines])
    await release_credits(db, order)
    await notify.order_changed(db, order, "order.cancelled")


async def release_credits(db: AsyncSession, order: Order) -> None:
    """An order that will never be paid (expired, cancelled unpaid) gives its credits back.
    Called only by the guarded transition that won, so a payment never takes them too."""
    await shopping_credits.release(db, user_id=order.buyer_id, order_id=order.id, shop_id=order.shop_id,
                                   currency=order.currency, amount=order.credits or 0)


async def settle_due(db: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    """Delivered orders past the settlement period: seller earnings become available."""
    now = now or datetime.now(UTC)
    due = await repository.due_for_settlement(db, now - timedelta(days=settings.settlement_days), 200)
    count = 0
    for order in due:
        if await transition(db, order, ("delivered",), "completed", note="Settled: earnings available to the seller.",
                            settled_at=now, completed_at=now):
            await postings.post_settlement(db, order_id=order.id, shop_id=order.shop_id, currency=order.currency)
            await hooks.order_money(db, hooks.OrderMoneyEvent(
                kind="settled", order_id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id,
                currency=order.currency, amount=order.total, at=now))
            await notify.order_changed(db, order, "order.completed")
            count += 1
    return count


def require_reason(text: str) -> str:
    text = text.strip()
    if len(text) < 3:
        raise ValidationFailed("Tell us why (at least 3 characters).", code=OrdersError.REASON_REQUIRED,
                               details={"field": "reason"})
    return text


# Orders learn about succeeded payments through the payments domain's hooks (payments never
# imports orders). Registering is idempotent; importing this module is enough, in the app,
# the command line and jobs alike.
payment_hooks.register_succeeded(on_intent_succeeded)
