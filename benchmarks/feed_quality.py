"""Offline quality of the For You ranking on real interaction data, against popularity and ALS.

    python benchmarks/feed_quality.py [--cutoff 2011-11-09] [--test-days 30] [--tune] [--help]

What it does (see benchmarks/README.md, docs/feed.md "Offline evaluation" and PERFORMANCE.md,
bench ``feed_quality``):

1. loads the UCI Online Retail purchases from ``../shared/data/interactions/online-retail/``
   (``benchmarks/_interactions.py``: customers × stock codes, cancellations, rows without a
   customer and non-product codes dropped), one purchase = one interaction;
2. temporal split: train on everything before ``--cutoff``, test on the ``--test-days`` after
   it; evaluated users = users with train events and ≥ 1 *new* item in test;
3. "no repeats" protocol, the feed's own rule, for every method alike: a user's train items are
   never candidates and never targets (``--with-repeats`` adds the other protocol as extra keys);
4. ranks every other item for every evaluated user three ways:
   - **For You**: the live feed's scoring model itself (``mercato.feed.scoring.score`` with
     ``Weights.from_settings(get_settings())``) over the same seven signals, built from the
     data — affinity (the user's decayed profile of description keywords and stock-code
     families · the item's), collaborative (item-item cosine neighbours of the user's recent
     items), trending (decayed recent purchases), quality (buyers and repeat rate), fresh (items
     first sold recently); creator and following are 0 (retail data has no creators); each
     signal normalised per user to [0, 1] over the user's candidates;
   - **popularity**: distinct buyers in train;
   - **implicit-ALS** (``implicit.cpu.als``, confidence from purchase counts, hyper-parameters
     chosen on the validation split, fixed seed, 2 threads);
5. prints Recall@20 and NDCG@10 of the three (mean over users) and one JSON line on stdout.

The feed's windows are in hours of video engagement; a retail catalogue moves in days, so the
half-lives and the fresh window of the settings are read with 1 feed hour = ``--time-scale``
hours of data (default 24: the 72 h affinity half-life becomes 72 days). ``--tune`` searches
the signal weights (and ALS's hyper-parameters, for a fair comparison) on a validation split
carved from the train period only (train < cutoff − test-days, validate on the last
test-days before the cut-off) and reports the test metrics of the weights it found as extra
``tuned_*`` keys; the headline keys always use the weights of the settings.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# A file in this folder is named http.py: keep the folder off sys.path (it would shadow the
# standard library's ``http``) and import the shared pieces as ``benchmarks._interactions``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import os  # noqa: E402

# implicit's ALS runs its own threads and wants BLAS single-threaded; set before numpy loads BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from benchmarks._interactions import (  # noqa: E402
    DATA_DIR,
    DATASET,
    Interactions,
    Split,
    age_days,
    event_matrix,
    ndcg_at_k,
    recall_at_k,
    temporal_split,
    top_k,
)
from numpy.typing import NDArray  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from mercato.config import get_settings  # noqa: E402
from mercato.feed.scoring import SIGNALS, Weights, score  # noqa: E402

console = Console(stderr=True)
RECALL_K = 20
NDCG_K = 10
BATCH = 512  # users per block of dense scores (512 × ~3,700 items × 7 signals ≈ 50 MB)

STOPWORDS = frozenset([
    "AND", "THE", "WITH", "FOR", "SET", "SETS", "OF", "IN", "ON", "TO", "BOX", "BOXES", "PACK", "ASSORTED", "ASST",
    "DESIGN", "DESIGNS", "SMALL", "LARGE", "MINI", "JUMBO", "BIG", "MEDIUM", "COLOUR", "COLOURS", "NEW", "VINTAGE",
])


def log(message: str) -> None:
    console.print(f"[feed_quality] {message}", highlight=False, soft_wrap=True)


def progress() -> Progress:
    return Progress(TextColumn("[feed_quality] {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


# --- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureParams:
    """How the seven signals are built from purchases (half-lives and windows in days of data)."""

    affinity_half_life: float
    trending_half_life: float
    fresh_days: float
    fresh_buyers: int
    collab_half_life: float
    collab_neighbours: int

    @classmethod
    def from_settings(cls, time_scale: float, collab_half_life: float, collab_neighbours: int) -> FeatureParams:
        s = get_settings()
        day = 24.0 / time_scale  # feed hours per day of data
        return cls(affinity_half_life=s.feed_affinity_half_life_hours / day,
                   trending_half_life=s.feed_trending_half_life_hours / day,
                   fresh_days=s.feed_fresh_hours / day, fresh_buyers=s.feed_fresh_impressions,
                   collab_half_life=collab_half_life, collab_neighbours=collab_neighbours)


@dataclass(frozen=True)
class AlsParams:
    """Defaults: the best of ``tune_als``'s grid on the validation split (and of a wider one
    over BM25 weights: factors 32–128, regularization 0.01–1, alpha 1 or 10, 15 or 30 iterations)."""

    factors: int = 64
    regularization: float = 0.1
    alpha: float = 1.0
    iterations: int = 15
    bm25: bool = False  # confidence 1 + alpha · purchase count (Hu, Koren & Volinsky); True: BM25 weights


# --- the For You signals, offline ------------------------------------------------------------

TOKEN = re.compile(r"[A-Z]{3,}")


def item_tags(descriptions: list[str], codes: list[str]) -> sp.csr_matrix:
    """items × tags, TF-IDF, rows L2-normalised. An item's "hashtags": the keywords of its
    description (upper-cased words of ≥ 3 letters, minus stop-words) and its stock-code family
    (the five digits without the colour / variant letter). Tags on a single item are dropped."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, (description, code) in enumerate(zip(descriptions, codes, strict=True)):
        tags = {t for t in TOKEN.findall(description.upper()) if t not in STOPWORDS}
        tags.add(f"sku:{code[:5]}")
        for tag in tags:
            rows.append(i)
            cols.append(vocab.setdefault(tag, len(vocab)))
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(codes), len(vocab)))
    df = np.asarray(matrix.sum(axis=0)).ravel()
    keep = np.flatnonzero(df >= 2)
    matrix = matrix[:, keep].tocsr()
    idf = np.log(len(codes) / df[keep]).astype(np.float32)
    matrix = (matrix @ sp.diags(idf)).tocsr()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix).tocsr()


