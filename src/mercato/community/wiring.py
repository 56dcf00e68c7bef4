"""Connects community missions to the real actions at app start: the room's watch time and
accepted chat, video shares (content engagement), gifts (listener, and the router that converts
a host's share during an event) and paid orders."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.community import service
from mercato.content import hooks as content_hooks
from mercato.live.gifts import hooks as gift_hooks
from mercato.live.room import chat_hooks, presence
from mercato.orders import hooks as order_hooks


async def on_watch(db: AsyncSession, live_id: int, user_id: int, seconds: int) -> None:
    await service.count_watch(db, user_id=user_id, seconds=seconds, at=datetime.now(UTC))


async def on_chat(db: AsyncSession, event: chat_hooks.ChatAccepted) -> None:
    await service.count_action(db, kind="comment", user_id=event.user_id, action_key=f"chat:{event.message_id}",
                               at=event.at)


async def on_engagement(db: AsyncSession, *, user_id: int | None, video_id: int, kind: str) -> None:
    """A share of a video counts once per video and user (sharing it again is a replay)."""
    if kind == "share" and user_id is not None:
        await service.count_action(db, kind="share", user_id=user_id, action_key=f"share:video:{video_id}",
                                   at=datetime.now(UTC))


async def on_gift(db: AsyncSession, gift: gift_hooks.GiftSent) -> None:
    await service.count_action(db, kind="gift", user_id=gift.sender_id, action_key=f"gift:{gift.gift_tx_id}",
                               at=gift.at)


async def route_gift(db: AsyncSession, host_id: int, at: datetime) -> gift_hooks.HostShare | None:
    conversion = await service.gift_conversion(db, at)
    if conversion == "credits":
        return "credits"
    if conversion == "commission":
        return "commission"
    return None


async def on_order_money(db: AsyncSession, event: order_hooks.OrderMoneyEvent) -> None:
    if event.kind == "paid":
        await service.count_action(db, kind="buy", user_id=event.buyer_id, action_key=f"order:{event.order_id}",
                                   at=event.at)


def install() -> None:
    """Idempotent: the registries ignore a second registration of the same function."""
    presence.register_watch_recorder(on_watch)
    chat_hooks.register_chat_listener(on_chat)
    content_hooks.register_engagement(on_engagement)
    gift_hooks.register_gift_listener(on_gift)
    gift_hooks.register_gift_router(route_gift)
    order_hooks.register_order_money(on_order_money)
