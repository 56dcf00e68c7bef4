"""Emails and domain events of the buying loop, written in the caller's transaction."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.money import format_money
from mercato.kit.outbox import emit, send_emails
from mercato.orders import repository


def order_number(order_id: int) -> str:
    return f"M{order_id:07d}"


class OrderFacts(Protocol):
    """What an event or email says of an order (an ``Order`` row, or the facts of one)."""

    id: int
    shop_id: int
    buyer_id: int
    status: str
    currency: str
    total: int
    refunded: int


def order_payload(order: OrderFacts, **extra: Any) -> dict[str, Any]:
    return {"order_id": order.id, "number": order_number(order.id), "shop_id": order.shop_id,
            "buyer_id": order.buyer_id, "status": order.status, "currency": order.currency,
            "total": order.total, "refunded": order.refunded, **extra}


async def order_changed(db: AsyncSession, order: OrderFacts, topic: str, *, buyer_subject: str | None = None,
                        buyer_body: str | None = None, seller_subject: str | None = None,
                        seller_body: str | None = None, **extra: Any) -> None:
    """Record the domain event and the emails that go with it (plain statements: one read of the
    names and addresses — composed of the catalog's and accounts' subqueries — one insert of the
    event, one of the emails)."""
    await emit(db, topic, "order", order.id, order_payload(order, **extra))
    if not buyer_subject and not seller_subject:
        return
    shop_name, buyer_email, buyer_name, owner_email = await repository.order_contacts(db, order.shop_id,
                                                                                      order.buyer_id)
    number = order_number(order.id)
    total = format_money(order.total, order.currency)
    emails: list[tuple[str, str, str]] = []
    if buyer_subject and buyer_email:
        emails.append((buyer_email, f"{buyer_subject} — order {number}",
                       f"Hi {buyer_name},\n\n{buyer_body or buyer_subject}\n\n"
                       f"Order {number} from {shop_name or 'a shop'} · total {total}\n"))
    if seller_subject and owner_email:
        emails.append((owner_email, f"{seller_subject} — order {number}",
                       f"{seller_body or seller_subject}\n\nOrder {number} · total {total}\n"))
    await send_emails(db, emails, topic)