def item_neighbours(weighted: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """items × items cosine similarity of the (recency-weighted) user columns, the diagonal
    removed, only the ``k`` nearest neighbours of each item kept."""
    x = weighted.tocsc()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    x = (x @ sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0))).tocsc()
    sim = np.asarray((x.T @ x).todense(), dtype=np.float32)
    np.fill_diagonal(sim, 0.0)
    n = sim.shape[0]
    k = min(k, n - 1)
    idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(sim, idx, axis=1)
    return sp.csr_matrix((vals.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))


def co_occurrence_input(train: Interactions, age: NDArray[np.float64], half_life: float) -> sp.csr_matrix:
    """users × items for the item-item similarity: per pair the recency of the *last* purchase
    (0.5 ** (days / half_life)), not the count, so that a few bulk buyers do not dominate; each
    user's row scaled by 1 / log(1 + items bought) so that omnivorous accounts count less."""
    recency = (0.5 ** (age / half_life)).astype(np.float32)
    key = train.user.astype(np.int64) * train.n_items + train.item
    order = np.lexsort((recency, key))
    key, recency = key[order], recency[order]
    last = np.r_[key[1:] != key[:-1], True]
    key, recency = key[last], recency[last]
    users = key // train.n_items
    matrix = sp.csr_matrix((recency, (users, key % train.n_items)), shape=(train.n_users, train.n_items))
    n_items = np.bincount(users, minlength=train.n_users)
    scale = 1.0 / np.log1p(np.maximum(n_items, 1))
    return (sp.diags(scale.astype(np.float32)) @ matrix).tocsr()


