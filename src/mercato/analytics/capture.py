"""Capture handlers analytics registers in the hook registries of the domains below it (the
domains that can import ``kit/events.py`` record their own events directly): paid and refunded
orders (``orders/hooks.register_order_money``) and LIVE watch time (the room's presence)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics import repository
from mercato.kit.db import utcnow
from mercato.kit.events import Event, age_band, record, record_many
from mercato.live.gifts.hooks import GiftSent
from mercato.orders.hooks import OrderMoneyEvent


async def on_order_money(db: AsyncSession, money: OrderMoneyEvent) -> None:
    """``order_paid``: one event per order line (``value`` = the line's total after discounts,
    ``quantity`` its units), the first one counting the order, so the rollups give orders, GMV
    and items sold per product. ``refund``: one event per refund (``value`` = the amount)."""
    if money.kind == "paid":
        live_id, lines = await repository.paid_order(db, money.order_id)
        await record_many(db, [Event(
            event_id=f"order_paid:{money.order_id}:{line_id}", kind="order_paid", occurred_at=money.at,
            source="live" if live_id is not None else "direct", live_id=live_id, product_id=product_id,
            shop_id=money.shop_id, viewer_id=money.buyer_id, value=total, currency=money.currency,
            quantity=quantity, count=1 if index == 0 else 0)
            for index, (line_id, product_id, quantity, total) in enumerate(lines)])
    elif money.kind == "refunded" and money.refund_id is not None:
        live_id, _ = await repository.paid_order(db, money.order_id)
        await record(db, Event(
            event_id=f"refund:{money.refund_id}", kind="refund", occurred_at=money.at,
            source="live" if live_id is not None else "direct", live_id=live_id, shop_id=money.shop_id,
            viewer_id=money.buyer_id, value=money.amount, currency=money.currency))


async def on_live_watch(db: AsyncSession, live_id: int, user_id: int, seconds: int) -> None:
    """A span of a viewer's watch time in a LIVE: a ``view`` that adds watch time, not a view
    (``count`` 0: the room's ``live_join`` counts the viewers)."""
    await record(db, Event(event_id=f"live_watch:{uuid.uuid4().hex}", kind="view", occurred_at=utcnow(),
                           source="live", live_id=live_id, viewer_id=user_id, watch_ms=seconds * 1000, count=0))


async def on_gift(db: AsyncSession, gift: GiftSent) -> None:
    """A gift sent in a LIVE: counted once per gift transaction, its money value (the coins' worth)
    and its coins as the quantity, credited to the host. The sender's age band comes with the gift
    (no query for their birth date)."""
    band = age_band(gift.sender_born, gift.at.date()) if gift.sender_born is not None else None
    await record(db, Event(event_id=f"gift:{gift.gift_tx_id}", kind="gift", occurred_at=gift.at, source="live",
                           creator_id=gift.host_id, live_id=gift.live_id, viewer_id=gift.sender_id,
                           value=gift.value, currency=gift.currency, quantity=gift.coins, age_band=band))
