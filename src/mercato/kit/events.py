"""The analytics event stream's entry point, at kit level so that every domain can record.

Orders, catalog, content, feed and accounts sit below ``analytics`` and may not import it; they
build an :class:`Event` and call :func:`record` (or :func:`record_many`) inside their own unit of
work. The ``analytics`` package installs its SQL sink here when the app starts
(``analytics/wiring.py``), so an event commits — or rolls back — with the fact it describes.
With no sink installed (a tool that never starts the app) recording does nothing, which keeps
the lower domains usable on their own. The sink is an interface so that a deployment can move
the event store to a dedicated engine (docs/analytics.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol, get_args

from sqlalchemy.ext.asyncio import AsyncSession

#: Every kind of event the stream knows (docs/analytics.md, "Event kinds").
KINDS = frozenset({
    "impression", "view", "product_card_click", "shop_view", "product_view", "add_to_cart",
    "checkout_started", "order_paid", "refund", "gift", "like", "comment", "share", "follow",
    "live_join", "live_leave",
})

#: Traffic sources (docs/analytics.md, "Traffic source"); ``ads`` is reserved for later.
TrafficSource = Literal["foryou", "following", "search", "affiliate", "live", "profile", "direct", "ads"]
SOURCES: frozenset[str] = frozenset(get_args(TrafficSource))


@dataclass(frozen=True, slots=True)
class Event:
    """One fact for analytics. ``event_id`` is derived from the action (``order_paid:{order}``,
    ``like:{user}:{video}``) or is the client's id for a beacon, so a retry or a re-send counts
    once. ``viewer_id`` only serves to derive the viewer's coarse attributes (age band, region)
    and the raw event's unique counts; rollups never hold it."""

    event_id: str
    kind: str
    occurred_at: datetime
    source: str = "direct"
    creator_id: int | None = None
    video_id: int | None = None
    live_id: int | None = None
    product_id: int | None = None
    shop_id: int | None = None
    viewer_id: int | None = None
    age_band: str | None = None
    region: str | None = None
    value: int = 0  # money, minor units of ``currency``
    currency: str | None = None
    quantity: int = 0
    watch_ms: int = 0
    #: What the event adds to its rollup's ``count``: an order's lines after the first add 0, so
    #: ``order_paid`` counts orders while value and quantity sum over the lines.
    count: int = 1


class Sink(Protocol):
    """Where events go. ``write`` runs in the caller's transaction and answers the events that
    were new (an already recorded ``event_id`` is ignored), as stored (a sink may complete them,
    e.g. with the viewer's age band or the click that led to a purchase)."""

    async def write(self, db: AsyncSession, events: Sequence[Event]) -> Sequence[Event]: ...


#: ``listener(db, events)``: the new events of one ``record_many`` call, in its transaction.
Listener = Callable[[AsyncSession, Sequence[Event]], Awaitable[None]]

_sinks: list[Sink] = []
_listeners: list[Listener] = []


def register_listener(listener: Listener) -> Listener:
    """Hear every new event after the sink stored it (idempotent). The feed learns add-to-carts
    and purchases this way: from what the server saw, never from what a client claims."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def unregister_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def install_sink(sink: Sink) -> Sink:
    """Make ``sink`` the one sink (replacing any before it)."""
    _sinks[:] = [sink]
    return sink


def uninstall_sink() -> None:
    _sinks.clear()


def sink() -> Sink | None:
    return _sinks[0] if _sinks else None


#: Upper bounds (exclusive) of the age bands; the last band is open.
AGE_BANDS = ((18, "13-17"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"))


def age_band(born: date, on: date) -> str:
    """The coarse age band of someone born on ``born``, on the day ``on`` (what a dashboard
    shows of a viewer's age: never the date itself)."""
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for bound, band in AGE_BANDS:
        if age < bound:
            return band
    return "55+"


def normal_source(source: str | None) -> str:
    """A known traffic source, ``direct`` for anything else (a link carries ``src`` as it likes)."""
    return source if source in SOURCES else "direct"


async def record(db: AsyncSession, event: Event) -> int:
    """Record one event in ``db``'s transaction; answers 1 when it was new, else 0."""
    return await record_many(db, (event,))


async def record_many(db: AsyncSession, events: Sequence[Event]) -> int:
    """Record events in ``db``'s transaction; answers how many were new (0 without a sink)."""
    installed = sink()
    if installed is None or not events:
        return 0
    new = await installed.write(db, events)
    if new:
        for listener in list(_listeners):
            await listener(db, new)
    return len(new)
