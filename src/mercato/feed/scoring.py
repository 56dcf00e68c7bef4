"""The For You scoring model: one place, pure numpy, shared by the live feed (feed/engine.py)
and the offline evaluation (benchmarks/feed_quality.py).

Every candidate carries one value per feature (all ≥ 0, each already normalised to roughly
[0, 1] by whoever builds the features): the seven ``SIGNALS`` and the ``EXTRA`` features only a
learned model uses. The score is a weighted sum — with the hand weights of the settings
(``feed_weight_*``, the cold start and the fallback) or with the coefficients of a learned
logistic model (feed/ranker.py): the same dot product either way, so a learned model costs the
request path nothing more. The dominant signal of each candidate is its "why you're seeing
this" reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mercato.config import Settings

SIGNALS = ("affinity", "creator", "following", "collaborative", "trending", "quality", "fresh")
# Features beyond the signals, for the learned ranker (hand weights give them 0): the video's
# recency 1 / (1 + age in days) and whether it anchors a product.
EXTRA = ("recency", "shoppable")
FEATURES = SIGNALS + EXTRA

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
        """One weight per column of ``FEATURES`` (the extra features weigh 0)."""
        return np.array([getattr(self, name) for name in SIGNALS] + [0.0] * len(EXTRA), dtype=np.float64)


@dataclass(frozen=True)
class LearnedWeights:
    """A learned model's coefficients, one per name of ``FEATURES`` (feed/ranker.py); ``version``
    is its ``feed_models`` id."""

    coefficients: tuple[float, ...]
    version: int

    def vector(self) -> NDArray[np.float64]:
        return np.array(self.coefficients, dtype=np.float64)


Scorer = Weights | LearnedWeights


def score(features: NDArray[np.float64], weights: Scorer) -> NDArray[np.float64]:
    """``features`` has one row per candidate and one column per name in ``FEATURES`` order (the
    offline evaluation may pass only the ``SIGNALS`` columns to hand weights)."""
    vector = weights.vector()
    if features.ndim != 2 or features.shape[1] not in (len(SIGNALS), len(FEATURES)):
        raise ValueError(f"features must be (n, {len(SIGNALS)}) or (n, {len(FEATURES)})")
    return features @ vector[: features.shape[1]]


def dominant_signal(features: NDArray[np.float64], weights: Scorer) -> list[str]:
    """For each candidate, the signal that contributed most to its score; "exploration" when no
    signal contributed anything positive. The extra features are never a reason: a viewer is
    told about their own signals, not about a video's age."""
    if len(features) == 0:
        return []
    contributions = features[:, : len(SIGNALS)] * weights.vector()[: len(SIGNALS)]
    best = contributions.argmax(axis=1)
    top = contributions[np.arange(len(best)), best]
    return [SIGNALS[i] if v > 0 else "exploration" for i, v in zip(best.tolist(), top.tolist(), strict=True)]
