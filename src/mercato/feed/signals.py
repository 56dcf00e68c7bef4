"""The one entry point through which engagement reaches the ranking.

Every domain that observes engagement (content: likes, comments, shares, saves, product-card
clicks; the feed API: impressions, watch time, skips; the web app: add to cart, purchase)
calls :func:`record_engagement` inside its own unit of work, so the event, the viewer's
profile and the video's scores change in the same transaction as the fact itself — the next
feed request sees them (real time, no nightly batch).

What one event does (docs/feed.md, "Real-time path"):

1. appends a ``feed_events`` row (the raw log);
2. for impressions, watches and skips of a logged-in viewer, upserts ``feed_seen`` (watch time
   kept at its maximum; ``completed`` once ``watch_ms`` ≥ 90 % of the duration; ``skipped``);
3. adds the event's weight (:data:`EVENT_WEIGHTS`) to the viewer's ``viewer_affinities`` rows
   for the video's hashtags, its creator and the categories of its anchored products;
4. adds it to the video's ``video_scores``: ``trending`` (decayed velocity of positive
   engagement), ``engagement`` (cumulative weighted engagement) and ``impressions``.

Exponential time decay without rewriting rows: a score is stored relative to the start of its
*era* (a fixed grid of ``ERA_HALF_LIVES`` half-lives from :data:`EPOCH`): an event of weight
``w`` at time ``t`` adds ``w · 2^((t − era_start)/h)``, and the value at time ``now`` is
``stored · 2^(−(now − era_start(updated_at))/h)``. Every update is therefore one atomic
``INSERT … ON CONFLICT DO UPDATE SET score = score + :w`` (rescaled once when a row crosses
into the next era, dropped when it is two eras old — by then it has decayed by ≥ 2^−60),
so concurrent events never lose each other's contributions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings, get_settings
from mercato.feed import signals_repository as repo
from mercato.feed.models import FeedEvent
from mercato.kit.db import utcnow

KINDS = frozenset({
    "impression", "watch", "skip", "like", "unlike", "share", "comment", "save", "product_click",
    "add_to_cart", "purchase", "follow",
})

#: Weight of one event in the viewer's affinities and the video's engagement. ``watch`` is
#: computed from the share watched (:data:`COMPLETION_WEIGHT` once completed).
EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "watch": 0.0,
    "skip": -1.0,
    "like": 2.0,
    "unlike": -2.0,
    "comment": 2.0,
    "share": 3.0,
    "save": 2.5,
    "product_click": 2.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
    "follow": 3.0,
}
COMPLETION_WEIGHT = 1.5
PARTIAL_WATCH_WEIGHT = 1.0  # times the share of the video watched, below completion
COMPLETION_SHARE = 0.9  # watched ≥ 90 % of the duration counts as a completion
CATEGORY_FACTOR = 0.5  # a product category is a weaker hint than a hashtag
SEEN_KINDS = frozenset({"impression", "watch", "skip"})
#: Kinds that say "more like this" — the collaborative source reads these.
POSITIVE_KINDS = ("like", "comment", "share", "save", "product_click", "add_to_cart", "purchase", "follow")

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
ERA_HALF_LIVES = 60.0


@dataclass(frozen=True)
class Decay:
    """Exponential decay with half-life ``half_life_hours`` stored at era reference times."""

    half_life_hours: float

    @property
    def half_life_s(self) -> float:
        return max(1e-6, self.half_life_hours * 3600.0)

    @property
    def era_s(self) -> float:
        return self.half_life_s * ERA_HALF_LIVES

    def era_start(self, ts: float) -> float:
        """Start (epoch seconds) of the era holding the instant ``ts`` (epoch seconds)."""
        base = EPOCH.timestamp()
        return base + math.floor((ts - base) / self.era_s) * self.era_s

    def stored_weight(self, weight: float, now: datetime) -> float:
        ts = now.timestamp()
        return float(weight * 2.0 ** ((ts - self.era_start(ts)) / self.half_life_s))

    def value(self, stored: float, updated_at: datetime | None, now: datetime) -> float:
        if updated_at is None:
            return 0.0
        ref = self.era_start(updated_at.timestamp())
        return float(stored * 2.0 ** (-(now.timestamp() - ref) / self.half_life_s))

    def values(self, stored: NDArray[np.float64], updated_ts: NDArray[np.float64], now_ts: float
               ) -> NDArray[np.float64]:
        """Vectorised :meth:`value`: ``updated_ts`` in epoch seconds (0 for "never")."""
        base = EPOCH.timestamp()
        ref = base + np.floor((updated_ts - base) / self.era_s) * self.era_s
        out: NDArray[np.float64] = stored * np.exp2(-(now_ts - ref) / self.half_life_s)
        out[updated_ts <= 0] = 0.0
        return out

    def era_params(self, now: datetime) -> dict[str, Any]:
        """The parameters of the decay's SQL (``signals_repository.decay_add_sql``) at ``now``."""
        start = self.era_start(now.timestamp())
        return {"this_era": datetime.fromtimestamp(start, UTC),
                "previous_era": datetime.fromtimestamp(start - self.era_s, UTC),
                "era_factor": 2.0 ** -ERA_HALF_LIVES}


