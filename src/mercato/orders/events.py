"""The one writer of order events (an order's history, shown to buyer and seller).

Every status change, refund and return step records its event here, as a plain statement in
the caller's transaction (:func:`mercato.orders.repository.insert_events`), so the history is
visible to the plain reads that build order bodies without flushing the session first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import utcnow
from mercato.kit.sql.transaction import snapshot
from mercato.orders import repository
from mercato.orders.models import OrderEvent


async def record(db: AsyncSession, order_id: int, status: str, note: str = "", *, actor_id: int | None = None,
                 now: datetime | None = None) -> OrderEvent:
    """Record one event; answers a detached copy of what was written (for answers built
    without reading it back)."""
    now = now or utcnow()
    await repository.insert_events(db, [{"order_id": order_id, "status": status, "note": note,
                                         "actor_id": actor_id, "created_at": now}])
    return snapshot(OrderEvent, dict(order_id=order_id, status=status, note=note, actor_id=actor_id, created_at=now))


async def record_same(db: AsyncSession, order_ids: Sequence[int], status: str, note: str, *,
                      actor_id: int | None = None, now: datetime | None = None) -> None:
    """The same event for several orders (one statement), e.g. every order a payment paid."""
    now = now or utcnow()
    await repository.insert_events(db, [{"order_id": order_id, "status": status, "note": note,
                                         "actor_id": actor_id, "created_at": now} for order_id in order_ids])
