"""Turn orders, checkouts and returns into API bodies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.kit.money import format_money
from mercato.orders import lifecycle, repository, reviews
from mercato.orders.models import Checkout, Order, OrderEvent, OrderLine, Refund, ReturnRequest
from mercato.orders.notify import order_number
from mercato.orders.schemas import (
    CheckoutOut,
    OrderEventOut,
    OrderLineOut,
    OrderOut,
    PaymentIntentBrief,
    RefundOut,
    ReturnOut,
)
from mercato.payments import repository as payments_repo
from mercato.payments.models import PaymentIntent


async def order_out(db: AsyncSession, order: Order, settings: Settings, *, seller_view: bool = False) -> OrderOut:
    return (await orders_out(db, [order], settings, seller_view=seller_view))[0]


async def orders_out(db: AsyncSession, orders: Sequence[Order], settings: Settings, *,
                     seller_view: bool = False) -> list[OrderOut]:
    """The bodies of ``orders`` (any number: three plain statements, four with a delivered one;
    every part of any number of orders in one statement each, as detached read-only rows)."""
    if not orders:
        return []
    ids = [order.id for order in orders]
    shops = await catalog_repo.shop_snapshots(db, [o.shop_id for o in orders])
    lines: dict[int, list[OrderLine]] = {order_id: [] for order_id in ids}
    for line in await repository.line_snapshots(db, ids):
        lines[line.order_id].append(line)
    history: dict[int, list[OrderEvent]] = {order_id: [] for order_id in ids}
    for event in await repository.event_snapshots(db, ids):
        history[event.order_id].append(event)
    # A line can only be reviewed once its order was delivered (reviews.review_line), and
    # ``delivered_at`` is never cleared: undelivered orders need no look-up.
    delivered = [line.id for order in orders if order.delivered_at is not None for line in lines[order.id]]
    reviewed = await reviews.reviewed_line_ids(db, delivered) if delivered else set()
    return [order_body(order, shops[order.shop_id], lines[order.id], reviewed, history[order.id], settings,
                       seller_view=seller_view) for order in orders]


def order_body(order: Order, shop: Shop, lines: Sequence[OrderLine], reviewed: set[int],
               history: Sequence[OrderEvent], settings: Settings, *, seller_view: bool = False) -> OrderOut:
    """The body of an order from its rows (``lines`` and ``history`` in id order)."""
    now = datetime.now(UTC)
    delivered_recently = (order.status in ("delivered", "completed") and order.delivered_at is not None)
    return OrderOut(
        id=order.id, number=order_number(order.id), checkout_id=order.checkout_id, shop_id=shop.id,
        shop_slug=shop.slug, shop_name=shop.name, buyer_id=order.buyer_id, status=order.status,
        currency=order.currency, subtotal=order.subtotal, seller_discount=order.seller_discount,
        platform_discount=order.platform_discount, shipping=order.shipping, tax=order.tax, total=order.total,
        total_display=format_money(order.total, order.currency), credits=order.credits or 0, refunded=order.refunded,
        fee=order.fee if seller_view else None, address=dict(order.address), carrier=order.carrier,
        tracking_number=order.tracking_number, payment_intent_id=order.payment_intent_id,
        created_at=order.created_at, paid_at=order.paid_at, shipped_at=order.shipped_at,
        delivered_at=order.delivered_at, cancelled_at=order.cancelled_at, source=order.source, live_id=order.live_id,
        lines=[OrderLineOut(id=line.id, product_id=line.product_id, variant_id=line.variant_id, title=line.title,
                            variant_title=line.variant_title, sku=line.sku, unit_price=line.unit_price,
                            quantity=line.quantity, discount=line.discount, total=line.total,
                            refunded_quantity=line.refunded_quantity, reviewed=line.id in reviewed)
               for line in lines],
        history=[OrderEventOut(status=e.status, note=e.note, created_at=e.created_at) for e in history],
        can_cancel=lifecycle.buyer_can_cancel(order, settings, now),
        can_return=bool(delivered_recently and order.delivered_at is not None
                        and now - order.delivered_at <= timedelta(days=settings.return_window_days)
                        and order.refunded < order.total),
        can_review=bool(delivered_recently and order.delivered_at is not None
                        and now - order.delivered_at <= timedelta(days=settings.review_window_days)),
    )


def intent_brief(intent: PaymentIntent) -> PaymentIntentBrief:
    return PaymentIntentBrief(
        id=intent.id, currency=intent.currency, amount=intent.amount,
        amount_display=format_money(intent.amount, intent.currency), status=intent.status,
        next_action=intent.next_action, last_error_code=intent.last_error_code,
        last_error_message=intent.last_error_message)


async def checkout_out(db: AsyncSession, checkout: Checkout, settings: Settings) -> CheckoutOut:
    orders = await repository.checkout_order_snapshots(db, checkout.id)
    intents = await payments_repo.intents_of_checkout(db, checkout.id)
    totals, credits = _totals(orders)
    return CheckoutOut(id=checkout.id, status=checkout.status, expires_at=checkout.expires_at,
                       orders=await orders_out(db, orders, settings),
                       payments=[intent_brief(i) for i in intents], totals=totals, credits=credits)


def _totals(orders: Sequence[Order]) -> tuple[dict[str, int], dict[str, int]]:
    """Per currency: the orders' totals, and the part paid with credits (currencies with some)."""
    totals: dict[str, int] = {}
    credits: dict[str, int] = {}
    for order in orders:
        totals[order.currency] = totals.get(order.currency, 0) + order.total
        if order.credits:
            credits[order.currency] = credits.get(order.currency, 0) + order.credits
    return totals, credits


def placed_checkout_out(checkout: Checkout, orders: Sequence[Order], shops: dict[int, Shop],
                        lines: dict[int, list[OrderLine]], events: dict[int, list[OrderEvent]],
                        intents: Sequence[PaymentIntent], settings: Settings) -> CheckoutOut:
    """:func:`checkout_out` of a checkout just placed, from the rows the request wrote (no reads):
    new orders have no reviews, and their lines and history are exactly what was written."""
    totals, credits = _totals(orders)
    return CheckoutOut(id=checkout.id, status=checkout.status, expires_at=checkout.expires_at,
                       orders=[order_body(o, shops[o.shop_id], lines[o.id], set(), events[o.id], settings)
                               for o in orders],
                       payments=[intent_brief(i) for i in intents], totals=totals, credits=credits)


def return_out(request: ReturnRequest, currency: str) -> ReturnOut:
    return ReturnOut(id=request.id, order_id=request.order_id, status=request.status, reason=request.reason,
                     lines=list(request.lines), amount=request.amount,
                     amount_display=format_money(request.amount, currency), created_at=request.created_at,
                     answered_at=request.answered_at, answer_note=request.answer_note,
                     auto_approved=request.auto_approved)


def refund_out(refund: Refund, currency: str) -> RefundOut:
    return RefundOut(id=refund.id, order_id=refund.order_id, amount=refund.amount,
                     amount_display=format_money(refund.amount, currency), reason=refund.reason,
                     created_at=refund.created_at)
