"""Every query of the connections domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.connections.models import ConnectionLink, OrderPush, StoreConnection, SyncRun, WebhookDelivery
from mercato.orders.models import Order, OrderLine

PUSH_PLATFORMS = ("shopify", "square")


async def connection(db: AsyncSession, connection_id: int) -> StoreConnection | None:
    return await db.get(StoreConnection, connection_id)


async def connection_of_shop(db: AsyncSession, shop_id: int, platform: str) -> StoreConnection | None:
    stmt = select(StoreConnection).where(StoreConnection.shop_id == shop_id, StoreConnection.platform == platform)
    return (await db.execute(stmt)).scalar_one_or_none()


async def connections_of_shop(db: AsyncSession, shop_id: int) -> list[StoreConnection]:
    stmt = select(StoreConnection).where(StoreConnection.shop_id == shop_id).order_by(StoreConnection.id)
    return list((await db.execute(stmt)).scalars())


async def syncable_connections(db: AsyncSession, limit: int) -> list[StoreConnection]:
    """Connections the reconciliation job pulls: active or in error (a retry may heal), not demo."""
    stmt = (select(StoreConnection)
            .where(StoreConnection.status.in_(("active", "error")), StoreConnection.is_demo.is_(False))
            .order_by(StoreConnection.id).limit(limit))
    return list((await db.execute(stmt)).scalars())


async def links_of_product(db: AsyncSession, connection_id: int, external_product_id: str) -> list[ConnectionLink]:
    stmt = select(ConnectionLink).where(ConnectionLink.connection_id == connection_id,
                                        ConnectionLink.external_product_id == external_product_id)
    return list((await db.execute(stmt.order_by(ConnectionLink.id))).scalars())


async def links_of_variant(db: AsyncSession, connection_id: int, external_variant_id: str) -> list[ConnectionLink]:
    """Links of a store variant (or of its inventory item): one per linked product."""
    stmt = select(ConnectionLink).where(
        ConnectionLink.connection_id == connection_id,
        (ConnectionLink.external_variant_id == external_variant_id)
        | (ConnectionLink.inventory_ref == external_variant_id))
    return list((await db.execute(stmt.order_by(ConnectionLink.id))).scalars())


async def links_of_variants(db: AsyncSession, variant_ids: Sequence[int]) -> list[ConnectionLink]:
    if not variant_ids:
        return []
    stmt = select(ConnectionLink).where(ConnectionLink.variant_id.in_(list(variant_ids)))
    return list((await db.execute(stmt.order_by(ConnectionLink.id))).scalars())


async def links_of_connection(db: AsyncSession, connection_id: int) -> list[ConnectionLink]:
    stmt = select(ConnectionLink).where(ConnectionLink.connection_id == connection_id)
    return list((await db.execute(stmt.order_by(ConnectionLink.id))).scalars())


async def delivery(db: AsyncSession, connection_id: int, delivery_id: str) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(WebhookDelivery.connection_id == connection_id,
                                         WebhookDelivery.delivery_id == delivery_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def recent_deliveries(db: AsyncSession, connection_id: int, limit: int) -> list[WebhookDelivery]:
    stmt = (select(WebhookDelivery).where(WebhookDelivery.connection_id == connection_id)
            .order_by(WebhookDelivery.id.desc()).limit(limit))
    return list((await db.execute(stmt)).scalars())


async def recent_syncs(db: AsyncSession, connection_id: int, limit: int) -> list[SyncRun]:
    stmt = (select(SyncRun).where(SyncRun.connection_id == connection_id)
            .order_by(SyncRun.id.desc()).limit(limit))
    return list((await db.execute(stmt)).scalars())


async def orders_to_push(db: AsyncSession, limit: int) -> list[tuple[int, int]]:
    """``(order id, connection id)`` of paid orders holding a variant linked to a store that takes
    orders, with no push recorded yet."""
    pushed = exists().where(OrderPush.order_id == Order.id, OrderPush.connection_id == StoreConnection.id)
    stmt = (select(Order.id, StoreConnection.id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(ConnectionLink, ConnectionLink.variant_id == OrderLine.variant_id)
            .join(StoreConnection, StoreConnection.id == ConnectionLink.connection_id)
            .where(Order.status == "paid", StoreConnection.platform.in_(PUSH_PLATFORMS),
                   StoreConnection.status != "disconnected", StoreConnection.shop_id == Order.shop_id, ~pushed)
            .distinct().order_by(Order.id).limit(limit))
    return [(int(a), int(b)) for a, b in (await db.execute(stmt)).all()]


async def due_pushes(db: AsyncSession, now: datetime, limit: int) -> list[OrderPush]:
    stmt = (select(OrderPush).where(OrderPush.status == "pending", OrderPush.next_attempt_at <= now)
            .order_by(OrderPush.next_attempt_at, OrderPush.id).limit(limit))
    return list((await db.execute(stmt)).scalars())


async def pushes_of_order(db: AsyncSession, order_id: int) -> list[OrderPush]:
    stmt = select(OrderPush).where(OrderPush.order_id == order_id).order_by(OrderPush.id)
    return list((await db.execute(stmt)).scalars())


async def push_of_external(db: AsyncSession, connection_id: int, external_order_id: str) -> OrderPush | None:
    stmt = select(OrderPush).where(OrderPush.connection_id == connection_id,
                                   OrderPush.external_order_id == external_order_id)
    return (await db.execute(stmt)).scalars().first()
