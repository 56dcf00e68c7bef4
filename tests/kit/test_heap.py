"""kit/heap.py: the collector settled once the app has started."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from mercato.config import Settings
from mercato.kit import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def restore_gc() -> Iterator[None]:
    """Put the collector back as it was. When the session's app has already settled the heap (it
    does at its start, as in production), it stays settled: unfreezing would undo that for the
    rest of the run; the few test objects frozen along with it are freed by reference counting."""
    thresholds = gc.get_threshold()
    was_frozen = gc.get_freeze_count() > 0
    yield
    if not was_frozen:
        gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_is_alive_and_raises_the_young_threshold(restore_gc: None) -> None:
    alive = Node()
    assert any(o is alive for o in gc.get_objects())
    gen1, gen2 = gc.get_threshold()[1:]
    heap.settle()
    assert gc.get_freeze_count() > 0
    assert not any(o is alive for o in gc.get_objects())  # frozen: no collection walks it any more
    assert gc.get_threshold() == (heap.GEN0_THRESHOLD, gen1, gen2)


def unreachable_cycle() -> weakref.ref[Node]:
    """Two nodes pointing at each other, no longer reachable: only a collection frees them."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_garbage_before_settling_is_collected_not_frozen(restore_gc: None) -> None:
    ref = unreachable_cycle()
    heap.settle()
    assert ref() is None


def test_cycles_made_after_settling_are_still_collected(restore_gc: None) -> None:
    heap.settle()
    ref = unreachable_cycle()
    assert ref() is not None  # not yet collected
    gc.collect()
    assert ref() is None


def test_freeze_survivors_freezes_what_is_alive_when_the_heap_setting_is_on(restore_gc: None) -> None:
    gc.unfreeze()
    alive = Node()
    assert heap.freeze_survivors(Settings(settle_heap=False)) is False
    assert gc.get_freeze_count() == 0
    assert any(o is alive for o in gc.get_objects())  # MERCATO_SETTLE_HEAP=0: the collector still walks it
    assert heap.freeze_survivors(Settings(settle_heap=True)) is True
    assert gc.get_freeze_count() > 0
    assert not any(o is alive for o in gc.get_objects())
