"""Connects the Fan Club at app start: gifts (joins and points), the room's watch time and
accepted chat (points), and the room's fan badges and fans-only mode (the member's level)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.live.fanclub import repository as repo
from mercato.live.fanclub import service
from mercato.live.gifts import hooks as gift_hooks
from mercato.live.room import chat_hooks, presence

_settings: list[Settings] = []


def _current() -> Settings:
    return _settings[0]


async def on_gift(db: AsyncSession, gift: gift_hooks.GiftSent) -> None:
    await service.record_gift(db, _current(), host_id=gift.host_id, user_id=gift.sender_id, coins=gift.coins,
                              joins=gift.joins_fan_club, at=gift.at)


async def on_watch(db: AsyncSession, live_id: int, user_id: int, seconds: int) -> None:
    host_id = await repo.host_of(db, live_id)
    if host_id is not None:
        await service.record_watch(db, _current(), host_id=host_id, live_id=live_id, user_id=user_id,
                                   seconds=seconds, at=datetime.now(UTC))


async def on_chat(db: AsyncSession, event: chat_hooks.ChatAccepted) -> None:
    await service.record_comment(db, _current(), host_id=event.host_id, user_id=event.user_id, at=event.at)


def install(settings: Settings) -> None:
    """Idempotent: the registries ignore a second registration of the same function."""
    _settings[:] = [settings]
    gift_hooks.register_gift_listener(on_gift)
    presence.register_watch_recorder(on_watch)
    chat_hooks.register_chat_listener(on_chat)
    chat_hooks.register_fan_level(service.fan_level)