class ForYouFeatures:
    """The seven signals of every (user, item) pair for one split, built from train only."""

    def __init__(self, split: Split, tags: sp.csr_matrix, params: FeatureParams) -> None:
        train = split.train
        age = age_days(train.time, split.cutoff)
        self.n_items = train.n_items
        self.seen = split.train_counts
        # the user's recent items, decayed with the affinity half-life
        recent = event_matrix(train, 0.5 ** (age / params.affinity_half_life))
        self.profile = (recent @ tags).tocsr()  # users × tags
        self.tags_t = tags.T.tocsc()
        self.recent = recent.copy()
        self.recent.data = np.log1p(self.recent.data)  # damp bulk re-buys of one item
        self.neighbours = item_neighbours(co_occurrence_input(train, age, params.collab_half_life),
                                          params.collab_neighbours)
        # item-level signals, the same for everybody
        trending = np.bincount(train.item, weights=0.5 ** (age / params.trending_half_life), minlength=self.n_items)
        bought = self.seen.copy()
        bought.data[:] = 1.0
        buyers = np.asarray(bought.sum(axis=0)).ravel()
        repeat = self.seen.copy()
        repeat.data = (repeat.data >= 2).astype(np.float32)
        repeaters = np.asarray(repeat.sum(axis=0)).ravel()
        repeat_rate = np.divide(repeaters, buyers, out=np.zeros_like(buyers), where=buyers > 0)
        quality = np.log1p(buyers) * (1.0 + repeat_rate)
        first_age = np.full(self.n_items, -np.inf)  # days since the item's first sale (-inf: never sold)
        np.maximum.at(first_age, train.item, age)
        # as the live feed: (1 − impressions ÷ feed_fresh_impressions) while younger than the fresh
        # window; a retail item has no impressions, its buyers stand in for them
        young = (first_age >= 0) & (first_age < params.fresh_days)
        fresh = np.where(young, np.clip(1.0 - buyers / params.fresh_buyers, 0.0, 1.0), 0.0)
        # as the live feed: trending on a log scale
        self.item_signals = {"trending": np.log1p(trending), "quality": quality, "fresh": fresh}

    def block(self, users: NDArray[np.int64]) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        """(features (n, items, 7) normalised per user to [0, 1] over the user's candidates,
        excluded (n, items): the user's train items)."""
        n = len(users)
        excluded = np.asarray(self.seen[users].todense()) > 0
        features = np.zeros((n, self.n_items, len(SIGNALS)), dtype=np.float32)
        raw = {
            "affinity": np.asarray((self.profile[users] @ self.tags_t).todense()),
            "collaborative": np.asarray((self.recent[users] @ self.neighbours).todense()),
            **{name: np.broadcast_to(vec, (n, self.n_items)) for name, vec in self.item_signals.items()},
        }
        for name, values in raw.items():
            column = np.where(excluded, 0.0, values).astype(np.float32)
            top = column.max(axis=1, keepdims=True)
            features[:, :, SIGNALS.index(name)] = np.divide(column, top, out=np.zeros_like(column), where=top > 0)
        # creator and following stay 0: retail purchases have no creators to follow
        return features, excluded


def batches(users: NDArray[np.int64], size: int = BATCH) -> Iterator[tuple[int, NDArray[np.int64]]]:
    for start in range(0, len(users), size):
        yield start, users[start:start + size]


def foryou_scores(features: NDArray[np.float32], excluded: NDArray[np.bool_], weights: Weights) -> NDArray[np.float64]:
    n, m, s = features.shape
    scores = score(features.reshape(n * m, s).astype(np.float64), weights).reshape(n, m)
    scores[excluded] = -np.inf
    return scores


@dataclass
class Ranked:
    """Top ``RECALL_K`` items per evaluated user (rows in ``split.eval_users`` order)."""

    no_repeats: NDArray[np.int64]
    with_repeats: NDArray[np.int64] | None = None


def rank_foryou(split: Split, feats: ForYouFeatures, weights: Weights, with_repeats: bool,
                label: str = "For You") -> Ranked:
    users = split.eval_users
    out = np.zeros((len(users), RECALL_K), dtype=np.int64)
    rep = np.zeros_like(out) if with_repeats else None
    with progress() as bar:
        task = bar.add_task(f"{label}: scoring users", total=len(users))
        for start, block_users in batches(users):
            features, excluded = feats.block(block_users)
            out[start:start + len(block_users)] = top_k(foryou_scores(features, excluded, weights), RECALL_K)
            if rep is not None:
                rep[start:start + len(block_users)] = top_k(
                    foryou_scores(features, np.zeros_like(excluded), weights), RECALL_K)
            bar.advance(task, len(block_users))
    return Ranked(out, rep)


def rank_popularity(split: Split, with_repeats: bool) -> Ranked:
    bought = split.train_counts.copy()
    bought.data[:] = 1.0
    buyers = np.asarray(bought.sum(axis=0)).ravel().astype(np.float64)
    users = split.eval_users
    out = np.zeros((len(users), RECALL_K), dtype=np.int64)
    for start, block_users in batches(users):
        scores = np.tile(buyers, (len(block_users), 1))
        scores[np.asarray(split.train_counts[block_users].todense()) > 0] = -np.inf
        out[start:start + len(block_users)] = top_k(scores, RECALL_K)
    rep = np.tile(top_k(buyers[None, :], RECALL_K)[0], (len(users), 1)) if with_repeats else None
    return Ranked(out, rep)


