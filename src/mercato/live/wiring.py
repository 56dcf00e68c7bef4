"""Connects LIVE selling to the room at app start: the room's snapshot gets the running flash deal
and the pinned coupon, and the room's watch-time reports unlock "watch N minutes" coupons.
(Giveaway draws ask the room who is present directly: live/selling/api.py.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.live.room import presence, snapshot
from mercato.live.selling import room_part, watching


async def record_watch(session: AsyncSession, live_id: int, user_id: int, seconds: int) -> None:
    await watching.record_watch(session, live_id, user_id, seconds)


def install() -> None:
    """Idempotent: the registries ignore a second registration of the same function."""
    snapshot.register_part(room_part.room_part)
    presence.register_watch_recorder(record_watch)
