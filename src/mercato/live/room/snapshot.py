"""The room's state in a ``snapshot`` frame, and the providers that add parts to it.

The room's own parts (the LIVE, pinned product, first page of the bag, settings) come from
:func:`room_state`; other domains add theirs with :func:`register_part` — e.g. LIVE selling adds
``flash`` and ``coupon``. A part is ``fn(session, live_id) -> dict`` (or an awaitable of one)
whose keys are merged into the snapshot; the hub caches the merged state until a frame that
changes it (anything but chat, likes, viewers, shares) passes through the room.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.images import media_url
from mercato.live.room import repository as repo
from mercato.live.room import service

Part = Callable[[AsyncSession, int], dict[str, Any] | Awaitable[dict[str, Any]]]
_parts: list[Part] = []


def register_part(fn: Part) -> None:
    """Add a provider of snapshot keys (once per function)."""
    if fn not in _parts:
        _parts.append(fn)


def unregister_part(fn: Part) -> None:
    if fn in _parts:
        _parts.remove(fn)


async def room_state(db: AsyncSession, live_id: int, bag_limit: int) -> dict[str, Any] | None:
    """Everything of a snapshot that is the same for every member (None: no such LIVE)."""
    live = await repo.live(db, live_id)
    if live is None:
        return None
    host = await repo.user(db, live.host_id)
    room = await service.room_settings(db, live_id)
    bag = await service.bag_page(db, live, None, bag_limit)
    state: dict[str, Any] = {
        "live": {
            "id": live.id, "title": live.title, "status": live.status, "is_demo": live.is_demo,
            "started_at": live.started_at.isoformat() if live.started_at else None,
            "host": _user(host) if host else None,
        },
        "pinned": await service.product_card(db, live.pinned_product_id),
        "bag": [card.model_dump(mode="json") for card in bag.items],
        "flash": None,
        "coupon": None,
        "settings": {"slow_mode_seconds": room.slow_mode_seconds, "comments": room.comments,
                     "fans_only": room.fans_only},
        "persisted": {"likes": room.likes_total, "shares": room.shares_total, "peak_viewers": live.peak_viewers},
    }
    for part in _parts:
        result = part(db, live_id)
        state.update(await result if inspect.isawaitable(result) else result)
    return state


def _user(user: Any) -> dict[str, Any]:
    return {"id": user.id, "display_name": user.display_name, "handle": user.handle,
            "avatar_url": media_url(user.avatar_path)}


user_brief = _user
