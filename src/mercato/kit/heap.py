"""Garbage-collector settings for a serving process.

CPython's cyclic collector walks every tracked container of the generation it collects. A
started app holds a couple of hundred thousand long-lived containers (modules, SQLAlchemy
mappers, pydantic schemas, routes), and with the default thresholds (700, 10, 10) a full
collection walked all of them every few hundred requests: ≈ 50 ms each on the 2-vCPU machine,
stalling every request in flight, ≈ 10 % of the checkout benchmark's server CPU (measured with
``gc.callbacks``; see benchmarks/README.md).

:func:`settle` runs once, when the app has started: one full collection (so no garbage is kept),
then ``gc.freeze()`` moves everything alive into the permanent generation, which collections
never walk (it is still freed by reference counting), and a higher first-generation threshold
lets a request's short-lived objects die by reference counting before a collection looks at
them. Cycles made later are still collected as usual.
"""

from __future__ import annotations

import gc

#: Allocations (minus deallocations) of tracked containers between young collections.
GEN0_THRESHOLD = 10_000


def settle(gen0_threshold: int = GEN0_THRESHOLD) -> None:
    """Collect, freeze what is alive, and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
