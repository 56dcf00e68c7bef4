"""Who is in a room, and the watch-time hook.

:func:`present_user_ids` answers with the signed-in members now in a LIVE's room, across every
app process (through Redis when it is configured). Watch time is handed to the recorders
registered with :func:`register_watch_recorder` — ``fn(session, live_id, user_id, seconds)`` —
when a signed-in member leaves and every minute while they stay (LIVE selling registers the one
that unlocks "watch N minutes" coupons). Recorders run in one unit of work per batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

WatchRecorder = Callable[[AsyncSession, int, int, int], Awaitable[None]]
_recorders: list[WatchRecorder] = []


class Presence(Protocol):
    async def present_user_ids(self, live_id: int) -> set[int]: ...


_hub: list[Presence] = []


def register_watch_recorder(fn: WatchRecorder) -> None:
    if fn not in _recorders:
        _recorders.append(fn)


def unregister_watch_recorder(fn: WatchRecorder) -> None:
    if fn in _recorders:
        _recorders.remove(fn)


def watch_recorders() -> list[WatchRecorder]:
    return list(_recorders)


def install(hub: Presence) -> None:
    """The app's hub answers :func:`present_user_ids` (set at app start)."""
    _hub[:] = [hub]


def uninstall(hub: Presence) -> None:
    """A hub that stops no longer answers (nobody counts as present until another starts)."""
    if hub in _hub:
        _hub.clear()


async def present_user_ids(live_id: int) -> set[int]:
    """Signed-in members of the room now, in every process (empty when no hub runs here)."""
    return await _hub[0].present_user_ids(live_id) if _hub else set()
