"""The For You engine: candidate generation → scoring → re-ranking (docs/feed.md).

A per-process :class:`FeedIndex` holds numpy arrays over the published videos (creator,
hashtags, anchored categories, age, decayed trending, engagement, impressions). It is a
*cache of the database*: loaded in full once, then refreshed incrementally (only the videos
and scores changed since the last refresh, both on an index) every
``feed_index_refresh_seconds`` by a background task that a request starts when the index is
stale — the request itself never waits for it, except for the very first load. Nothing
depends on it for correctness: the page is assembled from the database rows of the chosen
videos (a video removed meanwhile is dropped there and marked dead in the index), the
viewer's state (affinities, follows, blocks, seen videos) is read from the database on every
request, and any process can rebuild it at any time (caches are never the truth).

The collaborative source's neighbour table (videos engaged with by the same viewers, cosine
of co-engagement counts, top ``NEIGHBOURS`` per video) is rebuilt in the background from the
most recent positive engagement (bounded: ``feed_neighbours_events`` rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.feed import ranker_repository as model_repo
from mercato.feed import repository as repo
from mercato.feed.scoring import FEATURES, MODEL_FEATURES, LearnedWeights, Scorer, Weights, dominant_signal, score
from mercato.feed.signals import Decay
from mercato.kit import heap

log = logging.getLogger("mercato.feed")

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

AFFINITY_SCALE = 3.0  # an affinity of this much (≈ one like + one completion) is "full" interest
QUALITY_PRIOR = 20.0  # impressions added to the quality ratio's denominator (few views say little)
NEIGHBOURS = 20  # neighbours kept per video
NEIGHBOUR_EVENTS_PER_VIEWER = 30
REFRESH_OVERLAP_S = 3.0  # re-read rows changed this long before the last refresh (late commits)
FULL_RELOAD_S = 900.0  # a full reload now and then drops videos deleted outright
LOAD_CHUNK = 5000
FOLLOW_FULL_HOURS = 24.0 * 7  # a followed creator's video keeps full strength this long
COL = {name: i for i, name in enumerate(FEATURES)}
TAG_SLOTS = 8  # hashtags of a video that count for the affinity feature (its first 8, alphabetically)
CAT_SLOTS = 4
KEEP_RANKED = 300  # a logged-in viewer's cached list: the best this many …
KEEP_POOL = 60  # … plus up to this many fresh and exploration candidates for the reserved slots

SessionFactory = Callable[[], contextlib.AbstractAsyncContextManager[AsyncSession]]


def member(values: I64, keys: I64) -> NDArray[np.bool_]:
    """``np.isin(values, keys)`` for a few thousand candidates: a binary search in the sorted
    keys, without ``np.isin``'s per-call set-up (several calls per page)."""
    if len(keys) == 0 or len(values) == 0:
        return np.zeros(len(values), dtype=bool)
    keys = np.sort(keys)
    at = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    found: NDArray[np.bool_] = keys[at] == values
    return found


def id_array(ids: set[int] | list[int]) -> I64:
    return np.fromiter(ids, np.int64, len(ids))


@dataclass
class Viewer:
    """The viewer's state, read from the database on each request."""

    user_id: int | None
    personalised: bool
    tags: dict[str, float] = field(default_factory=dict)  # current (decayed) affinity
    categories: dict[int, float] = field(default_factory=dict)
    creators: dict[int, float] = field(default_factory=dict)
    follows: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)
    recent: list[int] = field(default_factory=list)  # videos recently engaged with, newest first


@dataclass
class Ranked:
    """One viewer's scored candidates, best first (see :meth:`FeedIndex.candidates`)."""

    cand: I64  # index positions
    ids: I64  # their video ids (a position's id is checked again before use)
    feats: F64
    scores: F64
    explore: set[int]  # positions drawn for exploration
    personal: bool
    viewer: Viewer
    version: int  # the index generation it was computed from
    scorer: Scorer | None = None  # what scored it (None: the hand weights of the settings)

    @property
    def model_version(self) -> int:
        """The learned model that scored it (0: the hand weights)."""
        return self.scorer.version if isinstance(self.scorer, LearnedWeights) else 0


@dataclass
class Pick:
    video_id: int
    creator_id: int
    signal: str  # a key of scoring.REASONS
    detail: str | None = None  # "#tag", a category name; the creator's handle is filled in later
    score: float = 0.0
    slot: str = "ranked"  # ranked | fresh | exploration (the reserved slots)
    propensity: float = 1.0  # the chance this slot's draw picked this video (1: not drawn at random)
    features: tuple[float, ...] = ()  # its feature row (FEATURES order), logged for the learner
    model_version: int = 0  # the learned model that scored it (0: the hand weights)


