"""The room's seams for the domains above it (the Fan Club, community missions).

- Fan levels: ``register_fan_level(fn)`` — ``fn(db, host_id, user_id) -> int | None`` — the
  sender's Fan Club level for the LIVE's host. The room puts it on the chat frame's user
  (``fan_level``) and, in fans-only mode, refuses a viewer without one. The first answer wins.
- Accepted chat: ``register_chat_listener(fn)`` — ``fn(db, ChatAccepted)`` — runs once a message
  passed every rule and was published, in its own unit of work (chat is not persisted by the
  room, so a listener's failure is logged and never takes the message back).

The room never imports the domains that register here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ChatAccepted:
    live_id: int
    host_id: int
    user_id: int
    message_id: str  # the chat frame's id: the natural id of this comment
    at: datetime


FanLevel = Callable[[AsyncSession, int, int], Awaitable[int | None]]
ChatListener = Callable[[AsyncSession, ChatAccepted], Awaitable[None]]

_levels: list[FanLevel] = []
_listeners: list[ChatListener] = []


def register_fan_level(fn: FanLevel) -> FanLevel:
    if fn not in _levels:
        _levels.append(fn)
    return fn


def register_chat_listener(fn: ChatListener) -> ChatListener:
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def unregister_chat_listener(fn: ChatListener) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def has_fan_levels() -> bool:
    return bool(_levels)


def chat_listeners() -> list[ChatListener]:
    return list(_listeners)


async def fan_level(db: AsyncSession, host_id: int, user_id: int) -> int | None:
    for fn in list(_levels):
        level = await fn(db, host_id, user_id)
        if level is not None:
            return level
    return None