def event_weight(kind: str, watch_ms: int, duration_ms: int) -> tuple[float, bool]:
    """(weight, completed) of one event."""
    completed = kind == "watch" and duration_ms > 0 and watch_ms >= COMPLETION_SHARE * duration_ms
    if kind == "watch":
        if completed:
            return COMPLETION_WEIGHT, True
        share = min(1.0, watch_ms / duration_ms) if duration_ms > 0 else 0.0
        return PARTIAL_WATCH_WEIGHT * share, False
    return EVENT_WEIGHTS[kind], False


async def record_engagement(
    db: AsyncSession, *, user_id: int | None, video_id: int, kind: str, watch_ms: int = 0,
    settings: Settings | None = None, now: datetime | None = None,
) -> None:
    """Record one engagement event and update, in the caller's transaction, what the ranking
    keeps about the viewer and the video. Callers never need to change."""
    if kind not in KINDS:
        raise ValueError(f"unknown engagement kind {kind!r}")
    settings = settings or get_settings()
    now = now or utcnow()
    watch_ms = max(0, int(watch_ms))
    found = await repo.creator_and_duration(db, video_id)
    if found is None:  # no such video (deleted meanwhile): nothing to rank
        return
    repo.log_event(db, FeedEvent(user_id=user_id, video_id=video_id, kind=kind, watch_ms=watch_ms, created_at=now))
    creator_id, duration_ms = found
    weight, completed = event_weight(kind, watch_ms, duration_ms)

    if user_id is not None and kind in SEEN_KINDS:
        await _upsert_seen(db, [(user_id, video_id, watch_ms, completed, kind == "skip", now)])

    if user_id is not None and weight != 0.0 and user_id != creator_id:
        keys = await affinity_keys(db, video_id, creator_id)
        await add_affinities(db, user_id, [(k, key, weight * f) for k, key, f in keys], now, settings)

    await add_video_score(db, [video_id], weight=weight, impressions=1 if kind == "impression" else 0,
                          now=now, settings=settings)

    if kind in ("watch", "skip"):
        # The video's public counters: a view is a watch event; watch time counts watches and
        # skips; a completion is a watch of ≥ 90 % (demo_videos.recount_videos agrees).
        await repo.count_watch(db, video_id, views=1 if kind == "watch" else 0,
                               completions=1 if completed else 0, watch_ms=watch_ms)

    if user_id is not None:
        touched(db, user_id)


def touched(db: AsyncSession, user_id: int) -> None:
    """This viewer's ranking inputs changed in ``db``'s transaction: the process's cached
    candidate list for them is dropped now and again once the transaction commits (so a
    request racing the commit cannot keep a list built from the old state)."""
    # lint: local-import (feed/cache.py imports this module at load time for its batch writer)
    from mercato.feed import cache

    cache.invalidate_viewer(user_id)
    pending: set[int] = db.sync_session.info.setdefault(cache.TOUCHED_KEY, set())
    pending.add(user_id)


async def affinity_keys(db: AsyncSession, video_id: int, creator_id: int) -> list[tuple[str, str, float]]:
    """(kind, key, factor) of the affinities one engagement with the video touches."""
    tags = await repo.hashtags_of_video(db, video_id)
    cats = await repo.categories_of_video(db, video_id)
    keys = [("creator", str(creator_id), 1.0)]
    keys += [("tag", str(tag)[:60], 1.0) for tag in tags]
    keys += [("category", str(cat), CATEGORY_FACTOR) for cat in cats]
    return keys


