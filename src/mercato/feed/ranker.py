"""The learned For You ranker: a logistic model over the feed's features, as they are and on a
log scale, trained on the platform's own engagement (docs/feed.md, "The learned ranker").

- **Examples**: ``feed_impressions``, the items of a share (``feed_training_log_share``) of
  signed-in viewers' pages with the feature row they were ranked on, their slot and its
  propensity. **Label**: the viewer watched or engaged positively with the video
  (``LABEL_KINDS`` in ``feed_events``) within ``feed_ranker_label_hours`` of the impression.
  Only impressions older than that window are used, so every label is final.
- **Split by time**: the most recent ``feed_ranker_validation_share`` of the examples validate,
  the older ones train — the model is judged on the future it will serve, not on a shuffle.
- **Unbiased exploration**: an exploration slot's video was drawn at random; its example weighs
  1 / propensity (capped at ``MAX_IPS``), so the videos the ranking would never have shown
  count as much as the learner needs them to.
- **Promotion**: the model is promoted only if its validation NDCG (each viewer's validation
  impressions ranked by score) beats the hand weights' on the same examples. With fewer than
  ``feed_ranker_min_examples`` examples or ``feed_ranker_min_positives`` positives in either
  part nothing is fitted and the hand weights stay (cold start). Every run is stored
  (``feed_models``) with its scores, promoted or not: the operator sees why.

Scikit-learn's ``LogisticRegression`` rather than a tree ensemble: over the features and their
logs (``scoring.MODEL_FEATURES``) its score is a dot product like the hand weights', so serving a
learned model costs the request path one ``np.log`` per candidate, and its coefficients are
readable. Fitting runs in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.feed import ranker_repository as repo
from mercato.feed.models import FeedModel
from mercato.feed.scoring import FEATURES, MODEL_FEATURES, Weights, model_inputs
from mercato.feed.signals import POSITIVE_KINDS
from mercato.kit.db import utcnow

log = logging.getLogger("mercato.feed.ranker")

LABEL_KINDS = ("watch", *POSITIVE_KINDS)
MAX_IPS = 10.0  # an exploration example weighs at most this many ranked ones
MAX_EXAMPLES = 500_000  # the most recent logged impressions read per training run (bounded work)
REGULARISATION = 1.0  # scikit-learn's C (inverse L2 strength) on features already in [0, 1]

F64 = NDArray[np.float64]


@dataclass
class Examples:
    """Logged impressions in time order: features (n, len(FEATURES)), labels, weights, viewers."""

    features: F64
    labels: NDArray[np.int64]
    weights: F64
    users: NDArray[np.int64]

    def part(self, sl: slice) -> Examples:
        return Examples(self.features[sl], self.labels[sl], self.weights[sl], self.users[sl])


@dataclass
class Outcome:
    status: str  # promoted | rejected | insufficient
    coefficients: list[float]
    importances: list[float]
    train_examples: int
    validation_examples: int
    positives: int
    val_ndcg: float | None = None
    hand_val_ndcg: float | None = None
    val_auc: float | None = None
    hand_val_auc: float | None = None
    note: str = ""


def label_examples(impressions: list[tuple[int, int, int, datetime, float, list[float]]],
                   events: list[tuple[int, int, datetime]], label_hours: float) -> Examples:
    """Join impressions with their outcome: positive when the viewer had a ``LABEL_KINDS``
    event on the video in [served_at, served_at + label_hours)."""
    times: dict[tuple[int, int], list[float]] = {}
    for user, video, at in events:
        times.setdefault((user, video), []).append(at.timestamp())
    window = label_hours * 3600.0
    n = len(impressions)
    features = np.zeros((n, len(FEATURES)))
    labels = np.zeros(n, np.int64)
    weights = np.ones(n)
    users = np.zeros(n, np.int64)
    for row, (_, user, video, served_at, propensity, feats) in enumerate(impressions):
        width = min(len(feats), len(FEATURES))
        features[row, :width] = feats[:width]
        t0 = served_at.timestamp()
        labels[row] = int(any(t0 <= t < t0 + window for t in times.get((user, video), ())))
        weights[row] = min(1.0 / max(propensity, 1e-9), MAX_IPS)
        users[row] = user
    return Examples(features, labels, weights, users)


def grouped_metrics(scores: F64, labels: NDArray[np.int64], users: NDArray[np.int64]) -> tuple[float, float]:
    """(mean NDCG, mean AUC) over viewers with at least one positive and one negative example:
    each viewer's impressions ranked by score (ties: the worse case, positives last)."""
    order = np.lexsort((labels, -scores, users))  # by viewer, best score first, positives last on ties
    users_s, labels_s = users[order], labels[order]
    starts = np.flatnonzero(np.r_[True, users_s[1:] != users_s[:-1]])
    ends = np.r_[starts[1:], len(users_s)]
    ndcgs: list[float] = []
    aucs: list[float] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        rel = labels_s[a:b]
        pos = int(rel.sum())
        if pos == 0 or pos == len(rel):
            continue
        discounts = 1.0 / np.log2(np.arange(2, len(rel) + 2))
        ndcgs.append(float((rel * discounts).sum() / discounts[:pos].sum()))
        # AUC: the share of (positive, negative) pairs ranked right.
        negatives_before = np.cumsum(1 - rel)[rel == 1]
        aucs.append(float(1.0 - negatives_before.sum() / (pos * (len(rel) - pos))))
    if not ndcgs:
        return 0.0, 0.5
    return float(np.mean(ndcgs)), float(np.mean(aucs))


