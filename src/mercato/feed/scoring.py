"""The For You scoring model: one place, pure numpy, shared by the live feed (feed/engine.py)
and the offline evaluation (benchmarks/feed_quality.py).

Every candidate carries one value per signal (all ≥ 0, each already normalised to roughly
[0, 1] by whoever builds the features); the score is their weighted sum. Weights are
settings (``feed_weight_*``), documented in docs/feed.md. The dominant signal of each
candidate is its "why you're seeing this" reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mercato.config import Settings

SIGNALS = ("affinity", "creator", "following", "collaborative", "trending", "quality", "fresh")

# Shown to viewers: the reason of the signal that contributed most to an item's score.
REASONS = {
    "affinity": "Because you watch videos about {detail}",
    "creator": "Because you engaged with {detail}",
    "following": "You follow {detail}",
    "collaborative": "Viewers who liked what you liked also liked this",
    "trending": "Trending now",
    "quality": "Popular with viewers",
    "fresh": "New video looking for its audience",
    "exploration": "Something different to explore",
}


@dataclass(frozen=True)
class Weights:
    affinity: float
    creator: float
    following: float
    collaborative: float
    trending: float
    quality: float
    fresh: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Weights:
        return cls(**{name: float(getattr(settings, f"feed_weight_{name}")) for name in SIGNALS})

    def vector(self) -> NDArray[np.float64]:
        return np.array([getattr(self, name) for name in SIGNALS], dtype=np.float64)


def score(features: NDArray[np.float64], weights: Weights) -> NDArray[np.float64]:
    """``features`` has one row per candidate and one column per signal in ``SIGNALS`` order."""
    if features.ndim != 2 or features.shape[1] != len(SIGNALS):
        raise ValueError(f"features must be (n, {len(SIGNALS)})")
    return features @ weights.vector()


def dominant_signal(features: NDArray[np.float64], weights: Weights) -> list[str]:
    """For each candidate, the signal that contributed most to its score."""
    if len(features) == 0:
        return []
    contributions = features * weights.vector()
    return [SIGNALS[i] for i in contributions.argmax(axis=1)]
