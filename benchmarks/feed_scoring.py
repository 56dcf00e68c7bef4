"""CPU per For You page of the ranking alone, hand weights against a learned model.

    python benchmarks/feed_scoring.py [--videos 100000] [--pages 300] [--seed 1]

No database, no server: an in-process ``FeedIndex`` over ``--videos`` synthetic videos (1–3
hashtags of a Zipf vocabulary, 2,000 creators, trending and engagement scores), and viewers
with 40 hashtag and 10 creator affinities, 20 follows and 30 recent videos. For each page: the
viewer's candidate generation, features and scoring (``FeedIndex.candidates``) and the
re-ranking (``FeedIndex.page_of``) — what a request does between reading the viewer's state and
building the bodies — timed with the process's CPU clock, first with the hand weights, then with
a promoted learned model (``scoring.LearnedWeights`` over the nine features and their logs). Prints one JSON line:
``bench, videos, pages, hand_cpu_ms_per_page, learned_cpu_ms_per_page, ratio``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import numpy as np  # noqa: E402

from mercato.config import get_settings  # noqa: E402
from mercato.feed import repository as repo  # noqa: E402
from mercato.feed.engine import FeedIndex, Viewer, co_engagement  # noqa: E402
from mercato.feed.scoring import MODEL_FEATURES, LearnedWeights  # noqa: E402


def build(n: int, rng: np.random.Generator) -> FeedIndex:
    index = FeedIndex()
    now = datetime.now(UTC).timestamp()
    creators = rng.integers(1, 2001, n)
    ages = rng.exponential(20 * 86400, n)
    rows = [repo.VideoRow(id=i + 1, creator_id=int(creators[i]), created_ts=now - float(ages[i]), duration_ms=15_000,
                          published=True, updated_ts=now) for i in range(n)]
    tags = [(i + 1, f"t{int(t)}") for i in range(n) for t in set(rng.zipf(1.3, int(rng.integers(1, 4))) % 1000)]
    index._put_videos(rows, tags, [])
    ids = np.arange(1, n + 1, dtype=np.int64)
    index._put_scores(repo.Scores(ids, rng.exponential(2.0, n), rng.exponential(5.0, n), rng.integers(0, 2000, n)
                                  .astype(np.float64), np.full(n, now)))
    pairs = [(int(u), int(v)) for u, v in zip(rng.integers(1, 5000, 200_000), rng.zipf(1.2, 200_000) % n + 1,
                                               strict=True)]
    index.nb_src, index.nb_dst, index.nb_sim = co_engagement(pairs)
    return index


def viewer(rng: np.random.Generator, n: int, user_id: int) -> Viewer:
    return Viewer(user_id=user_id, personalised=True,
                  tags={f"t{int(t)}": float(rng.exponential(3.0)) for t in rng.zipf(1.3, 40) % 1000},
                  creators={int(c): float(rng.exponential(3.0)) for c in rng.integers(1, 2001, 10)},
                  follows={int(c) for c in rng.integers(1, 2001, 20)},
                  recent=[int(v) for v in rng.integers(1, n + 1, 30)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=100_000)
    p.add_argument("--pages", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    settings = get_settings()
    rng = np.random.default_rng(args.seed)
    index = build(args.videos, rng)
    now = datetime.now(UTC).timestamp()
    index._derive(settings, now)
    viewers = [viewer(rng, args.videos, 10_000 + i) for i in range(args.pages)]
    learned = LearnedWeights(tuple(float(v) for v in rng.normal(0.5, 0.3, len(MODEL_FEATURES))), 1)
    out: dict[str, float] = {}
    for label, model in (("hand", None), ("learned", learned)):
        index.model = model
        for v in viewers[:20]:  # warm-up: caches of per-tag top lists
            index.rank(v, settings, page=0, seed=1, now_ts=now, want=15)
        t0 = time.process_time()
        for i, v in enumerate(viewers):
            ranked = index.candidates(v, settings, page=0, seed=i, now_ts=now)
            index.page_of(ranked, settings, page=0, seed=i, want=15, exclude=set())
        out[label] = (time.process_time() - t0) * 1000 / len(viewers)
        print(f"[feed_scoring] {label}: {out[label]:.2f} ms CPU per page", file=sys.stderr, flush=True)
    print(json.dumps({"bench": "feed_scoring", "videos": args.videos, "pages": args.pages,
                      "hand_cpu_ms_per_page": round(out["hand"], 2),
                      "learned_cpu_ms_per_page": round(out["learned"], 2),
                      "ratio": round(out["learned"] / out["hand"], 3)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
