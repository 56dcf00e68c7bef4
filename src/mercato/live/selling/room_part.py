"""The part of the room's snapshot that selling provides (docs/live.md, "The room"): the running
flash deal and the pinned coupon. The integrator registers :func:`room_part` with the room's
``mercato.live.room.snapshot.register_part``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.live.selling import coupons, deals


async def room_part(session: AsyncSession, live_id: int) -> dict[str, Any]:
    """``{"flash": deal | None, "coupon": coupon | None}`` of the LIVE now."""
    now = datetime.now(UTC)
    return {"flash": await deals.current(session, live_id, now), "coupon": await coupons.current(session, live_id)}
