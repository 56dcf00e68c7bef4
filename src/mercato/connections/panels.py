"""The push of an order to the seller's store, shown on the Seller Center order page (registered
with ``orders/hooks.py`` when this module is imported: the app imports it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.connections import service
from mercato.orders.hooks import OrderPanel, register_order_panels

_STATUS = {"pending": "waiting to be retried", "pushed": "accepted by the store", "failed": "gave up"}


@register_order_panels
async def store_push_panels(db: AsyncSession, order_id: int) -> list[OrderPanel]:
    panels = []
    for push, conn in await service.pushes_of_order(db, order_id):
        platform = conn.platform.title() if conn else "Store"
        rows = [("Outcome", f"{push.status} ({_STATUS.get(push.status, push.status)})"),
                ("Attempts", str(push.attempts)), ("Idempotency key", push.idempotency_key)]
        if push.external_order_id:
            rows.append((f"{platform} order", push.external_order_id))
        if push.status == "pending" and push.next_attempt_at is not None:
            rows.append(("Next attempt", push.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S UTC")))
        if push.last_error:
            rows.append(("Last error", push.last_error))
        panels.append(OrderPanel(title=f"Sent to {platform}", rows=rows))
    return panels
