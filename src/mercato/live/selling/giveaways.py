"""Giveaways: the host announces a prize, then draws winners at random among the signed-in
viewers present in the room at the draw. No purchase is ever a condition. The seed and the
sorted list of eligible viewers are recorded, so anyone can re-run the draw (:func:`pick`) and
check that it gives the recorded winners."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repository
from mercato.kit.errors import Conflict, NotFound
from mercato.live import broadcast
from mercato.live import service as live_service
from mercato.live.errors import LiveError
from mercato.live.models import Live
from mercato.live.selling import access, repository
from mercato.live.selling.models import Giveaway


def pick(seed: str, eligible: Sequence[int], count: int) -> list[int]:
    """The winners a seed draws among ``eligible`` (sorted user ids): the same every time."""
    return random.Random(seed).sample(sorted(eligible), min(count, len(eligible)))


def giveaway_out(giveaway: Giveaway) -> dict[str, Any]:
    return {"id": giveaway.id, "live_id": giveaway.live_id, "prize": giveaway.prize,
            "winners_count": giveaway.winners_count, "status": giveaway.status,
            "winners": list(giveaway.winners or []), "eligible_count": len(giveaway.eligible or []),
            "seed": giveaway.seed, "created_at": giveaway.created_at.isoformat(),
            "drawn_at": giveaway.drawn_at.isoformat() if giveaway.drawn_at else None}


async def announce(db: AsyncSession, user: User, live_id: int, prize: str, winners: int, now: datetime) -> Giveaway:
    live = await access.seller_live(db, user, live_id)
    giveaway = Giveaway(live_id=live.id, created_by=user.id, prize=prize.strip(), winners_count=winners,
                        status="announced", eligible=[], winners=[], created_at=now)
    await repository.add(db, giveaway)
    broadcast.after_commit(db, live.id, {"type": "giveaway", "giveaway": giveaway_out(giveaway)})
    return giveaway


async def live_giveaway(db: AsyncSession, live_id: int, giveaway_id: int) -> Giveaway:
    giveaway = await repository.giveaway(db, giveaway_id)
    if giveaway is None or giveaway.live_id != live_id:
        raise NotFound("No such giveaway.", code=LiveError.GIVEAWAY_NOT_FOUND)
    return giveaway


async def _excluded(db: AsyncSession, live: Live) -> set[int]:
    """Who cannot win: the host, and the members of the LIVE's shop."""
    excluded = {live.host_id}
    if live.shop_id is not None:
        excluded |= {member.user_id for member in await catalog_repository.shop_members(db, live.shop_id)}
    return excluded


async def draw(db: AsyncSession, user: User, live_id: int, giveaway_id: int, present: Iterable[int], now: datetime,
               *, seed: str | None = None) -> Giveaway:
    """Draw the winners among ``present`` (the signed-in viewers in the room now, from the
    room), the host and the shop's members excluded. ``seed`` defaults to a fresh random one."""
    live = await access.seller_live(db, user, live_id, on_air=False)
    giveaway = await live_giveaway(db, live.id, giveaway_id)
    if giveaway.status != "announced":
        raise Conflict("This giveaway was drawn already.", code=LiveError.GIVEAWAY_DRAWN)
    eligible = sorted(set(present) - await _excluded(db, live))
    if not eligible:
        raise Conflict("Nobody eligible is in the room.", code=LiveError.NO_ELIGIBLE_VIEWERS)
    seed = seed or secrets.token_hex(16)
    winners = pick(seed, eligible, giveaway.winners_count)
    if not await repository.mark_drawn(db, giveaway.id, {"seed": seed, "eligible": eligible, "winners": winners,
                                                         "drawn_at": now}):
        raise Conflict("This giveaway was drawn already.", code=LiveError.GIVEAWAY_DRAWN)
    await db.refresh(giveaway)
    broadcast.after_commit(db, live.id, {"type": "giveaway", "giveaway": giveaway_out(giveaway)})
    return giveaway


async def audit(db: AsyncSession, live_id: int, giveaway_id: int) -> dict[str, Any]:
    """The draw's record and its re-run: ``verified`` says whether the seed draws the recorded
    winners among the recorded eligible viewers."""
    await live_service.get_live(db, live_id)
    giveaway = await live_giveaway(db, live_id, giveaway_id)
    eligible = list(giveaway.eligible or [])
    rerun = pick(giveaway.seed, eligible, giveaway.winners_count) if giveaway.seed else []
    return {**giveaway_out(giveaway), "eligible": eligible, "rerun_winners": rerun,
            "verified": giveaway.status == "drawn" and rerun == list(giveaway.winners or []),
            "algorithm": "random.Random(seed).sample(sorted(eligible), min(winners_count, len(eligible)))"}