class FeedIndex:
    """Arrays over every published video known to this process (see the module docstring)."""

    def __init__(self) -> None:
        self.n = 0
        self.ids: I64 = np.zeros(0, np.int64)
        self.creator: I64 = np.zeros(0, np.int64)
        self.created: F64 = np.zeros(0)
        self.alive: NDArray[np.bool_] = np.zeros(0, bool)
        self.trend_stored: F64 = np.zeros(0)
        self.trend_updated: F64 = np.zeros(0)
        self.engagement: F64 = np.zeros(0)
        self.impressions: F64 = np.zeros(0)
        self.pos: dict[int, int] = {}
        self.id_pos: I64 = np.full(0, -1, np.int64)  # the same as an array indexed by video id (-1: none)
        # Hashtags and categories of each position as small ids (0 = none), for vectorised features.
        self.tag_ids: dict[str, int] = {}
        self.cat_ids: dict[int, int] = {}
        self.vtags: NDArray[np.int32] = np.zeros((0, TAG_SLOTS), np.int32)
        self.vcats: NDArray[np.int32] = np.zeros((0, CAT_SLOTS), np.int32)
        self.tags: list[tuple[str, ...]] = []
        self.cats: list[tuple[int, ...]] = []
        self.by_tag: dict[str, list[int]] = {}
        self.by_cat: dict[int, list[int]] = {}
        self.by_creator: dict[int, list[int]] = {}
        self.category_names: dict[int, str] = {}
        # Derived at each refresh.
        self.trend_now: F64 = np.zeros(0)
        self.quality: F64 = np.zeros(0)
        self.popularity: F64 = np.zeros(0)
        self.max_trend = 1.0
        self.max_quality = 1.0
        self.trending_top: I64 = np.zeros(0, np.int64)
        self.fresh_pool: I64 = np.zeros(0, np.int64)
        self.alive_pos: I64 = np.zeros(0, np.int64)
        self._popular_order: I64 | None = None
        self._top_cache: dict[tuple[int, object, int], tuple[int, I64]] = {}
        self._member_arrays: dict[tuple[int, object], tuple[list[int], I64]] = {}
        # Collaborative neighbours: sorted source ids, their neighbour ids and similarities.
        self.nb_src: I64 = np.zeros(0, np.int64)
        self.nb_dst: I64 = np.zeros(0, np.int64)
        self.nb_sim: F64 = np.zeros(0)
        # Bookkeeping.
        self.loaded = False
        self.max_id = 0
        self.videos_since: datetime | None = None
        self.scores_since: datetime | None = None
        self.refreshed_at = 0.0  # monotonic
        self.full_at = 0.0
        self.neighbours_at = -math.inf
        self.version = 0
        # The learned ranker in use (None: the hand weights of the settings), looked up again every
        # ``feed_model_check_seconds`` at a refresh: a newly promoted model is swapped in.
        self.model: LearnedWeights | None = None
        self.model_checked_at = -math.inf
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._nb_task: asyncio.Task[None] | None = None

    # --- storage ------------------------------------------------------------------------------

    def _grow(self, need: int) -> None:
        cap = len(self.ids)
        if need <= cap:
            return
        new = max(need, cap * 2, 1024)

        def grown(arr: NDArray[np.generic]) -> NDArray[np.generic]:
            out = np.zeros(new, dtype=arr.dtype)
            out[:cap] = arr
            return out

        self.ids = grown(self.ids)  # type: ignore[assignment]
        self.creator = grown(self.creator)  # type: ignore[assignment]
        self.created = grown(self.created)  # type: ignore[assignment]
        self.alive = grown(self.alive)  # type: ignore[assignment]
        self.trend_stored = grown(self.trend_stored)  # type: ignore[assignment]
        self.trend_updated = grown(self.trend_updated)  # type: ignore[assignment]
        self.engagement = grown(self.engagement)  # type: ignore[assignment]
        self.impressions = grown(self.impressions)  # type: ignore[assignment]
        for name in ("vtags", "vcats"):
            old = getattr(self, name)
            wider = np.zeros((new, old.shape[1]), np.int32)
            wider[: len(old)] = old
            setattr(self, name, wider)

    def _put_videos(self, rows: list[repo.VideoRow], tags: list[tuple[int, str]], cats: list[tuple[int, int]]) -> None:
        self._grow(self.n + len(rows))
        top_id = max((r.id for r in rows), default=0)
        if top_id >= len(self.id_pos):
            wider = np.full(max(top_id + 1, len(self.id_pos) * 2, 1024), -1, np.int64)
            wider[: len(self.id_pos)] = self.id_pos
            self.id_pos = wider
        tag_map: dict[int, list[str]] = {}
        for vid, tag in tags:
            tag_map.setdefault(vid, []).append(tag)
        cat_map: dict[int, list[int]] = {}
        for vid, cat in cats:
            cat_map.setdefault(vid, []).append(cat)
        for row in rows:
            p = self.pos.get(row.id)
            new = p is None
            if p is None:
                p = self.n
                self.n += 1
                self.pos[row.id] = p
                self.id_pos[row.id] = p
                self.tags.append(())
                self.cats.append(())
            elif self.creator[p] != row.creator_id:  # the id was reused (a test database emptied)
                new = True
            self.ids[p] = row.id
            self.creator[p] = row.creator_id
            self.created[p] = row.created_ts
            self.alive[p] = row.published
            if new:
                self.trend_stored[p] = self.trend_updated[p] = self.engagement[p] = self.impressions[p] = 0.0
                self.by_creator.setdefault(row.creator_id, []).append(p)
            vtags = tuple(sorted(set(tag_map.get(row.id, ()))))
            vcats = tuple(sorted(set(cat_map.get(row.id, ()))))
            for t in vtags:
                if new or t not in self.tags[p]:
                    self.by_tag.setdefault(t, []).append(p)
            for c in vcats:
                if new or c not in self.cats[p]:
                    self.by_cat.setdefault(c, []).append(p)
            self.tags[p] = vtags
            self.cats[p] = vcats
            self.vtags[p] = 0
            for slot, t in enumerate(vtags[:TAG_SLOTS]):
                self.vtags[p, slot] = self.tag_ids.setdefault(t, len(self.tag_ids) + 1)
            self.vcats[p] = 0
            for slot, c in enumerate(vcats[:CAT_SLOTS]):
                self.vcats[p, slot] = self.cat_ids.setdefault(c, len(self.cat_ids) + 1)
            self.max_id = max(self.max_id, row.id)

    def _put_scores(self, scores: repo.Scores) -> None:
        at = self.positions_of(scores.video_id)
        known = at >= 0
        p = at[known]
        self.trend_stored[p] = scores.trending[known]
        self.trend_updated[p] = scores.updated_ts[known]
        self.engagement[p] = scores.engagement[known]
        self.impressions[p] = scores.impressions[known]

    def _derive(self, settings: Settings, now_ts: float) -> None:
        n = self.n
        decay = Decay(settings.feed_trending_half_life_hours)
        self.trend_now = np.maximum(decay.values(self.trend_stored[:n], self.trend_updated[:n], now_ts), 0.0)
        self.quality = np.maximum(self.engagement[:n], 0.0) / (self.impressions[:n] + QUALITY_PRIOR)
        alive = self.alive[:n]
        self.alive_pos = np.flatnonzero(alive).astype(np.int64)
        self.max_trend = float(self.trend_now[alive].max()) if alive.any() else 0.0
        self.max_quality = float(self.quality[alive].max()) if alive.any() else 0.0
        self.popularity = np.log1p(self.trend_now) + np.log1p(np.maximum(self.engagement[:n], 0.0))
        k = min(settings.feed_candidates_per_source, len(self.alive_pos))
        self.trending_top = self._top(self.alive_pos, self.trend_now, k)
        fresh_age = settings.feed_fresh_hours * 3600.0
        fresh = self.alive_pos[(now_ts - self.created[self.alive_pos] < fresh_age)
                               & (self.impressions[self.alive_pos] < settings.feed_fresh_impressions)]
        # Fewest impressions first, then newest.
        order = np.lexsort((-self.created[fresh], self.impressions[fresh]))
        self.fresh_pool = fresh[order[: settings.feed_candidates_per_source * 4]]
        self._popular_order = None
        self.version += 1

    @staticmethod
    def _top(positions: I64, values: F64, k: int) -> I64:
        """The ``k`` positions with the highest ``values``, best first."""
        if k <= 0 or len(positions) == 0:
            return np.zeros(0, np.int64)
        vals = values[positions]
        if len(positions) > k:
            part = np.argpartition(-vals, k - 1)[:k]
            positions, vals = positions[part], vals[part]
        return positions[np.argsort(-vals, kind="stable")]

    def popular_order(self) -> I64:
        """Every published video, most popular first (the plain popularity ranking)."""
        if self._popular_order is None:
            order = self.alive_pos[np.lexsort((-self.ids[self.alive_pos], -self.popularity[self.alive_pos]))]
            self._popular_order = order
        return self._popular_order

    # --- refresh --------------------------------------------------------------------------------

    async def ensure_fresh(self, sessions: SessionFactory, settings: Settings) -> None:
        """Load on first use; afterwards start a background refresh when stale (the caller does
        not wait). With ``feed_index_refresh_seconds`` ≤ 0 every call refreshes inline."""
        interval = settings.feed_index_refresh_seconds
        if not self.loaded or interval <= 0:
            await self.refresh(sessions, settings)
            if interval <= 0 or self.neighbours_at == -math.inf:
                await self.rebuild_neighbours(sessions, settings)
            return
        now = time.monotonic()
        if now - self.refreshed_at >= interval and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._background(self.refresh(sessions, settings)))
        if (now - self.neighbours_at >= settings.feed_neighbours_refresh_seconds
                and (self._nb_task is None or self._nb_task.done())):
            self.neighbours_at = now
            self._nb_task = asyncio.create_task(self._background(self.rebuild_neighbours(sessions, settings)))

    @staticmethod
    async def _background(work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:  # a cache refresh failing leaves the previous state in place
            log.exception("feed index refresh failed")

    async def refresh(self, sessions: SessionFactory, settings: Settings) -> None:
        async with self._lock:
            started = datetime.now(UTC)
            mono = time.monotonic()
            async with sessions() as db:
                full = not self.loaded or mono - self.full_at >= FULL_RELOAD_S
                if not full and await repo.max_video_id(db) < self.max_id:
                    full = True  # rows deleted outright (e.g. a test database emptied)
                if full:
                    fresh_index = FeedIndex()
                    await fresh_index._load_all(db)
                    self._adopt(fresh_index)
                    self.full_at = mono
                    # Hundreds of thousands of long-lived objects (member lists, tag tuples) that
                    # every full collection would walk: out of the collector's way (kit/heap.py).
                    heap.freeze_survivors(settings)
                else:
                    await self._load_changes(db, started)
                if mono - self.model_checked_at >= settings.feed_model_check_seconds:
                    await self.load_model(db)
                    self.model_checked_at = mono
            self.videos_since = self.scores_since = started - timedelta(seconds=REFRESH_OVERLAP_S)
            self._derive(settings, started.timestamp())
            self.refreshed_at = mono
            self.loaded = True

    async def load_model(self, db: AsyncSession) -> None:
        """Swap in the newest promoted learned model (or back to the hand weights when none is
        promoted, e.g. every model was rejected or deleted): the hot swap, no restart."""
        found = await model_repo.promoted_model(db)
        if found is None:
            self.model = None
        elif self.model is None or self.model.version != found.id:
            coefficients = found.coefficients_for(MODEL_FEATURES)
            self.model = LearnedWeights(coefficients, found.id) if coefficients is not None else None
            log.info("feed ranker: model %s in use", found.id)

    def scorer(self, settings: Settings) -> Scorer:
        """The learned model when one is promoted, else the hand weights (cold start, fallback)."""
        return self.model if self.model is not None else Weights.from_settings(settings)

    def _adopt(self, other: FeedIndex) -> None:
        for name in ("n", "ids", "creator", "created", "alive", "trend_stored", "trend_updated", "engagement",
                     "impressions", "pos", "id_pos", "tag_ids", "cat_ids", "vtags", "vcats", "tags", "cats", "by_tag",
                     "by_cat", "by_creator", "category_names", "max_id"):
            setattr(self, name, getattr(other, name))

    async def _load_all(self, db: AsyncSession) -> None:
        self.category_names = await repo.category_names(db)
        after = 0
        while True:
            rows = [r for r in await repo.video_rows(db, after_id=after, limit=LOAD_CHUNK)]
            if not rows:
                break
            after = rows[-1].id
            live = [r for r in rows if r.published]
            ids = [r.id for r in live]
            if ids:
                self._put_videos(live, await repo.hashtags_of(db, ids), await repo.categories_of(db, ids))
                self._put_scores(await repo.score_rows(db, video_ids=ids))
            self.max_id = max(self.max_id, after)
            await asyncio.sleep(0)  # let requests through between chunks

    async def _load_changes(self, db: AsyncSession, started: datetime) -> None:
        assert self.videos_since is not None and self.scores_since is not None
        rows = await repo.video_rows(db, after_id=self.max_id, changed_since=self.videos_since, limit=100_000)
        if rows:
            ids = [r.id for r in rows]
            if any(r.id not in self.pos for r in rows):
                self.category_names = await repo.category_names(db)
            self._put_videos(rows, await repo.hashtags_of(db, ids), await repo.categories_of(db, ids))
            self._put_scores(await repo.score_rows(db, video_ids=ids))
        self._put_scores(await repo.score_rows(db, changed_since=self.scores_since))

    def forget(self, video_ids: list[int]) -> None:
        """Videos found unpublished or gone when a page was assembled."""
        for vid in video_ids:
            p = self.pos.get(vid)
            if p is not None:
                self.alive[p] = False

    # --- collaborative neighbours ----------------------------------------------------------------

    async def rebuild_neighbours(self, sessions: SessionFactory, settings: Settings) -> None:
        since = datetime.now(UTC) - timedelta(days=settings.feed_neighbours_days)
        async with sessions() as db:
            pairs = await repo.engagement_log(db, since, settings.feed_neighbours_events)
        src, dst, sim = await asyncio.to_thread(co_engagement, pairs)
        self.nb_src, self.nb_dst, self.nb_sim = src, dst, sim
        self.neighbours_at = time.monotonic()

    def neighbours_of(self, video_ids: list[int]) -> tuple[I64, F64] | None:
        """Summed similarity of the neighbours of ``video_ids`` (more recent ones weigh more), as
        (neighbour ids sorted, sums); None when there are none."""
        if len(self.nb_src) == 0 or not video_ids:
            return None
        sources = id_array(video_ids)
        lo = np.searchsorted(self.nb_src, sources, "left")
        hi = np.searchsorted(self.nb_src, sources, "right")
        lengths = hi - lo
        total = int(lengths.sum())
        if total == 0:
            return None
        # Every neighbour row of every source, and its source's recency weight.
        starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
        rows = starts + np.arange(total)
        recency = np.repeat(1.0 / (1.0 + 0.1 * np.arange(len(sources))), lengths)
        keys, inverse = np.unique(self.nb_dst[rows], return_inverse=True)
        sums = np.bincount(inverse, weights=self.nb_sim[rows] * recency, minlength=len(keys))
        return keys.astype(np.int64), sums.astype(np.float64)

    def positions_of(self, video_ids: I64) -> I64:
        """Index positions of these video ids (-1 where unknown)."""
        ids = video_ids[(video_ids >= 0) & (video_ids < len(self.id_pos))]
        out = np.full(len(video_ids), -1, dtype=np.int64)
        inside = (video_ids >= 0) & (video_ids < len(self.id_pos))
        out[inside] = self.id_pos[ids]
        return out

    # --- ranking ------------------------------------------------------------------------------

    def rank(self, viewer: Viewer, settings: Settings, *, page: int, seed: int, now_ts: float,
             want: int, exclude: set[int] | None = None) -> list[Pick]:
        """The next ``want`` picks for this viewer, best first (for anonymous viewers: the
        ``page``-th slice of one deterministic sequence)."""
        ranked = self.candidates(viewer, settings, page=page, seed=seed, now_ts=now_ts)
        return self.page_of(ranked, settings, page=page, seed=seed, want=want, exclude=exclude or set())

    def candidates(self, viewer: Viewer, settings: Settings, *, page: int, seed: int, now_ts: float) -> Ranked:
        """Candidate generation and scoring: every source, the viewer's filters (blocked
        creators, own videos, seen set), features, scores, best first — for a logged-in viewer
        bounded to the best ``KEEP_RANKED`` plus the fresh and exploration pools (the list
        :class:`mercato.feed.cache.CandidateCache` keeps)."""
        # Anonymous pages are slices of one sequence: the same draws for every page of it.
        rng = np.random.default_rng([seed, 0 if viewer.user_id is None else page])
        weights = self.scorer(settings)
        k = settings.feed_candidates_per_source
        personal = viewer.user_id is not None and viewer.personalised
        explore = (self.alive_pos[rng.integers(0, len(self.alive_pos), size=min(k // 4, len(self.alive_pos)))]
                   if len(self.alive_pos) else np.zeros(0, np.int64))
        fresh = self.fresh_pool[: k]
        sources = [self.trending_top, fresh, explore]
        collab: tuple[I64, F64] | None = None
        if personal:
            sources += self._personal_sources(viewer, k)
            collab = self.neighbours_of(viewer.recent)
            if collab is not None:
                best = collab[0][np.argsort(-collab[1], kind="stable")[:k]]
                at = self.positions_of(best)
                sources.append(at[at >= 0])
        # The union of the sources, alive only: a mark per position (cheaper than np.unique here).
        marks = np.zeros(self.n, dtype=bool)
        for source in sources:
            marks[source] = True
        cand = np.flatnonzero(marks & self.alive[: self.n]).astype(np.int64)
        excluded_creators = set(viewer.blocked)
        if viewer.user_id is not None:
            excluded_creators.add(viewer.user_id)
        if excluded_creators:
            cand = cand[~member(self.creator[cand], id_array(excluded_creators))]
        if viewer.seen:
            cand = cand[~member(self.ids[cand], id_array(viewer.seen))]
        feats = self._features(cand, viewer, settings, now_ts, personal, collab)
        scores = score(feats, weights)
        order = np.lexsort((self.ids[cand], -scores))  # ties: the older id first (deterministic)
        cand, feats, scores = cand[order], feats[order], scores[order]
        explore_set = set(explore.tolist())
        if viewer.user_id is not None and len(cand) > KEEP_RANKED:
            keep = np.zeros(len(cand), bool)
            keep[:KEEP_RANKED] = True
            keep[np.flatnonzero(feats[:, COL["fresh"]] > 0)[:KEEP_POOL]] = True
            keep[np.flatnonzero(member(cand, explore))[:KEEP_POOL]] = True
            cand, feats, scores = cand[keep], feats[keep], scores[keep]
        return Ranked(cand=cand, ids=self.ids[cand].copy(), feats=feats, scores=scores, explore=explore_set,
                      personal=personal, viewer=viewer, version=self.version, scorer=weights)

    def page_of(self, ranked: Ranked, settings: Settings, *, page: int, seed: int, want: int,
                exclude: set[int]) -> list[Pick]:
        """Re-ranking of a candidate list: drop what was served since (``exclude``) or died,
        then reserved slots and creator diversity (see :meth:`_rerank`)."""
        cand, feats, scores = ranked.cand, ranked.feats, ranked.scores
        if ranked.version != self.version or exclude:
            # A full reload rebuilds the arrays (they may shrink, positions may hold other videos):
            # keep only positions that still exist and still hold the same, live video.
            inside = cand < min(len(self.ids), len(self.alive))
            mask = np.zeros(len(cand), dtype=bool)
            mask[inside] = self.alive[cand[inside]] & (self.ids[cand[inside]] == ranked.ids[inside])
            if exclude:
                mask &= ~member(ranked.ids, id_array(exclude))
            cand, feats, scores = cand[mask], feats[mask], scores[mask]
        if len(cand) == 0:
            return []
        viewer = ranked.viewer
        rng = np.random.default_rng([seed, 0 if viewer.user_id is None else page])
        weights = ranked.scorer if ranked.scorer is not None else Weights.from_settings(settings)
        return self._rerank(cand, feats, scores, weights, settings, page=page, want=want,
                            rng=rng, explore_set=ranked.explore, personal=ranked.personal, viewer=viewer)

    def _personal_sources(self, viewer: Viewer, k: int) -> list[I64]:
        out: list[I64] = []
        if viewer.follows:
            followed = [p for c in viewer.follows for p in self.by_creator.get(c, [])[-20:]]
            out.append(np.array(followed[-k * 2:], dtype=np.int64))
        for mapping, index, n_keys in ((viewer.tags, self.by_tag, 8), (viewer.categories, self.by_cat, 4),
                                       (viewer.creators, self.by_creator, 8)):
            best = [key for key, v in sorted(mapping.items(), key=lambda kv: -kv[1])[:n_keys] if v > 0]
            if not best:
                continue
            per_key = max(10, k // len(best))
            for key in best:
                top = self._top_of(index, key, per_key)  # type: ignore[arg-type]
                if len(top):
                    out.append(top)
        return out

    def _top_of(self, index: dict[object, list[int]], key: object, k: int) -> I64:
        """The ``k`` most popular videos of one hashtag / category / creator, cached until the next
        refresh (the request path never converts a long member list twice)."""
        cache_key = (id(index), key, k)
        hit = self._top_cache.get(cache_key)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        members = index.get(key)
        top = self._top(self._members(index, key, members), self.popularity, k) if members else np.zeros(0, np.int64)
        if len(self._top_cache) > 50_000:
            self._top_cache.clear()
        self._top_cache[cache_key] = (self.version, top)
        return top

    def _members(self, index: dict[object, list[int]], key: object, members: list[int]) -> I64:
        """A member list as an array, converted again only when the list grew (lists only grow
        between full reloads, which replace them)."""
        hit = self._member_arrays.get((id(index), key))
        if hit is not None and hit[0] is members and len(hit[1]) == len(members):
            return hit[1]
        arr = np.array(members, dtype=np.int64)
        if len(self._member_arrays) > 50_000:
            self._member_arrays.clear()
        self._member_arrays[(id(index), key)] = (members, arr)
        return arr

    def _features(self, cand: I64, viewer: Viewer, settings: Settings, now_ts: float, personal: bool,
                  collab: tuple[I64, F64] | None) -> F64:
        feats = np.zeros((len(cand), len(FEATURES)))
        if self.max_trend > 0:
            feats[:, COL["trending"]] = np.log1p(self.trend_now[cand]) / math.log1p(self.max_trend)
        if self.max_quality > 0:
            feats[:, COL["quality"]] = self.quality[cand] / self.max_quality
        age_h = (now_ts - self.created[cand]) / 3600.0
        fresh_share = np.clip(1.0 - self.impressions[cand] / max(1, settings.feed_fresh_impressions), 0.0, 1.0)
        feats[:, COL["fresh"]] = np.where(age_h < settings.feed_fresh_hours, fresh_share, 0.0)
        feats[:, COL["recency"]] = 1.0 / (1.0 + np.maximum(age_h, 0.0) / 24.0)
        feats[:, COL["shoppable"]] = (self.vcats[cand, 0] > 0).astype(np.float64)
        if not personal:
            return feats
        if viewer.tags or viewer.categories:
            tag_norm = max(AFFINITY_SCALE, max(viewer.tags.values(), default=0.0))
            cat_norm = max(AFFINITY_SCALE, max(viewer.categories.values(), default=0.0))
            tag_vals = np.zeros(len(self.tag_ids) + 1)
            for t, v in viewer.tags.items():
                i = self.tag_ids.get(t)
                if i is not None:
                    tag_vals[i] = v / tag_norm
            cat_vals = np.zeros(len(self.cat_ids) + 1)
            for c, v in viewer.categories.items():
                i = self.cat_ids.get(c)
                if i is not None:
                    cat_vals[i] = v / cat_norm
            aff = np.maximum(tag_vals[self.vtags[cand]].max(axis=1), cat_vals[self.vcats[cand]].max(axis=1))
            aff = np.maximum(aff, 0.0)
            feats[:, COL["affinity"]] = np.minimum(aff, 1.0)
        creators = self.creator[cand]
        if viewer.creators:
            norm = max(AFFINITY_SCALE, max(viewer.creators.values()))
            keys = np.fromiter(viewer.creators.keys(), np.int64)
            vals = np.fromiter(viewer.creators.values(), np.float64)
            sort = np.argsort(keys)
            keys, vals = keys[sort], vals[sort]
            at = np.clip(np.searchsorted(keys, creators), 0, len(keys) - 1)
            feats[:, COL["creator"]] = np.where(keys[at] == creators, np.clip(vals[at] / norm, 0.0, 1.0), 0.0)
        if viewer.follows:
            followed = member(creators, id_array(viewer.follows))
            # Full strength for a week, then fading (half after two weeks).
            recency = 1.0 / (1.0 + np.maximum(age_h - FOLLOW_FULL_HOURS, 0.0) / FOLLOW_FULL_HOURS)
            feats[:, COL["following"]] = np.where(followed, recency, 0.0)
        if collab is not None and len(collab[0]):
            keys, vals = collab[0], collab[1] / collab[1].max()  # keys sorted (np.unique)
            ids = self.ids[cand]
            at = np.clip(np.searchsorted(keys, ids), 0, len(keys) - 1)
            feats[:, COL["collaborative"]] = np.where(keys[at] == ids, vals[at], 0.0)
        return feats

    def _rerank(self, cand: I64, feats: F64, scores: F64, weights: Scorer, settings: Settings, *, page: int,
                want: int, rng: np.random.Generator, explore_set: set[int], personal: bool,
                viewer: Viewer) -> list[Pick]:
        """Reserved exploration/fresh slots, no two in a row from one creator."""
        page_size = settings.feed_page_size
        anonymous = viewer.user_id is None
        total = page_size * (page + 1) if anonymous else want
        reserved_every = max(2, round(1.0 / settings.feed_exploration_share)) if settings.feed_exploration_share > 0 \
            else 0
        signals = dominant_signal(feats, weights)
        model_version = weights.version if isinstance(weights, LearnedWeights) else 0
        positions = cand.tolist()
        creators = self.creator[cand].tolist()
        fresh_col = feats[:, COL["fresh"]]
        used = [False] * len(positions)
        fresh_idx = [i for i in np.flatnonzero(fresh_col > 0).tolist()]
        # Exploration means "something different": random videos with no personal signal first.
        personal_cols = [COL["affinity"], COL["creator"], COL["following"], COL["collaborative"]]
        unrelated = (feats[:, personal_cols].sum(axis=1) == 0).tolist()
        explore_idx = [i for i, p in enumerate(positions) if p in explore_set]
        rng.shuffle(explore_idx)
        explore_idx.sort(key=lambda i: not unrelated[i])  # stable: shuffled within each group
        picks: list[Pick] = []
        main = 0
        last_creator = -1
        deferred: list[int] = []

        def take(pool: list[int]) -> int | None:
            for j, i in enumerate(pool):
                if not used[i] and creators[i] != last_creator:
                    del pool[: j + 1]
                    return i
            return None

        def draw_chance(pool: list[int], i: int) -> float:
            """The chance that the shuffled exploration pool yielded ``i`` here: one over the
            eligible videos of its group (no personal signal first, then the rest) before the draw."""
            group = sum(1 for j in pool if not used[j] and creators[j] != last_creator and unrelated[j] == unrelated[i])
            return 1.0 / (group + 1)

        slot_no = 0
        while len(picks) < total:
            chosen: int | None = None
            kind = ""
            propensity = 1.0
            position_in_page = len(picks) % page_size
            if reserved_every and position_in_page % reserved_every == reserved_every // 2:
                # Alternate fresh and exploration from page to page (fresh first).
                order = ("fresh", "exploration") if (page + slot_no) % 2 == 0 else ("exploration", "fresh")
                if anonymous:
                    order = ("fresh", "exploration") if (len(picks) // page_size + slot_no) % 2 == 0 \
                        else ("exploration", "fresh")
                slot_no += 1
                for kind in order:
                    chosen = take(fresh_idx if kind == "fresh" else explore_idx)
                    if chosen is not None:
                        if kind == "exploration":
                            propensity = draw_chance(explore_idx, chosen)
                        break
            if chosen is None:
                kind = ""
                propensity = 1.0
                for j, i in enumerate(deferred):
                    if creators[i] != last_creator and not used[i]:
                        chosen = deferred.pop(j)
                        break
                while chosen is None and main < len(positions):
                    i = main
                    main += 1
                    if used[i]:
                        continue
                    if creators[i] == last_creator:
                        deferred.append(i)
                        continue
                    chosen = i
            if chosen is None:
                break
            used[chosen] = True
            last_creator = creators[chosen]
            signal = kind or signals[chosen]
            picks.append(Pick(video_id=int(self.ids[positions[chosen]]), creator_id=creators[chosen], signal=signal,
                              detail=self._detail(positions[chosen], signal, viewer), score=float(scores[chosen]),
                              slot=kind or "ranked", propensity=propensity, features=tuple(feats[chosen].tolist()),
                              model_version=model_version))
        return picks[page * page_size:] if anonymous else picks

    def _detail(self, p: int, signal: str, viewer: Viewer) -> str | None:
        if signal != "affinity":
            return None
        best_tag = max(self.tags[p], key=lambda t: viewer.tags.get(t, 0.0), default=None)
        best_cat = max(self.cats[p], key=lambda c: viewer.categories.get(c, 0.0), default=None)
        tag_v = viewer.tags.get(best_tag, 0.0) if best_tag else 0.0
        cat_v = viewer.categories.get(best_cat, 0.0) / 1.0 if best_cat is not None else 0.0
        if best_tag and tag_v >= cat_v:
            return f"#{best_tag}"
        if best_cat is not None:
            return self.category_names.get(best_cat, "this")
        return None

    def popular(self, *, offset: int, limit: int) -> list[int]:
        order = self.popular_order()
        return [int(v) for v in self.ids[order[offset: offset + limit]]]


def co_engagement(pairs: list[tuple[int, int]]) -> tuple[I64, I64, F64]:
    """Item-item neighbours from (user, video) engagement pairs: cosine of co-engagement counts,
    the top ``NEIGHBOURS`` per video; arrays sorted by source video."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if not pairs:
        return empty
    arr = np.unique(np.array(pairs, dtype=np.int64), axis=0)  # distinct (user, video), by user
    users, videos = arr[:, 0], arr[:, 1]
    # At most NEIGHBOUR_EVENTS_PER_VIEWER videos per viewer bound the pair count.
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    rank_in_user = np.arange(len(users)) - np.repeat(starts, counts)
    keep = rank_in_user < NEIGHBOUR_EVENTS_PER_VIEWER
    users, videos = users[keep], videos[keep]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    sizes = np.diff(np.r_[starts, len(users)])
    d = np.repeat(sizes, sizes)  # group size of each element
    first = np.repeat(starts, sizes)
    left = np.repeat(np.arange(len(users)), d)
    within = np.arange(len(left)) - np.repeat(np.cumsum(d) - d, d)
    right = np.repeat(first, d) + within
    mask = left != right
    a, b = videos[left[mask]], videos[right[mask]]
    if len(a) == 0:
        return empty
    item_ids, item_counts = np.unique(videos, return_counts=True)
    pair_keys = np.stack([a, b], axis=1)
    uniq, co = np.unique(pair_keys, axis=0, return_counts=True)
    na = item_counts[np.searchsorted(item_ids, uniq[:, 0])]
    nb = item_counts[np.searchsorted(item_ids, uniq[:, 1])]
    sim = co / np.sqrt(na * nb)
    order = np.lexsort((-sim, uniq[:, 0]))
    src, dst, sim = uniq[order, 0], uniq[order, 1], sim[order]
    starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
    sizes = np.diff(np.r_[starts, len(src)])
    rank = np.arange(len(src)) - np.repeat(starts, sizes)
    top = rank < NEIGHBOURS
    return src[top].astype(np.int64), dst[top].astype(np.int64), sim[top].astype(np.float64)


_INDEXES: dict[str, FeedIndex] = {}


def index_for(database_url: str) -> FeedIndex:
    """The process's index of one database."""
    found = _INDEXES.get(database_url)
    if found is None:
        found = _INDEXES[database_url] = FeedIndex()
    return found


def forget_index(database_url: str) -> None:
    """Drop the process's index of one database (emptied or replaced behind its back): the next
    request loads a new one in full. A refresh still running finishes on the dropped index."""
    _INDEXES.pop(database_url, None)


def viewer_from_rows(user_id: int | None, rows: repo.ViewerRows | None, settings: Settings,
                     now: datetime) -> Viewer:
    if user_id is None or rows is None:
        return Viewer(user_id=None, personalised=False)
    personalised = rows.personalised if rows.personalised is not None else settings.feed_personalised_default
    viewer = Viewer(user_id=user_id, personalised=personalised, follows=set(rows.follows),
                    blocked=set(rows.blocked), seen=set(rows.seen), recent=list(dict.fromkeys(rows.recent)))
    if not rows.affinities:
        return viewer
    decay = Decay(settings.feed_affinity_half_life_hours)
    values = decay.values(np.array([a[2] for a in rows.affinities], dtype=np.float64),
                          np.array([a[3] for a in rows.affinities], dtype=np.float64), now.timestamp()).tolist()
    for (kind, key, _, _), value in zip(rows.affinities, values, strict=True):
        if value <= 0:
            continue
        if kind == "tag":
            viewer.tags[key] = value
        elif kind == "category" and key.isdigit():
            viewer.categories[int(key)] = value
        elif kind == "creator" and key.isdigit():
            viewer.creators[int(key)] = value
    return viewer