def fit(examples: Examples, settings: Settings) -> Outcome:
    """Fit on the older part, validate on the newer one, compare with the hand weights."""
    n = len(examples.labels)
    n_val = round(n * settings.feed_ranker_validation_share)
    train, val = examples.part(slice(0, n - n_val)), examples.part(slice(n - n_val, n))
    positives = int(examples.labels.sum())
    base = Outcome("insufficient", [], [], len(train.labels), len(val.labels), positives)
    if n < settings.feed_ranker_min_examples:
        base.note = f"{n} logged impressions, fewer than {settings.feed_ranker_min_examples}"
        return base
    least = settings.feed_ranker_min_positives
    for name, part in (("training", train), ("validation", val)):
        pos = int(part.labels.sum())
        if pos < least or len(part.labels) - pos < least:
            base.note = f"the {name} part has {pos} positives of {len(part.labels)}; both classes need {least}"
            return base
    # lint: local-import (scikit-learn costs ≈ 1 s and tens of MB to import; only a training run needs it)
    from sklearn.linear_model import LogisticRegression

    inputs = model_inputs(train.features)
    model = LogisticRegression(C=REGULARISATION, max_iter=1000)
    model.fit(inputs, train.labels, sample_weight=train.weights)
    coefficients = model.coef_[0].astype(np.float64)
    spread = inputs.std(axis=0)
    raw = np.abs(coefficients) * spread
    importances = raw / raw.sum() if raw.sum() > 0 else raw
    val_ndcg, val_auc = grouped_metrics(model_inputs(val.features) @ coefficients, val.labels, val.users)
    hand = Weights.from_settings(settings).vector()
    hand_ndcg, hand_auc = grouped_metrics(val.features @ hand, val.labels, val.users)
    promoted = val_ndcg > hand_ndcg
    return Outcome(
        "promoted" if promoted else "rejected", coefficients.tolist(), importances.tolist(), len(train.labels),
        len(val.labels), positives, val_ndcg, hand_ndcg, val_auc, hand_auc,
        "" if promoted else "no better than the hand weights on validation: not promoted")


async def train(db: AsyncSession, settings: Settings, now: datetime | None = None) -> FeedModel:
    """One training run: read the log, fit (in a worker thread), store the run. The feed's
    processes swap a promoted model in at their next model check (engine.FeedIndex.load_model)."""
    now = now or utcnow()
    until = now - timedelta(hours=settings.feed_ranker_label_hours)
    since = now - timedelta(days=settings.feed_ranker_days)
    impressions = await repo.impressions_since(db, since, until, MAX_EXAMPLES)
    first = impressions[0][3] if impressions else until
    events = await repo.outcome_events(db, LABEL_KINDS, first)
    examples = label_examples(impressions, events, settings.feed_ranker_label_hours)
    outcome = await asyncio.to_thread(fit, examples, settings)
    stored = await repo.add_model(
        db, trained_at=now, status=outcome.status, feature_names=list(MODEL_FEATURES),
        coefficients=outcome.coefficients, importances=outcome.importances, train_examples=outcome.train_examples,
        validation_examples=outcome.validation_examples, positives=outcome.positives, val_ndcg=outcome.val_ndcg,
        hand_val_ndcg=outcome.hand_val_ndcg, val_auc=outcome.val_auc, hand_val_auc=outcome.hand_val_auc,
        note=outcome.note[:200])
    log.info("feed ranker trained: model %s %s (%s examples)", stored.id, stored.status, len(examples.labels))
    return stored


async def due(db: AsyncSession, settings: Settings, now: datetime | None = None) -> bool:
    """Whether a run is due: something was logged in the training period (a platform nobody
    uses stores no runs) and the newest run is ``feed_ranker_retrain_seconds`` old or more."""
    now = now or utcnow()
    if not await repo.any_impression_since(db, now - timedelta(days=settings.feed_ranker_days)):
        return False
    last = await repo.last_trained_at(db)
    return last is None or (now - last).total_seconds() >= settings.feed_ranker_retrain_seconds
