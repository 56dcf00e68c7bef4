"""The For You scoring model: one place, pure numpy, shared by the live feed (feed/engine.py)
and the offline evaluation (benchmarks/feed_quality.py).

Every candidate carries one value per feature (all ≥ 0, each already normalised to roughly
[0, 1] by whoever builds the features): the seven ``SIGNALS`` and the ``EXTRA`` features only a
learned model uses. The score is a weighted sum — with the hand weights of the settings
(``feed_weight_*``, the cold start and the fallback) over the features, or with the
coefficients of a learned logistic model (feed/ranker.py) over the features and their logs
(``MODEL_FEATURES``): a dot product either way, so a learned model costs the request path one
``np.log`` more. The signal that adds most to a candidate's score is its "why you're seeing
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
# A learned model weighs every feature twice: as it is and on a log scale, ``log(x + LOG_EPS)``.
# The log columns let a linear model tell "a little evidence" from "none" (a saturating effect)
# at the cost of one ``np.log`` per candidate row; the score is still one dot product.
LOG_EPS = 0.01
MODEL_FEATURES = FEATURES + tuple(f"log_{name}" for name in FEATURES)

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


def model_inputs(features: NDArray[np.float64]) -> NDArray[np.float64]:
    """The learned model's columns (``MODEL_FEATURES``) from rows of ``FEATURES``: the features,
    then their logs (negative values, which the builders never produce, count as 0)."""
    return np.hstack([features, np.log(np.maximum(features, 0.0) + LOG_EPS)])


@dataclass(frozen=True)
class LearnedWeights:
    """A learned model's coefficients, one per name of ``MODEL_FEATURES`` (feed/ranker.py);
    ``version`` is its ``feed_models`` id."""

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
    if isinstance(weights, LearnedWeights):
        if features.shape[1] != len(FEATURES):
            raise ValueError(f"a learned model scores rows of all {len(FEATURES)} features")
        return model_inputs(features) @ vector
    return features @ vector[: features.shape[1]]


def contributions(features: NDArray[np.float64], weights: Scorer) -> NDArray[np.float64]:
    """What each signal adds to each candidate's score over the same candidate without it
    (the signal at 0): ``w·x`` for the hand weights, and for a learned model also its log
    column's ``w_log·(log(x + ε) − log ε)``."""
    vector = weights.vector()
    signals = features[:, : len(SIGNALS)]
    out = signals * vector[: len(SIGNALS)]
    if isinstance(weights, LearnedWeights):
        logs = vector[len(FEATURES): len(FEATURES) + len(SIGNALS)]
        out = out + (np.log(np.maximum(signals, 0.0) + LOG_EPS) - np.log(LOG_EPS)) * logs
    return out


def dominant_signal(features: NDArray[np.float64], weights: Scorer) -> list[str]:
    """For each candidate, the signal that contributed most to its score; "exploration" when no
    signal contributed anything positive. The extra features are never a reason: a viewer is
    told about their own signals, not about a video's age."""
    if len(features) == 0:
        return []
    gains = contributions(features, weights)
    best = gains.argmax(axis=1)
    top = gains[np.arange(len(best)), best]
    return [SIGNALS[i] if v > 0 else "exploration" for i, v in zip(best.tolist(), top.tolist(), strict=True)]