def rank_als(split: Split, params: AlsParams, threads: int, seed: int, with_repeats: bool) -> Ranked:
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import bm25_weight

    counts = split.train_counts
    weighted = bm25_weight(counts, K1=100, B=0.8).tocsr().astype(np.float32) if params.bm25 else counts
    with threadpool_limits(limits=1, user_api="blas"):  # implicit's own threads, not BLAS's
        model = AlternatingLeastSquares(factors=params.factors, regularization=params.regularization,
                                        alpha=params.alpha, iterations=params.iterations,
                                        num_threads=threads, random_state=seed)
        model.fit(weighted, show_progress=False)
        users = split.eval_users
        ids, _ = model.recommend(users, weighted[users], N=RECALL_K, filter_already_liked_items=True)
        rep = None
        if with_repeats:
            rep, _ = model.recommend(users, weighted[users], N=RECALL_K, filter_already_liked_items=False)
    return Ranked(np.asarray(ids, dtype=np.int64), None if rep is None else np.asarray(rep, dtype=np.int64))


def evaluate(ranked: NDArray[np.int64], targets: sp.csr_matrix) -> tuple[float, float]:
    """(mean Recall@20, mean NDCG@10)."""
    ranked = np.where(ranked < 0, 0, ranked)  # implicit pads with -1 when it runs out (never here)
    return float(recall_at_k(ranked, targets, RECALL_K).mean()), float(ndcg_at_k(ranked, targets, NDCG_K).mean())


# --- tuning on a validation split carved from train ------------------------------------------


def objective(metrics: tuple[float, float]) -> float:
    return metrics[0] + metrics[1]


def tune_weights(split: Split, feats: ForYouFeatures, start: Weights) -> tuple[Weights, tuple[float, float]]:
    """Coordinate ascent over the data-backed weights on precomputed features of the validation
    users, maximising Recall@20 + NDCG@10. Only ratios matter to a ranking, so affinity stays at
    its setting as the anchor; creator / following have no data here and stay as set."""
    blocks = [(s, feats.block(u)) for s, u in batches(split.eval_users)]

    def run(w: Weights) -> tuple[float, float]:
        ranked = np.concatenate([top_k(foryou_scores(f, e, w), RECALL_K) for _, (f, e) in blocks])
        return evaluate(ranked, split.targets_new)

    grid = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0]
    tunable = ["collaborative", "trending", "quality", "fresh"]
    best, best_m = start, run(start)
    log(f"validation, weights of the settings: recall@20 {best_m[0]:.4f} ndcg@10 {best_m[1]:.4f}")
    with progress() as bar:
        task = bar.add_task("tuning weights on validation", total=3 * len(tunable) * len(grid))
        for _ in range(3):
            improved = False
            for name in tunable:
                for value in grid:
                    bar.advance(task)
                    candidate = replace(best, **{name: value})
                    if candidate == best:
                        continue
                    m = run(candidate)
                    if objective(m) > objective(best_m) + 1e-6:
                        best, best_m, improved = candidate, m, True
            if not improved:
                break
    log(f"validation, tuned weights:           recall@20 {best_m[0]:.4f} ndcg@10 {best_m[1]:.4f}  {best}")
    return best, best_m


def tune_als(split: Split, threads: int, seed: int) -> tuple[AlsParams, tuple[float, float]]:
    """A small grid over ALS's hyper-parameters on the validation split."""
    configs = [AlsParams(factors=f, regularization=r, alpha=a, bm25=b)
               for f in (32, 64, 128) for r in (0.01, 0.1) for a in (1.0, 10.0) for b in (True, False)]
    best: tuple[AlsParams, tuple[float, float]] | None = None
    with progress() as bar:
        task = bar.add_task("tuning ALS on validation", total=len(configs))
        for params in configs:
            m = evaluate(rank_als(split, params, threads, seed, False).no_repeats, split.targets_new)
            if best is None or objective(m) > objective(best[1]):
                best = (params, m)
            bar.advance(task)
    assert best is not None
    log(f"validation, best ALS: recall@20 {best[1][0]:.4f} ndcg@10 {best[1][1]:.4f}  {best[0]}")
    return best


