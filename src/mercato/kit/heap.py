"""Garbage-collector settings for a serving process.

CPython's cyclic collector walks every tracked container of the generation it collects. A
started app holds a couple of hundred thousand long-lived containers (modules, SQLAlchemy
mappers, pydantic schemas, routes), and with the default thresholds (700, 10, 10) a full
collection walked all of them every few hundred requests, stalling every request in flight
(the figures, measured with ``gc.callbacks``: benchmarks/README.md).

:func:`settle` runs once, when the app has started: one full collection (so no garbage is kept),
then ``gc.freeze()`` moves everything alive into the permanent generation, which collections
never walk (it is still freed by reference counting), and a higher first-generation threshold
lets a request's short-lived objects die by reference counting before a collection looks at
them. Cycles made later are still collected as usual.

:func:`freeze_survivors` does the same for a big structure built later (the feed's in-memory
index, rebuilt on a full reload): its objects live until the next rebuild, and every full
collection would otherwise walk them. Both follow ``settings.settle_heap``
(``MERCATO_SETTLE_HEAP``): with it off, the collector keeps CPython's defaults everywhere. This
module is the only place that changes the collector's policy.
"""

from __future__ import annotations

import gc

from mercato.config import Settings

#: Allocations (minus deallocations) of tracked containers between young collections.
GEN0_THRESHOLD = 10_000


def settle(gen0_threshold: int = GEN0_THRESHOLD) -> None:
    """Collect, freeze what is alive, and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)


def freeze_survivors(settings: Settings) -> bool:
    """After building a large long-lived structure: move everything alive into the permanent
    generation (not collected, still freed by reference counting when dropped), when
    ``settings.settle_heap`` is on. Whether it froze."""
    if not settings.settle_heap:
        return False
    gc.freeze()
    return True
