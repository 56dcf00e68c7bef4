"""The seams between orders and the domains above them.

- LIVE selling (live/selling): prices a LIVE gives, the deal units a purchase takes, and the
  flash-sale gate's part of a LIVE buy (:class:`LiveGate`).
- Connections: panels on the Seller Center order page (the push of the order to the seller's
  store and its outcome); the page asks every registered provider, none registered shows none.

Orders never import the LIVE domain (it depends on orders): LIVE selling registers one
:class:`LiveSelling` here at import time, and checkout calls it for a request that carries
``live_id``, in the checkout's own transaction. With none registered a ``live_id`` is ignored
(the purchase is an ordinary one), which keeps orders usable on their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class LiveOffer:
    """A price a LIVE gives a variant now: the tier it belongs to (``orders.price_priority``)
    and the deal whose units a purchase at that price takes."""

    variant_id: int
    unit_price: int
    tier: str
    deal_id: int


@dataclass(frozen=True)
class LiveTake:
    """Deal units an order line takes at checkout."""

    deal_id: int
    order_line_id: int
    quantity: int


class LiveSelling(Protocol):
    async def offers(self, db: AsyncSession, live_id: int, buyer_id: int, wanted: Mapping[int, int],
                     now: datetime) -> dict[int, LiveOffer]:
        """The LIVE's offers on these variants (``variant id → quantity``). Raises ``404`` for an
        unknown LIVE and ``409`` for a deal that is announced but not open yet."""

    async def refuse_early(self, db: AsyncSession, live_id: int, buyer_id: int, wanted: Mapping[int, int],
                           now: datetime) -> None:
        """On a read transaction, before the write path: raise the ``409`` the checkout would
        (sold out, not open, over the per-buyer limit) from committed state; else nothing."""

    async def take(self, db: AsyncSession, buyer_id: int, checkout_id: int, takes: Sequence[LiveTake],
                   now: datetime) -> None:
        """Take the deal units of a checkout (guarded updates); raises ``409`` when a deal is
        sold out or the buyer is over its limit (the caller's transaction then rolls back)."""

    async def release(self, db: AsyncSession, checkout_id: int, line_ids: Sequence[int] | None) -> None:
        """Give back the deal units of an unpaid checkout (``line_ids`` ``None``: all of them)."""


_selling: list[LiveSelling] = []


def register_live_selling(selling: LiveSelling) -> LiveSelling:
    """Install ``selling`` (replacing any before it)."""
    _selling[:] = [selling]
    return selling


def live_selling() -> LiveSelling | None:
    return _selling[0] if _selling else None


async def release_live_units(db: AsyncSession, checkout_id: int, line_ids: Sequence[int] | None = None) -> None:
    selling = live_selling()
    if selling is not None:
        await selling.release(db, checkout_id, line_ids)


# --------------------------------------------------------------------------- order page panels


@dataclass(frozen=True)
class OrderPanel:
    """A titled list of ``(label, value)`` rows shown on the seller's order page."""

    title: str
    rows: list[tuple[str, str]]


PanelProvider = Callable[[AsyncSession, int], Awaitable[list[OrderPanel]]]

_panels: list[PanelProvider] = []


def register_order_panels(provider: PanelProvider) -> PanelProvider:
    """``provider(db, order_id)`` answers the panels it adds to that order's page (idempotent)."""
    if provider not in _panels:
        _panels.append(provider)
    return provider


async def panels_of_order(db: AsyncSession, order_id: int) -> list[OrderPanel]:
    panels: list[OrderPanel] = []
    for provider in _panels:
        panels.extend(await provider(db, order_id))
    return panels


# --- the flash-sale gate's part of a LIVE buy -----------------------------------------------


@dataclass(frozen=True)
class LiveDealFacts:
    """The running deal of a LIVE on a variant, as the gate's one statement read it."""

    deal_id: int
    units_left: int
    per_buyer_limit: int
    opened: bool
    bought: int  # this buyer's units of the deal, as committed
    created: str  # with the id: names the deal's in-flight claims


@dataclass(frozen=True)
class LiveGate:
    """What the flash-sale gate (``orders/flash_gate.py``) composes into its one statement for a
    buy with ``live_id``, and how it words a deal's refusals, so that its answers are the route's.

    ``join`` may use ``:live_id``, ``:variant_id``, ``:now`` and ``s.user_id`` (the buyer);
    ``columns`` are read by ``facts`` (``None``: no running deal, nothing for the gate to refuse).
    ``refusal`` gives the route's ``409`` body for a buy of ``quantity`` from committed state, or
    ``None``; ``sold_out`` the body of a deal whose units left are all claimed in flight."""

    columns: str
    join: str
    facts: Callable[[Sequence[Any]], LiveDealFacts | None]
    refusal: Callable[[LiveDealFacts, int], dict[str, Any] | None]
    sold_out: Callable[[int, int], dict[str, Any]]


_gate: list[LiveGate] = []


def register_live_gate(gate: LiveGate) -> LiveGate:
    """Install the gate's LIVE part (replacing any before it); without one a LIVE buy is left to
    the route."""
    _gate[:] = [gate]
    return gate


def live_gate() -> LiveGate | None:
    return _gate[0] if _gate else None


# --- an order's money life: paid, refunded, settled -----------------------------------------


@dataclass(frozen=True)
class OrderMoneyEvent:
    """One step of an order's money life, told to the domains above orders (affiliate
    commissions, shopping credits, analytics, community missions) inside the unit of work that
    made it, after the order's own ledger posting.

    ``kind`` is ``paid`` (``amount`` = what the buyer paid, the order total), ``refunded``
    (``amount`` = this refund, ``refunded_before`` = refunded earlier, ``refund_id`` set) or
    ``settled`` (``amount`` = the order total; the settlement period after delivery passed).
    """

    kind: str
    order_id: int
    shop_id: int
    buyer_id: int
    currency: str
    amount: int
    at: datetime
    refund_id: int | None = None
    refunded_before: int = 0
    live_id: int | None = None  # ``paid``: the LIVE the order was bought in, if any


OrderMoneyHandler = Callable[[AsyncSession, OrderMoneyEvent], Awaitable[None]]

_money_handlers: list[OrderMoneyHandler] = []


def register_order_money(handler: OrderMoneyHandler) -> OrderMoneyHandler:
    """``handler(db, event)`` runs for every paid, refunded and settled order (idempotent
    registration). It runs in the caller's transaction: raising rolls the whole step back, so a
    handler posts idempotently (by reference) and refuses only what must stop the step."""
    if handler not in _money_handlers:
        _money_handlers.append(handler)
    return handler


def unregister_order_money(handler: OrderMoneyHandler) -> None:
    if handler in _money_handlers:
        _money_handlers.remove(handler)


async def order_money(db: AsyncSession, event: OrderMoneyEvent) -> None:
    for handler in list(_money_handlers):
        await handler(db, event)
