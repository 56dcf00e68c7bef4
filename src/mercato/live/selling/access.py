"""Who may sell in a LIVE's room, and what its bag holds (shared by deals, coupons, giveaways)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repository
from mercato.catalog.models import Product
from mercato.kit.errors import Conflict, Forbidden
from mercato.live import service as live_service
from mercato.live.errors import LiveError
from mercato.live.models import Live


async def may_sell(db: AsyncSession, user: User, live: Live) -> bool:
    """The host, a member of the LIVE's shop, or an operator."""
    if user.is_admin or live.host_id == user.id:
        return True
    return live.shop_id is not None and await catalog_repository.membership(db, live.shop_id, user.id) is not None


async def seller_live(db: AsyncSession, user: User, live_id: int, *, on_air: bool = True) -> Live:
    """The LIVE if ``user`` may sell in it (404 unknown, 403 anyone else; 409 unless it is on
    air when ``on_air``)."""
    live = await live_service.get_live(db, live_id)
    if not await may_sell(db, user, live):
        raise Forbidden("Only the host of this LIVE or a member of its shop may do this.", code=LiveError.NOT_HOST)
    if on_air and live.status != "live":
        raise Conflict("This LIVE is not on air.", code=LiveError.LIVE_NOT_ON_AIR, details={"status": live.status})
    return live


async def in_bag(db: AsyncSession, live: Live, product: Product) -> bool:
    """Whether ``product`` is in the LIVE's product bag: an active product of the LIVE's shop;
    for a creator's LIVE without a shop, a product the host may promote (a shop they belong to or
    an affiliate plan they are in: ``catalog_repository.promotable_ids``)."""
    if product.status != "active":
        return False
    if live.shop_id is not None:
        return product.shop_id == live.shop_id
    return product.id in await catalog_repository.promotable_ids(db, live.host_id, [product.id], datetime.now(UTC))
