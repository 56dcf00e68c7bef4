"""The pieces of the model that need no server: decay arithmetic and co-engagement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mercato.feed.engine import co_engagement
from mercato.feed.signals import ERA_HALF_LIVES, Decay, event_weight


def test_decayed_scores_halve_every_half_life_and_survive_era_changes() -> None:
    decay = Decay(6.0)
    t0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
    stored = decay.stored_weight(2.0, t0)
    assert decay.value(stored, t0, t0) == pytest.approx(2.0)
    assert decay.value(stored, t0, t0 + timedelta(hours=6)) == pytest.approx(1.0)
    assert decay.value(stored, t0, t0 + timedelta(hours=18)) == pytest.approx(0.25)
    # Two events at different times add up to the sum of their decayed values.
    t1 = t0 + timedelta(hours=3)
    both = stored + decay.stored_weight(1.0, t1)
    assert decay.value(both, t1, t1 + timedelta(hours=6)) == pytest.approx(2.0 * 2**-1.5 + 0.5)
    # Stored values stay bounded: at most 2^ERA_HALF_LIVES times the weight.
    era_end = datetime.fromtimestamp(decay.era_start(t0.timestamp()) + decay.era_s - 1, UTC)
    assert decay.stored_weight(1.0, era_end) <= 2.0**ERA_HALF_LIVES
    vec = decay.values(np.array([stored, 0.0]), np.array([t0.timestamp(), 0.0]),
                       (t0 + timedelta(hours=6)).timestamp())
    assert vec.tolist() == pytest.approx([1.0, 0.0])


def test_event_weights() -> None:
    assert event_weight("watch", 9_000, 10_000) == (1.5, True)
    assert event_weight("watch", 5_000, 10_000) == (0.5, False)
    assert event_weight("watch", 5_000, 0) == (0.0, False)
    assert event_weight("skip", 300, 10_000) == (-1.0, False)
    assert event_weight("purchase", 0, 10_000) == (5.0, False)


def test_co_engagement_neighbours() -> None:
    # Viewers 1 and 2 engaged with videos 10 and 11; viewer 3 with 11 and 12.
    src, dst, sim = co_engagement([(1, 10), (1, 11), (2, 10), (2, 11), (3, 11), (3, 12), (3, 12)])
    table = {(int(a), int(b)): float(s) for a, b, s in zip(src, dst, sim, strict=True)}
    assert set(table) == {(10, 11), (11, 10), (11, 12), (12, 11)}
    assert table[(10, 11)] == pytest.approx(2 / np.sqrt(2 * 3))
    assert table[(12, 11)] == pytest.approx(1 / np.sqrt(1 * 3))
    assert list(src) == sorted(src)
    assert co_engagement([]) [0].size == 0
