"""Refunds (full and partial) and returns (service layer).

A refund goes to the payment provider with an idempotency key derived from the refund row,
and the ledger reverses the payment's parts pro rata (``ledger.postings.split_refund``): before
settlement from the seller's pending balance, after it from the available balance (which may
go negative — a clawback netted from the next payout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.inventory import service as inventory
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.money import format_money
from mercato.ledger import postings
from mercato.orders import lifecycle, notify
from mercato.orders.models import Order, OrderEvent, OrderLine, Refund, ReturnRequest
from mercato.payments import provider as payment_providers
from mercato.payments import service as payments
from mercato.payments.models import PaymentIntent


async def refund_order(db: AsyncSession, order: Order, amount: int, *, reason: str, settings: Settings,
                       actor: User | None = None, return_id: int | None = None, allow_unpaid: bool = False,
                       restock_lines: dict[int, int] | None = None) -> Refund:
    """Refund ``amount`` of ``order``. A refund of everything that is left on an order that has
    not shipped cancels it and puts its units back in stock."""
    if amount <= 0:
        raise ValidationFailed("The refund amount must be positive.", code="invalid_amount",
                               details={"field": "amount"})
    was_paid = order.paid_at is not None
    if not was_paid and not allow_unpaid:
        raise Conflict("Only paid orders can be refunded.", code="not_paid")
    if amount > order.total - order.refunded:
        raise ValidationFailed(
            f"At most {format_money(order.total - order.refunded, order.currency)} can still be refunded.",
            code="refund_too_large", details={"field": "amount", "max": order.total - order.refunded})
    guarded = await db.execute(
        update(Order).where(Order.id == order.id, Order.refunded + amount <= Order.total)
        .values(refunded=Order.refunded + amount).execution_options(synchronize_session=False))
    if int(guarded.rowcount) != 1:  # type: ignore[attr-defined]
        raise Conflict("This order was refunded meanwhile; reload it.", code="refund_conflict")
    refunded_before = order.refunded
    await db.refresh(order)
    refund = Refund(order_id=order.id, return_id=return_id, amount=amount, reason=reason[:500])
    db.add(refund)
    await db.flush()
    intent = await db.get(PaymentIntent, order.payment_intent_id) if order.payment_intent_id else None
    if intent is not None:
        provider = payment_providers.get_provider(settings)
        result = await payments.refund(db, intent, amount, provider=provider, idempotency_key=f"refund_{refund.id}")
        refund.provider_ref = getattr(result, "provider_ref", None)
    if was_paid:
        split = lifecycle.payment_split(order, settings.platform_fee_bps)
        parts = postings.split_refund(split, refunded_before, amount)
        await postings.post_refund(db, refund_id=refund.id, order_id=order.id, shop_id=order.shop_id,
                                   currency=order.currency, parts=parts, settled=order.settled_at is not None)
    db.add(OrderEvent(order_id=order.id, status="refunded",
                      note=f"Refunded {format_money(amount, order.currency)}. {reason}".strip(),
                      actor_id=actor.id if actor else None))
    for line_id, quantity in (restock_lines or {}).items():
        line = await db.get(OrderLine, line_id)
        if line is not None:
            line.refunded_quantity += quantity
            await inventory.restock(db, line.variant_id, quantity)
    if order.refunded == order.total and order.status == "paid":
        for line in await lifecycle.lines_of(db, order.id):
            await inventory.deallocate(db, line.variant_id, line.quantity)
        await lifecycle.transition(db, order, ("paid",), "cancelled", note="Cancelled and refunded in full.",
                                   actor_id=actor.id if actor else None, cancelled_at=datetime.now(UTC))
    elif order.refunded == order.total and order.status == "awaiting_payment":
        await lifecycle.transition(db, order, ("awaiting_payment",), "cancelled", note="Refunded.",
                                   cancelled_at=datetime.now(UTC))
    await notify.order_changed(db, order, "refund.created", buyer_subject="Your refund is on its way",
                               buyer_body=f"We refunded {format_money(amount, order.currency)} to your card.",
                               refund_id=refund.id, amount=amount)
    await db.flush()
    return refund


async def request_return(db: AsyncSession, order: Order, user: User, reason: str, lines: list[tuple[int, int]],
                         settings: Settings) -> ReturnRequest:
    """Within ``return_window_days`` of delivery; quantities within what was bought and not refunded."""
    reason = lifecycle.require_reason(reason)
    if order.status not in ("delivered", "completed") or order.delivered_at is None:
        raise Conflict("Returns open once the order is delivered.", code="not_delivered")
    if datetime.now(UTC) - order.delivered_at > timedelta(days=settings.return_window_days):
        raise Conflict(f"Returns close {settings.return_window_days} days after delivery.",
                       code="return_window_passed")
    open_request = (await db.execute(select(ReturnRequest.id).where(
        ReturnRequest.order_id == order.id, ReturnRequest.status == "requested"))).first()
    if open_request is not None:
        raise Conflict("A return for this order is already waiting for the seller.", code="return_pending")
    by_id = {line.id: line for line in await lifecycle.lines_of(db, order.id)}
    amount = 0
    chosen: list[dict[str, int]] = []
    for line_id, quantity in lines:
        line = by_id.get(line_id)
        if line is None:
            raise ValidationFailed("That item is not part of this order.", code="unknown_line",
                                   details={"field": "lines", "line_id": line_id})
        if quantity > line.quantity - line.refunded_quantity:
            raise ValidationFailed(f"You can return at most {line.quantity - line.refunded_quantity} of "
                                   f"{line.title}.", code="quantity_too_large", details={"line_id": line_id})
        # what the buyer paid for those units, discount included
        amount += line.total * quantity // line.quantity
        chosen.append({"line_id": line_id, "quantity": quantity})
    amount = min(amount, order.total - order.refunded)
    request = ReturnRequest(order_id=order.id, buyer_id=user.id, reason=reason, lines=chosen, amount=amount)
    db.add(request)
    await db.flush()
    db.add(OrderEvent(order_id=order.id, status="return_requested", note=reason, actor_id=user.id))
    await notify.order_changed(db, order, "return.requested", seller_subject="Return requested",
                               seller_body=f"Reason: {reason}. Answer within 48 hours or it is approved "
                                           f"automatically.", return_id=request.id)
    return request


async def return_for_seller(db: AsyncSession, user: User, return_id: int) -> tuple[ReturnRequest, Order]:
    request = await db.get(ReturnRequest, return_id)
    if request is None:
        raise NotFound("No such return.")
    order = await lifecycle.order_for_seller(db, user, request.order_id)
    return request, order


async def answer_return(db: AsyncSession, request: ReturnRequest, order: Order, *, approve: bool, note: str,
                        settings: Settings, actor: User | None, auto: bool = False) -> ReturnRequest:
    now = datetime.now(UTC)
    result = await db.execute(
        update(ReturnRequest).where(ReturnRequest.id == request.id, ReturnRequest.status == "requested")
        .values(status="approved" if approve else "refused", answered_at=now, answer_note=note[:1000],
                auto_approved=auto).execution_options(synchronize_session=False))
    if int(result.rowcount) != 1:  # type: ignore[attr-defined]
        raise Conflict("This return was already answered.", code="return_answered")
    await db.refresh(request)
    if approve:
        restock = {int(item["line_id"]): int(item["quantity"]) for item in request.lines}
        if request.amount > 0:
            await refund_order(db, order, request.amount, reason="Return approved" + (" automatically" if auto else ""),
                               settings=settings, actor=actor, return_id=request.id, restock_lines=restock)
        await notify.order_changed(db, order, "return.approved", buyer_subject="Your return was approved",
                                   return_id=request.id)
    else:
        db.add(OrderEvent(order_id=order.id, status="return_refused", note=note, actor_id=actor.id if actor else None))
        await notify.order_changed(db, order, "return.refused", buyer_subject="Your return was refused",
                                   buyer_body=note or "The seller refused the return.", return_id=request.id)
    return request


async def auto_approve_due(db: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    """Returns the seller left unanswered for ``return_answer_hours`` are approved."""
    now = now or datetime.now(UTC)
    due = list((await db.execute(select(ReturnRequest).where(
        ReturnRequest.status == "requested",
        ReturnRequest.created_at <= now - timedelta(hours=settings.return_answer_hours)).limit(100))).scalars())
    count = 0
    for request in due:
        order = await db.get(Order, request.order_id)
        if order is None:
            continue
        try:
            async with db.begin_nested():
                await answer_return(db, request, order, approve=True, note="No answer from the seller in time.",
                                    settings=settings, actor=None, auto=True)
            count += 1
        except Conflict:
            continue
    return count
