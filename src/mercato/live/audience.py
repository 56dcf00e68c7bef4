"""How many are watching a LIVE now: the room hub knows (in this process or through Redis).

Pages and API bodies show the count; the room installs its counter when the app starts
(:func:`install`). Until one is installed every LIVE counts 0 viewers, which is true of a
process without a room.
"""

from __future__ import annotations

from collections.abc import Callable

Counter = Callable[[int], int]
_counters: list[Counter] = []


def install(counter: Counter) -> None:
    """Make ``counter(live_id) -> viewers now`` the one used (replacing any before it)."""
    _counters[:] = [counter]


def uninstall() -> None:
    _counters.clear()


def viewers(live_id: int) -> int:
    return _counters[0](live_id) if _counters else 0
