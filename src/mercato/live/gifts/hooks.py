"""The seams between gifts and the domains above them (Fan Club, community events).

- Listeners: ``register_gift_listener(fn)`` — ``fn(db, GiftSent)`` runs for every gift sent, in
  the unit of work that sent it, after the gift's ledger posting (Fan Club joins, missions).
- Router: ``register_gift_router(fn)`` — ``fn(db, host_id, at)`` answers where the host's share
  of a gift goes: ``"diamonds"`` (Cr ``creator:H:available``), ``"credits"`` (Cr
  ``user:H:credits``), ``"commission"`` (Cr ``creator:H:pending``, released after the
  settlement period) or ``None`` (no opinion). The first router with an answer wins; with none
  the share goes to diamonds.

Gifts never import the domains that register here: they register at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

HostShare = Literal["diamonds", "credits", "commission"]
HOST_SHARES: tuple[HostShare, ...] = ("diamonds", "credits", "commission")


@dataclass(frozen=True)
class GiftSent:
    """One gift (a combo of ``quantity`` identical gifts counts once) as committed with its send.

    ``coins`` is the number of coins spent (price × quantity), ``value`` their money value in
    minor units of ``currency`` (taken from the sender's coin lots, docs/gifts.md). ``sender_born``
    is the sender's birth date, so that a listener needing their age asks no query for it."""

    gift_tx_id: int
    sender_id: int
    host_id: int
    live_id: int
    gift_id: int
    gift_name: str
    coins: int
    value: int
    currency: str
    joins_fan_club: bool
    at: datetime
    quantity: int = 1
    sender_born: date | None = None


GiftListener = Callable[[AsyncSession, GiftSent], Awaitable[None]]
GiftRouter = Callable[[AsyncSession, int, datetime], Awaitable[HostShare | None]]

_listeners: list[GiftListener] = []
_routers: list[GiftRouter] = []


def register_gift_listener(fn: GiftListener) -> GiftListener:
    """``fn(db, gift)`` runs in the sender's transaction: raising rolls the gift back, so a
    listener refuses only what must stop the gift (idempotent registration)."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def unregister_gift_listener(fn: GiftListener) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def register_gift_router(fn: GiftRouter) -> GiftRouter:
    """``fn(db, host_id, at)`` answers where the host's share goes, or ``None`` (idempotent)."""
    if fn not in _routers:
        _routers.append(fn)
    return fn


def unregister_gift_router(fn: GiftRouter) -> None:
    if fn in _routers:
        _routers.remove(fn)


async def gift_sent(db: AsyncSession, gift: GiftSent) -> None:
    for fn in list(_listeners):
        await fn(db, gift)


async def route_host_share(db: AsyncSession, host_id: int, at: datetime) -> HostShare:
    """Where the host's share of a gift sent at ``at`` goes: the first router's answer, else
    ``"diamonds"``. An answer outside :data:`HOST_SHARES` is a programming error."""
    for fn in list(_routers):
        answer = await fn(db, host_id, at)
        if answer is None:
            continue
        if answer not in HOST_SHARES:
            raise ValueError(f"gift router answered {answer!r}")
        return answer
    return "diamonds"
