"""``VideoOut`` bodies of feed pages, built and cached without the ORM (docs/feed.md, "The request
path").

A feed page shows ten videos. What is the same for every viewer (caption parts, creator,
product cards, media URLs) is built from three plain SQL statements on the database's fast
read path (:class:`mercato.kit.sql.committed.CommittedReads`) and kept per process for ``feed_body_cache_seconds``
as serialised JSON (bytes: nothing for the garbage collector to traverse). What must be fresh
is read for the page's ids on every request, in one statement (:func:`live_rows`): whether each
video is still published, its ``updated_at`` (an edit in any process rebuilds its body at
once), its counters and the viewer's liked / saved / following flags. Only the creator's and
the products' details can be up to the TTL old.

The body is the same dict :func:`mercato.content.presenters.video_outs` returns (both use
its pure assembly functions); the ORM presenter stays the one for pages and for requests that
have written in their own transaction (this module reads committed data only).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from mercato.content.presenters import creator_body, product_card_body, video_body
from mercato.feed import repository as repo
from mercato.kit.sql.committed import CommittedReads
from mercato.kit.sql.params import as_datetime


@dataclass
class LiveRow:
    """What a feed page reads fresh for each video: still published, changed since cached,
    counters and the viewer's flags."""

    id: int
    updated: Any  # the raw column value (compared for equality with the cached body's)
    counts: dict[str, int]
    creator_id: int
    liked: bool
    saved: bool
    following: bool


async def live_rows(reads: CommittedReads, ids: Sequence[int], viewer_id: int | None) -> dict[int, LiveRow]:
    """One statement (primary keys only) for a page's videos; unpublished or missing ones are absent."""
    if not ids:
        return {}
    rows = await repo.live_state_rows(reads, sorted(set(ids)), viewer_id if viewer_id is not None else -1)
    out: dict[int, LiveRow] = {}
    for r in rows:
        vid, creator = int(r[0]), int(r[7])
        out[vid] = LiveRow(
            id=vid, updated=r[1],
            counts={"views": int(r[2]), "likes": int(r[3]), "comments": int(r[4]), "shares": int(r[5]),
                    "saves": int(r[6])},
            creator_id=creator, liked=bool(r[8]), saved=bool(r[9]), following=bool(r[10]) and viewer_id != creator)
    return out


async def build_bodies(reads: CommittedReads, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The viewer-independent ``VideoOut`` bodies of the published videos among ``ids`` (counts
    zero and viewer flags false: the caller fills them from :func:`live_rows`)."""
    if not ids:
        return []
    wanted = sorted(set(ids))
    videos = await repo.published_video_rows(reads, wanted)
    if not videos:
        return []
    mentions: dict[int, dict[str, str]] = {}
    if any("@" in (r[3] or "") for r in videos):
        for vid, handle in await repo.mention_rows(reads, [int(r[0]) for r in videos]):
            mentions.setdefault(int(vid), {})[str(handle)] = f"/@{handle}"
    cards: dict[int, list[dict[str, Any]]] = {}
    for r in await repo.anchor_rows(reads, [int(r[0]) for r in videos]):
        cards.setdefault(int(r[0]), []).append(product_card_body(
            product_id=int(r[1]), title=str(r[2]), currency=str(r[3]), price=int(r[4]),
            compare_at=int(r[5]) if r[5] is not None else None, stock=int(r[6]), rating=int(r[7]),
            shop={"id": int(r[8]), "slug": r[9], "name": r[10], "color": r[11]}, thumb_path=r[12]))
    out = []
    for r in videos:
        vid = int(r[0])
        created = as_datetime(r[10])
        assert created is not None
        creator = creator_body(user_id=int(r[11]), handle=r[12], display_name=str(r[13]), avatar_path=r[14],
                               followers_count=int(r[15]))
        out.append(video_body(
            video_id=vid, status=str(r[1]), removed_reason=r[2], caption=str(r[3]), mention_links=mentions.get(vid, {}),
            creator=creator, media_path=r[4], poster_path=r[5], mime_type=r[6], width=r[7], height=r[8],
            duration_ms=r[9], created_at=created, counts=None, viewer=None, products=cards.get(vid, [])))
    return out


class BodyCache:
    """Per-process cache of the viewer-independent part of feed bodies (see the module docstring)."""

    MAX_ENTRIES = 100_000

    def __init__(self) -> None:
        self.bodies: dict[int, tuple[float, Any, bytes]] = {}  # id → (expires, updated_at, JSON)

    def forget(self, video_id: int) -> None:
        self.bodies.pop(video_id, None)

    def _store(self, outs: list[dict[str, Any]], live: dict[int, LiveRow], now: float, ttl: float) -> None:
        if len(self.bodies) + len(outs) > self.MAX_ENTRIES:
            self.bodies = {k: v for k, v in self.bodies.items() if v[0] >= now}
            if len(self.bodies) + len(outs) > self.MAX_ENTRIES:
                self.bodies.clear()
        for out in outs:
            vid = int(out["id"])
            if vid in live:
                self.bodies[vid] = (now + ttl, live[vid].updated, orjson.dumps(out))

    def _stale(self, i: int, row: LiveRow, now: float) -> bool:
        hit = self.bodies.get(i)
        return hit is None or hit[0] < now or hit[1] != row.updated

    async def bodies_for(self, reads: CommittedReads, ids: list[int], viewer_id: int | None, ttl: float
                         ) -> dict[int, dict[str, Any]]:
        """Bodies of the published videos among ``ids`` as this viewer sees them, by id."""
        live = await live_rows(reads, ids, viewer_id)
        now = time.monotonic()
        misses = [i for i, row in live.items() if ttl <= 0 or self._stale(i, row, now)]
        built: dict[int, dict[str, Any]] = {}
        if misses:
            outs = await build_bodies(reads, misses)
            if ttl > 0:
                self._store(outs, live, now, ttl)
            else:
                built = {int(o["id"]): o for o in outs}
        result: dict[int, dict[str, Any]] = {}
        for i in ids:
            found = live.get(i)
            if found is None:
                continue
            body = built.get(i)
            if body is None:
                hit = self.bodies.get(i)
                if hit is None:
                    continue
                body = orjson.loads(hit[2])
            body["counts"] = found.counts
            body["viewer"] = {"liked": found.liked, "saved": found.saved, "following": found.following}
            result[i] = body
        return result


_BODIES: dict[str, BodyCache] = {}


def body_cache(database_url: str) -> BodyCache:
    found = _BODIES.get(database_url)
    if found is None:
        found = _BODIES[database_url] = BodyCache()
    return found


def forget_bodies(database_url: str) -> None:
    """Drop the cached bodies of one database (emptied or replaced: its video ids may be reused)."""
    _BODIES.pop(database_url, None)
