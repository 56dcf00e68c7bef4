"""Emails and domain events of the buying loop, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop, ShopMember
from mercato.kit.money import format_money
from mercato.kit.outbox import emit, send_email
from mercato.orders.models import Order


def order_number(order_id: int) -> str:
    return f"M{order_id:07d}"


def order_payload(order: Order, **extra: Any) -> dict[str, Any]:
    return {"order_id": order.id, "number": order_number(order.id), "shop_id": order.shop_id,
            "buyer_id": order.buyer_id, "status": order.status, "currency": order.currency,
            "total": order.total, "refunded": order.refunded, **extra}


async def _owner_email(db: AsyncSession, shop_id: int) -> str | None:
    from sqlalchemy import select

    # One joined statement instead of the membership row and then the user.
    email: str | None = (await db.execute(
        select(User.email).join(ShopMember, ShopMember.user_id == User.id)
        .where(ShopMember.shop_id == shop_id, ShopMember.role == "owner"))).scalar_one_or_none()
    return email


async def order_changed(db: AsyncSession, order: Order, topic: str, *, buyer_subject: str | None = None,
                        buyer_body: str | None = None, seller_subject: str | None = None,
                        seller_body: str | None = None, **extra: Any) -> None:
    """Record the domain event and the emails that go with it."""
    await emit(db, topic, "order", order.id, order_payload(order, **extra))
    number = order_number(order.id)
    shop = await db.get(Shop, order.shop_id)
    total = format_money(order.total, order.currency)
    if buyer_subject:
        buyer = await db.get(User, order.buyer_id)
        if buyer is not None:
            await send_email(db, buyer.email, f"{buyer_subject} — order {number}",
                             f"Hi {buyer.display_name},\n\n{buyer_body or buyer_subject}\n\n"
                             f"Order {number} from {shop.name if shop else 'a shop'} · total {total}\n", topic)
    if seller_subject:
        to = await _owner_email(db, order.shop_id)
        if to:
            await send_email(db, to, f"{seller_subject} — order {number}",
                             f"{seller_body or seller_subject}\n\nOrder {number} · total {total}\n", topic)