async def add_affinities(db: AsyncSession, user_id: int, entries: Iterable[tuple[str, str, float]],
                         now: datetime, settings: Settings) -> None:
    """Add decayed weights to the viewer's affinity rows (one upsert statement)."""
    decay = Decay(settings.feed_affinity_half_life_hours)
    merged: dict[tuple[str, str], float] = {}
    for kind, key, weight in entries:
        merged[(kind, key)] = merged.get((kind, key), 0.0) + weight
    if not merged:
        return
    # Sorted keys: concurrent upserts of one viewer lock rows in the same order (no deadlock).
    era = decay.era_params(now)
    await repo.upsert_affinities(db, [
        {"user_id": user_id, "kind": kind, "key": key, "score": decay.stored_weight(w, now), "updated_at": now, **era}
        for (kind, key), w in sorted(merged.items())])


async def add_video_score(db: AsyncSession, video_ids: Sequence[int], *, weight: float, impressions: int,
                          now: datetime, settings: Settings) -> None:
    """Trending (decayed, positive engagement only), cumulative engagement and impressions."""
    if not video_ids:
        return
    decay = Decay(settings.feed_trending_half_life_hours)
    trend = decay.stored_weight(max(0.0, weight), now)
    await _add_scores(db, decay, now, [(vid, trend, weight, impressions) for vid in sorted(set(video_ids))])


async def _add_scores(db: AsyncSession, decay: Decay, now: datetime,
                      rows: Sequence[tuple[int, float, float, int]]) -> None:
    """(video id, stored trending weight, engagement, impressions) added to each video's scores
    (one statement for every row)."""
    era = decay.era_params(now)
    await repo.upsert_scores(db, [
        {"video_id": v, "trending": t, "engagement": e, "impressions": n, "updated_at": now, **era}
        for v, t, e, n in rows])


async def _upsert_seen(db: AsyncSession, rows: Sequence[tuple[int, int, int, bool, bool, datetime]]) -> None:
    """(viewer, video, watch ms, completed, skipped, seen at) into ``feed_seen``: watch time kept
    at its maximum, ``completed`` and ``skipped`` once true stay true (one statement)."""
    await repo.upsert_seen(db, [
        {"user_id": u, "video_id": v, "seen_at": at, "watch_ms": w, "completed": c, "skipped": k}
        for u, v, w, c, k, at in sorted(rows)])


async def mark_served_batch(db: AsyncSession, pages: Sequence[tuple[int | None, Sequence[int], datetime]],
                            settings: Settings | None = None) -> None:
    """Served feed pages (the batch writer's flush, or one page when it is off): the viewers'
    ``feed_seen`` rows and each video's impression count, in two executemany statements whatever
    the number of pages. Served impressions are aggregated, not logged row by row in
    ``feed_events`` (ten rows a page with two indexes each would be most of the cost of serving
    the feed); impressions a client reports through ``POST /feed/events`` are logged."""
    settings = settings or get_settings()
    seen: dict[tuple[int, int], datetime] = {}
    counts: dict[int, int] = {}
    for u, ids, at in pages:
        for v in ids:
            counts[v] = counts.get(v, 0) + 1
            if u is not None:
                seen[(u, v)] = max(at, seen.get((u, v), at))
    if not counts:
        return
    now = max(at for _, _, at in pages)
    if seen:
        await _upsert_seen(db, [(u, v, 0, False, False, at) for (u, v), at in seen.items()])
    # Impressions add no trending weight, but a row last updated in an earlier era is rescaled
    # (or dropped) as any other update of it.
    await _add_scores(db, Decay(settings.feed_trending_half_life_hours), now,
                      [(v, 0.0, 0.0, n) for v, n in sorted(counts.items())])


async def mark_served(db: AsyncSession, *, user_id: int | None, video_ids: Sequence[int],
                      settings: Settings | None = None, now: datetime | None = None) -> None:
    """A feed page was served: :func:`mark_served_batch` for one page."""
    if video_ids:
        await mark_served_batch(db, [(user_id, video_ids, now or utcnow())], settings)
