"""Order life after checkout: paid → shipped → delivered → completed, cancellations, expiry and
settlement (service layer). Every step is a guarded status change (``UPDATE … WHERE status =
<expected>`` with a row-count check), so retries and concurrent jobs never apply a step twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.inventory import service as inventory
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.sql.transaction import InTransaction
from mercato.ledger import postings
from mercato.orders import cart as carts
from mercato.orders import notify
from mercato.orders.models import Checkout, Order, OrderEvent, OrderLine
from mercato.payments import hooks as payment_hooks
from mercato.payments.models import PaymentIntent
from mercato.promotions import service as promotions


async def transition(db: AsyncSession, order: Order, from_status: tuple[str, ...], to_status: str, *,
                     note: str = "", actor_id: int | None = None, **values: object) -> bool:
    """Move ``order`` to ``to_status`` if it is still in one of ``from_status``."""
    result = await db.execute(
        update(Order).where(Order.id == order.id, Order.status.in_(from_status))
        .values(status=to_status, **values).execution_options(synchronize_session=False)
    )
    if int(result.rowcount) != 1:  # type: ignore[attr-defined]
        return False
    await db.refresh(order)
    db.add(OrderEvent(order_id=order.id, status=to_status, note=note, actor_id=actor_id))
    await db.flush()
    return True


async def lines_of(db: AsyncSession, order_id: int) -> list[OrderLine]:
    return list((await db.execute(select(OrderLine).where(OrderLine.order_id == order_id)
                                  .order_by(OrderLine.id))).scalars())


def payment_split(order: Order, settings_fee_bps: int) -> postings.PaymentSplit:
    return postings.split_payment(order.total, order.tax, order.platform_discount, settings_fee_bps)


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
    status: str = "paid"


async def on_intent_succeeded(db: AsyncSession, intent: PaymentIntent) -> None:
    """A payment went through (synchronously or by webhook): its orders become paid.

    Reserved units become allocations, the money is booked in the ledger, the buyer's cart
    loses what was bought. An order whose checkout already expired is refunded at once.

    This is the hot end of every purchase, so it runs as plain statements (``kit.sql InTransaction``,
    ≈ 15 of them for a one-order checkout) instead of ORM loads and flushes; the guarded
    updates are the same, and loaded copies of the rows are kept current.
    """
    from mercato.config import get_settings
    from mercato.orders import refunds

    settings = get_settings()
    now = datetime.now(UTC)
    raw = InTransaction.of(db)
    await db.flush()  # the intent's pending changes first
    rows = await raw.all(
        "SELECT id, status, checkout_id, shop_id, buyer_id, currency, total, tax, platform_discount, refunded "
        "FROM orders WHERE payment_intent_id = :intent ORDER BY id", {"intent": intent.id})
    paid: list[_PaidOrder] = []
    for order_id, status, checkout_id, shop_id, buyer_id, currency, total, tax, discount, refunded in rows:
        if status == "expired":
            expired = await db.get(Order, order_id)
            assert expired is not None
            await refunds.refund_order(db, expired, expired.total, reason="Paid after the reservation expired",
                                       settings=settings, allow_unpaid=True)
            continue
        split = postings.split_payment(total, tax, discount, settings.platform_fee_bps)
        # The fee is stored by the same guarded update that marks the order paid.
        if not await raw.execute("UPDATE orders SET status = 'paid', paid_at = :now, fee = :fee, updated_at = :now "
                                 "WHERE id = :id AND status = 'awaiting_payment'",
                                 {"now": now, "fee": split.fee, "id": order_id}):
            continue
        raw.sync(Order, order_id, status="paid", paid_at=now, fee=split.fee, updated_at=now)
        paid.append(_PaidOrder(id=order_id, checkout_id=checkout_id, shop_id=shop_id, buyer_id=buyer_id,
                               currency=currency, total=total, refunded=refunded, split=split))
    bought: dict[int, int] = {}
    if paid:
        ids = [order.id for order in paid]
        await raw.executemany("INSERT INTO order_events (order_id, status, note, created_at) "
                              "VALUES (:order, 'paid', 'Payment received.', :now)",
                              [{"order": order_id, "now": now} for order_id in ids])
        sold: dict[int, int] = {}
        for variant_id, product_id, quantity in await raw.all(
                "SELECT variant_id, product_id, quantity FROM order_lines WHERE order_id IN :ids ORDER BY id",
                {"ids": ids}):
            bought[variant_id] = bought.get(variant_id, 0) + quantity
            sold[product_id] = sold.get(product_id, 0) + quantity
        for variant_id, quantity in sorted(bought.items()):  # rows in primary-key order (rule 3)
            if not await inventory.allocate(db, variant_id, quantity):
                raise Conflict("Stock bookkeeping is inconsistent.", code="allocation_failed")
        await raw.executemany("UPDATE products SET sold_count = sold_count + :q, updated_at = :now WHERE id = :id",
                              [{"q": q, "now": now, "id": product_id} for product_id, q in sorted(sold.items())])
        await raw.execute("UPDATE reservations SET status = 'allocated' WHERE checkout_id IN :checkouts "
                          "AND status = 'active' "
                          "AND order_line_id IN (SELECT id FROM order_lines WHERE order_id IN :ids)",
                          {"checkouts": sorted({order.checkout_id for order in paid}), "ids": ids})
        for order in paid:
            await postings.post_order_payment(db, order_id=order.id, shop_id=order.shop_id, currency=order.currency,
                                              split=order.split)
            await notify.order_changed(db, order, "order.paid", buyer_subject="Thanks for your order",
                                       buyer_body="Your payment went through. The shop will ship soon.",
                                       seller_subject="New paid order",
                                       seller_body="Ship it within 2 business days.")
    checkout = await raw.first("SELECT status, source, buyer_id FROM checkouts WHERE id = :id",
                               {"id": intent.checkout_id})
    if checkout is not None:
        status, source, buyer_id = checkout
        if status == "open" and await raw.execute(
                "UPDATE checkouts SET status = 'paid', updated_at = :now WHERE id = :id AND status = 'open' "
                "AND NOT EXISTS (SELECT 1 FROM orders WHERE checkout_id = :id AND status = 'awaiting_payment')",
                {"now": now, "id": intent.checkout_id}):
            raw.sync(Checkout, intent.checkout_id, status="paid", updated_at=now)
        if source == "cart" and bought:
            await carts.remove_purchased(db, buyer_id, bought)


async def expire_checkout(db: AsyncSession, checkout_id: int) -> int:
    """Release the stock and coupons of an unpaid checkout whose reservation TTL passed."""
    released = 0
    for reservation in await inventory.reservations_of_checkout(db, checkout_id):
        if await inventory.mark(db, reservation.id, "active", "released"):
            await inventory.release(db, reservation.variant_id, reservation.quantity)
            released += 1
    for order in list((await db.execute(select(Order).where(Order.checkout_id == checkout_id))).scalars()):
        if await transition(db, order, ("awaiting_payment",), "expired",
                            note="Not paid in time; the reserved stock was released."):
            await notify.order_changed(db, order, "order.expired")
    checkout = await db.get(Checkout, checkout_id)
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
    order = await db.get(Order, order_id)
    if order is None or order.buyer_id != user.id:
        raise NotFound("No such order.")
    return order


async def order_for_seller(db: AsyncSession, user: User, order_id: int) -> Order:
    from mercato.catalog import repository as catalog_repo

    order = await db.get(Order, order_id)
    if order is None or await catalog_repo.membership(db, order.shop_id, user.id) is None:
        raise NotFound("No such order.")
    return order


async def ship(db: AsyncSession, order: Order, user: User, carrier: str, tracking: str) -> Order:
    if not await transition(db, order, ("paid",), "shipped", note=f"Shipped with {carrier}, tracking {tracking}.",
                            actor_id=user.id, shipped_at=datetime.now(UTC), carrier=carrier, tracking_number=tracking):
        raise Conflict(f"An order that is {order.status.replace('_', ' ')} cannot be shipped.", code="invalid_status")
    for line in await lines_of(db, order.id):
        await inventory.ship(db, line.variant_id, line.quantity - line.refunded_quantity)
    from mercato.inventory.models import Reservation

    await db.execute(update(Reservation).where(Reservation.checkout_id == order.checkout_id,
                                               Reservation.status == "allocated",
                                               Reservation.order_line_id.in_(
                                                   select(OrderLine.id).where(OrderLine.order_id == order.id)))
                     .values(status="shipped"))
    await notify.order_changed(db, order, "order.shipped", buyer_subject="Your order is on its way",
                               buyer_body=f"{carrier} tracking number: {tracking}", carrier=carrier,
                               tracking_number=tracking)
    return order


async def deliver(db: AsyncSession, order: Order, user: User | None) -> Order:
    if not await transition(db, order, ("shipped",), "delivered", note="Delivered.",
                            actor_id=user.id if user else None, delivered_at=datetime.now(UTC)):
        raise Conflict(f"An order that is {order.status.replace('_', ' ')} cannot be marked delivered.",
                       code="invalid_status")
    await notify.order_changed(db, order, "order.delivered", buyer_subject="Your order was delivered",
                               buyer_body="Enjoy! You can review it or request a return within 30 days.")
    return order


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
    from mercato.orders import refunds

    if order.status == "awaiting_payment":
        await _cancel_unpaid(db, order, user, reason or "Cancelled before payment.")
        return order
    if order.status != "paid":
        raise Conflict(f"An order that is {order.status.replace('_', ' ')} cannot be cancelled.",
                       code="invalid_status")
    if not by_seller and not buyer_can_cancel(order, settings):
        raise Conflict("Orders can be cancelled within 1 hour of payment; request a return after delivery.",
                       code="cancel_window_passed")
    await refunds.refund_order(db, order, order.total - order.refunded,
                               reason=reason or ("Cancelled by the seller" if by_seller else "Cancelled by the buyer"),
                               settings=settings, actor=user)
    return order


async def _cancel_unpaid(db: AsyncSession, order: Order, user: User, note: str) -> None:
    from mercato.inventory.models import Reservation

    line_ids = select(OrderLine.id).where(OrderLine.order_id == order.id)
    reservations = list((await db.execute(select(Reservation).where(
        Reservation.order_line_id.in_(line_ids), Reservation.status == "active"))).scalars())
    if not await transition(db, order, ("awaiting_payment",), "cancelled", note=note, actor_id=user.id,
                            cancelled_at=datetime.now(UTC)):
        raise Conflict("This order changed meanwhile; reload it.", code="invalid_status")
    for reservation in reservations:
        if await inventory.mark(db, reservation.id, "active", "released"):
            await inventory.release(db, reservation.variant_id, reservation.quantity)
    await notify.order_changed(db, order, "order.cancelled")


async def settle_due(db: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    """Delivered orders past the settlement period: seller earnings become available."""
    now = now or datetime.now(UTC)
    due = list((await db.execute(select(Order).where(
        Order.status == "delivered", Order.settled_at.is_(None),
        Order.delivered_at <= now - timedelta(days=settings.settlement_days)).limit(200))).scalars())
    count = 0
    for order in due:
        if await transition(db, order, ("delivered",), "completed", note="Settled: earnings available to the seller.",
                            settled_at=now, completed_at=now):
            await postings.post_settlement(db, order_id=order.id, shop_id=order.shop_id, currency=order.currency)
            await notify.order_changed(db, order, "order.completed")
            count += 1
    return count


def require_reason(text: str) -> str:
    text = text.strip()
    if len(text) < 3:
        raise ValidationFailed("Tell us why (at least 3 characters).", code="reason_required",
                               details={"field": "reason"})
    return text


# Orders learn about succeeded payments through the payments domain's hooks (payments never
# imports orders). Registering is idempotent; importing this module is enough, in the app,
# the command line and jobs alike.
payment_hooks.register_succeeded(on_intent_succeeded)
