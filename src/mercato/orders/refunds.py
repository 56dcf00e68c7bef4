"""Refunds (full and partial) and returns (service layer).

A refund goes to the payment provider with an idempotency key derived from the refund row,
and the ledger reverses the payment's parts pro rata (``ledger.postings.split_refund``): before
settlement from the seller's pending balance, after it from the available balance (which may
go negative — a clawback netted from the next payout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.inventory import service as inventory
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.money import format_money
from mercato.ledger import postings
from mercato.orders import events, hooks, lifecycle, notify, repository
from mercato.orders.errors import OrdersError
from mercato.orders.models import Order, Refund, ReturnRequest
from mercato.payments import provider as payment_providers
from mercato.payments import repository as payments_repo
from mercato.payments import service as payments


async def refund_order(db: AsyncSession, order: Order, amount: int, *, reason: str, settings: Settings,
                       actor: User | None = None, return_id: int | None = None, allow_unpaid: bool = False,
                       restock_lines: dict[int, int] | None = None) -> Refund:
    """Refund ``amount`` of ``order``. A refund of everything that is left on an order that has
    not shipped cancels it and puts its units back in stock."""
    if amount <= 0:
        raise ValidationFailed("The refund amount must be positive.", code=OrdersError.INVALID_AMOUNT,
                               details={"field": "amount"})
    was_paid = order.paid_at is not None
    if not was_paid and not allow_unpaid:
        raise Conflict("Only paid orders can be refunded.", code=OrdersError.NOT_PAID)
    if amount > order.total - order.refunded:
        raise ValidationFailed(
            f"At most {format_money(order.total - order.refunded, order.currency)} can still be refunded.",
            code=OrdersError.REFUND_TOO_LARGE, details={"field": "amount", "max": order.total - order.refunded})
    if not await repository.add_refunded(db, order.id, amount):
        raise Conflict("This order was refunded meanwhile; reload it.", code=OrdersError.REFUND_CONFLICT)
    refunded_before = order.refunded
    await db.refresh(order)
    refund = Refund(order_id=order.id, return_id=return_id, amount=amount, reason=reason[:500])
    await repository.add(db, refund)
    # Paid partly with shopping credits: that part goes back as credits, pro rata and cumulative
    # (a full refund returns exactly the credits used); only the rest goes back to the card. An
    # order paid after it expired had its credits given back at expiry: the card gets its part.
    credits_back = (postings.credits_refunded(order.total, order.credits, refunded_before + amount)
                    - postings.credits_refunded(order.total, order.credits, refunded_before))
    intent = await payments_repo.get_intent(db, order.payment_intent_id) if order.payment_intent_id else None
    if intent is not None and amount - credits_back > 0:
        provider = payment_providers.get_provider(settings)
        result = await payments.refund(db, intent, amount - credits_back, provider=provider,
                                       idempotency_key=f"refund_{refund.id}")
        refund.provider_ref = getattr(result, "provider_ref", None)
    if was_paid:
        split = lifecycle.payment_split(order, settings.platform_fee_bps)
        parts = postings.split_refund(split, refunded_before, amount)
        await postings.post_refund(db, refund_id=refund.id, order_id=order.id, shop_id=order.shop_id,
                                   currency=order.currency, parts=parts, settled=order.settled_at is not None,
                                   buyer_id=order.buyer_id)
        await hooks.order_money(db, hooks.OrderMoneyEvent(
            kind="refunded", order_id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id,
            currency=order.currency, amount=amount, at=datetime.now(UTC), refund_id=refund.id,
            refunded_before=refunded_before))
    await events.record(db, order.id, "refunded", f"Refunded {format_money(amount, order.currency)}. {reason}".strip(),
                        actor_id=actor.id if actor else None)
    for line_id, quantity in (restock_lines or {}).items():
        line = await repository.order_line(db, line_id)
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
                               buyer_body=_refund_message(amount - credits_back, credits_back, order.currency),
                               refund_id=refund.id, amount=amount)
    await db.flush()
    return refund


def _refund_message(card: int, credits: int, currency: str) -> str:
    if credits == 0:
        return f"We refunded {format_money(card, currency)} to your card."
    if card == 0:
        return f"We gave {format_money(credits, currency)} back to your shopping credits."
    return (f"We refunded {format_money(card, currency)} to your card and gave {format_money(credits, currency)} "
            "back to your shopping credits.")


async def request_return(db: AsyncSession, order: Order, user: User, reason: str, lines: list[tuple[int, int]],
                         settings: Settings) -> ReturnRequest:
    """Within ``return_window_days`` of delivery; quantities within what was bought and not refunded."""
    reason = lifecycle.require_reason(reason)
    if order.status not in ("delivered", "completed") or order.delivered_at is None:
        raise Conflict("Returns open once the order is delivered.", code=OrdersError.NOT_DELIVERED)
    if datetime.now(UTC) - order.delivered_at > timedelta(days=settings.return_window_days):
        raise Conflict(f"Returns close {settings.return_window_days} days after delivery.",
                       code=OrdersError.RETURN_WINDOW_PASSED)
    if await repository.has_open_return(db, order.id):
        raise Conflict("A return for this order is already waiting for the seller.", code=OrdersError.RETURN_PENDING)
    by_id = {line.id: line for line in await lifecycle.lines_of(db, order.id)}
    amount = 0
    chosen: list[dict[str, int]] = []
    for line_id, quantity in lines:
        line = by_id.get(line_id)
        if line is None:
            raise ValidationFailed("That item is not part of this order.", code=OrdersError.UNKNOWN_LINE,
                                   details={"field": "lines", "line_id": line_id})
        if quantity > line.quantity - line.refunded_quantity:
            raise ValidationFailed(f"You can return at most {line.quantity - line.refunded_quantity} of "
                                   f"{line.title}.", code=OrdersError.QUANTITY_TOO_LARGE, details={"line_id": line_id})
        # what the buyer paid for those units, discount included
        amount += line.total * quantity // line.quantity
        chosen.append({"line_id": line_id, "quantity": quantity})
    amount = min(amount, order.total - order.refunded)
    request = ReturnRequest(order_id=order.id, buyer_id=user.id, reason=reason, lines=chosen, amount=amount)
    await repository.add(db, request)
    await events.record(db, order.id, "return_requested", reason, actor_id=user.id)
    await notify.order_changed(db, order, "return.requested", seller_subject="Return requested",
                               seller_body=f"Reason: {reason}. Answer within 48 hours or it is approved "
                                           f"automatically.", return_id=request.id)
    return request


async def returns_of_order(db: AsyncSession, order: Order) -> list[ReturnRequest]:
    return await repository.returns_of_order(db, order.id)


async def returns_of_shop(db: AsyncSession, shop_id: int, status: str | None = None) -> list[tuple[ReturnRequest, str]]:
    """The shop's latest 200 returns, newest first, each with its order's currency."""
    return await repository.returns_of_shop(db, shop_id, status, 200)


async def return_for_seller(db: AsyncSession, user: User, return_id: int) -> tuple[ReturnRequest, Order]:
    request = await repository.return_request(db, return_id)
    if request is None:
        raise NotFound("No such return.")
    order = await lifecycle.order_for_seller(db, user, request.order_id)
    return request, order


async def answer_return(db: AsyncSession, request: ReturnRequest, order: Order, *, approve: bool, note: str,
                        settings: Settings, actor: User | None, auto: bool = False) -> ReturnRequest:
    now = datetime.now(UTC)
    if not await repository.answer_return(db, request.id, {
            "status": "approved" if approve else "refused", "answered_at": now, "answer_note": note[:1000],
            "auto_approved": auto}):
        raise Conflict("This return was already answered.", code=OrdersError.RETURN_ANSWERED)
    await db.refresh(request)
    if approve:
        restock = {int(item["line_id"]): int(item["quantity"]) for item in request.lines}
        if request.amount > 0:
            await refund_order(db, order, request.amount, reason="Return approved" + (" automatically" if auto else ""),
                               settings=settings, actor=actor, return_id=request.id, restock_lines=restock)
        await notify.order_changed(db, order, "return.approved", buyer_subject="Your return was approved",
                                   return_id=request.id)
    else:
        await events.record(db, order.id, "return_refused", note, actor_id=actor.id if actor else None)
        await notify.order_changed(db, order, "return.refused", buyer_subject="Your return was refused",
                                   buyer_body=note or "The seller refused the return.", return_id=request.id)
    return request


async def auto_approve_due(db: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    """Returns the seller left unanswered for ``return_answer_hours`` are approved."""
    now = now or datetime.now(UTC)
    due = await repository.returns_due(db, now - timedelta(hours=settings.return_answer_hours), 100)
    count = 0
    for request in due:
        order = await repository.order(db, request.order_id)
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