# --- main ------------------------------------------------------------------------------------


def load(folder: Path) -> Interactions:
    from benchmarks._interactions import load_online_retail

    files = sorted(folder.glob("*.csv"))
    with progress() as bar:
        task = bar.add_task("reading by-day CSV files", total=len(files))
        data, stats = load_online_retail(folder, on_file=lambda _p: bar.advance(task))
    log(f"{stats.rows:,} rows: kept {stats.kept:,} purchases of {data.n_users:,} customers × {data.n_items:,} "
        f"stock codes; dropped {stats.no_customer:,} without customer, {stats.cancellations:,} cancellations, "
        f"{stats.non_product:,} non-product codes, {stats.non_positive:,} with quantity or price ≤ 0")
    return data


def timed(label: str, timings: dict[str, float], fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    result = fn()
    timings[label] = round(time.perf_counter() - t0, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DATA_DIR, help="folder of by-day CSV files (default: %(default)s)")
    p.add_argument("--cutoff", default="2011-11-09", help="first day of the test period (default: %(default)s)")
    p.add_argument("--test-days", type=float, default=30.0, help="length of the test period (default: %(default)s)")
    p.add_argument("--time-scale", type=float, default=24.0,
                   help="hours of data per hour of the feed's windows (default: %(default)s)")
    p.add_argument("--collab-half-life", type=float, default=180.0,
                   help="days; recency weighting of the item-item co-occurrences (default: %(default)s)")
    p.add_argument("--collab-neighbours", type=int, default=20,
                   help="neighbours kept per item (default: %(default)s)")
    p.add_argument("--als-factors", type=int, default=AlsParams.factors)
    p.add_argument("--als-regularization", type=float, default=AlsParams.regularization)
    p.add_argument("--als-alpha", type=float, default=AlsParams.alpha)
    p.add_argument("--als-iterations", type=int, default=AlsParams.iterations)
    p.add_argument("--als-weighting", choices=["counts", "bm25"], default="counts",
                   help="confidence from purchase counts, or BM25-weighted counts (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="ALS threads (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--with-repeats", action="store_true",
                   help="also report the protocol where train items stay candidates and targets")
    p.add_argument("--tune", action="store_true",
                   help="tune the weights (and ALS) on a validation split from train; report tuned_* keys")
    args = p.parse_args(argv)

    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    data = timed("load_s", timings, lambda: load(args.data))
    cutoff = np.datetime64(args.cutoff, "s")
    split: Split = timed("split_s", timings, lambda: temporal_split(data, cutoff, args.test_days))
    n_targets = np.diff(split.targets_new.indptr)
    log(f"split at {args.cutoff}: train {len(split.train.user):,} purchases before it, test {args.test_days:g} days; "
        f"{len(split.eval_users):,} users evaluated ({n_targets.mean():.1f} new items each on average), "
        f"{data.n_items:,} items")
    weights = Weights.from_settings(get_settings())
    params = FeatureParams.from_settings(args.time_scale, args.collab_half_life, args.collab_neighbours)
    als_params = AlsParams(args.als_factors, args.als_regularization, args.als_alpha, args.als_iterations,
                           args.als_weighting == "bm25")
    tags = item_tags(data.descriptions, data.item_codes)
    log(f"weights (settings): {weights}; signals from data: {params}; item tags: {tags.shape[1]:,}")

    feats = timed("features_s", timings, lambda: ForYouFeatures(split, tags, params))
    foryou = timed("foryou_s", timings, lambda: rank_foryou(split, feats, weights, args.with_repeats))
    pop = timed("popularity_s", timings, lambda: rank_popularity(split, args.with_repeats))
    with progress() as bar:
        bar.add_task("fitting implicit-ALS", total=None)
        als = timed("als_s", timings, lambda: rank_als(split, als_params, args.threads, args.seed, args.with_repeats))

    seen = split.train_counts[split.eval_users]
    for name, ranked in (("For You", foryou), ("popularity", pop), ("implicit-ALS", als)):
        # the protocol's promise, checked rather than assumed: no train item in any top 20
        repeats = int((np.asarray(seen[np.arange(len(split.eval_users))[:, None], ranked.no_repeats].todense()) > 0)
                      .sum())
        if repeats:
            raise SystemExit(f"{name} ranked {repeats} train items: the no-repeats protocol is broken")
    results: dict[str, tuple[float, float]] = {
        "foryou": evaluate(foryou.no_repeats, split.targets_new),
        "popularity": evaluate(pop.no_repeats, split.targets_new),
        "als": evaluate(als.no_repeats, split.targets_new),
    }
    line: dict[str, Any] = {
        "bench": "feed_quality", "dataset": DATASET, "users": len(split.eval_users), "items": data.n_items,
        "recall_at_20": round(results["foryou"][0], 4), "ndcg_at_10": round(results["foryou"][1], 4),
        "popularity_recall_at_20": round(results["popularity"][0], 4),
        "popularity_ndcg_at_10": round(results["popularity"][1], 4),
        "als_recall_at_20": round(results["als"][0], 4), "als_ndcg_at_10": round(results["als"][1], 4),
    }
    if args.with_repeats:
        for name, ranked in (("", foryou), ("popularity_", pop), ("als_", als)):
            assert ranked.with_repeats is not None
            r, n = evaluate(ranked.with_repeats, split.targets_all)
            line[f"{name}with_repeats_recall_at_20"] = round(r, 4)
            line[f"{name}with_repeats_ndcg_at_10"] = round(n, 4)

    if args.tune:
        t0 = time.perf_counter()
        val_cutoff = cutoff + np.timedelta64(-int(args.test_days * 86_400), "s")
        val = temporal_split(split.train, val_cutoff, args.test_days)
        log(f"validation split at {val_cutoff.astype('datetime64[D]')}: {len(val.eval_users):,} users "
            "(train period only)")
        val_feats = ForYouFeatures(val, tags, params)
        tuned, val_m = tune_weights(val, val_feats, weights)
        best_als, als_val_m = tune_als(val, args.threads, args.seed)
        tuned_m = evaluate(rank_foryou(split, feats, tuned, False, "For You (tuned)").no_repeats, split.targets_new)
        tuned_als_m = evaluate(rank_als(split, best_als, args.threads, args.seed, False).no_repeats,
                               split.targets_new)
        line.update({
            "tuned_weights": {name: getattr(tuned, name) for name in SIGNALS},
            "tuned_recall_at_20": round(tuned_m[0], 4), "tuned_ndcg_at_10": round(tuned_m[1], 4),
            "tuned_val_recall_at_20": round(val_m[0], 4), "tuned_val_ndcg_at_10": round(val_m[1], 4),
            "tuned_als_params": best_als.__dict__,
            "tuned_als_recall_at_20": round(tuned_als_m[0], 4), "tuned_als_ndcg_at_10": round(tuned_als_m[1], 4),
            "tuned_als_val_recall_at_20": round(als_val_m[0], 4), "tuned_als_val_ndcg_at_10": round(als_val_m[1], 4),
        })
        timings["tune_s"] = round(time.perf_counter() - t0, 2)

    ratio_r = results["foryou"][0] / max(results["popularity"][0], 1e-12)
    ratio_n = results["foryou"][1] / max(results["popularity"][1], 1e-12)
    line.update({
        "ratio_to_popularity_recall": round(ratio_r, 3), "ratio_to_popularity_ndcg": round(ratio_n, 3),
        "ratio_to_als_recall": round(results["foryou"][0] / max(results["als"][0], 1e-12), 3),
        "ratio_to_als_ndcg": round(results["foryou"][1] / max(results["als"][1], 1e-12), 3),
        "protocol": "no_repeats", "cutoff": args.cutoff, "test_days": args.test_days,
        "train_interactions": len(split.train.user), "weights": {name: getattr(weights, name) for name in SIGNALS},
        "als_params": als_params.__dict__, **timings, "total_s": round(time.perf_counter() - t_start, 2),
    })
    goal = (results["foryou"][0] >= results["als"][0] and results["foryou"][1] >= results["als"][1]
            and ratio_r >= 1.2 and ratio_n >= 1.2)
    line["goal_met"] = goal
    console.print(f"\n{'method':<12} {'Recall@20':>10} {'NDCG@10':>10}")
    for name, label in (("foryou", "For You"), ("popularity", "popularity"), ("als", "implicit-ALS")):
        console.print(f"{label:<12} {results[name][0]:>10.4f} {results[name][1]:>10.4f}")
    log(f"goal (≥ ALS on both, ≥ 1.2× popularity): {'met' if goal else 'NOT met'}")
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
