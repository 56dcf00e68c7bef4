"""Every query of the feed: the index loads (videos, scores, hashtags, anchored categories),
the viewer's state on the request path (one round trip, every part on an index), the
co-engagement log for the collaborative source, preferences, the Following feed and search.

The feed reads the content and accounts tables (videos, hashtags, follows, blocks) for
ranking; it writes only its own tables (and the video counters, through signals.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, bindparam, case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Follow, User
from mercato.catalog.models import Category, Product
from mercato.content.models import Video, VideoHashtag, VideoProduct
from mercato.feed.models import FeedCount, FeedPreference
from mercato.feed.signals import POSITIVE_KINDS
from mercato.feed.signals_repository import dialect_insert
from mercato.kit.db import UTCDateTime
from mercato.kit.sql.committed import CommittedReads

# --- the index --------------------------------------------------------------------------------


@dataclass
class VideoRow:
    id: int
    creator_id: int
    created_ts: float
    duration_ms: int
    published: bool
    updated_ts: float


@dataclass
class Scores:
    """``video_scores`` rows as arrays (the index applies them vectorised)."""

    video_id: NDArray[np.int64]
    trending: NDArray[np.float64]
    engagement: NDArray[np.float64]
    impressions: NDArray[np.float64]
    updated_ts: NDArray[np.float64]


def epoch_sql(db: AsyncSession, column: str) -> str:
    """SQL for a datetime column as epoch seconds (no datetime parsing in Python per row)."""
    if db.get_bind().dialect.name == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


async def video_rows(db: AsyncSession, *, after_id: int = 0, changed_since: datetime | None = None,
                     limit: int = 5000) -> list[VideoRow]:
    """Videos by id (a chunk of a full load), or those created/changed since a time (two indexed
    branches: ``ix_videos_updated`` and the primary key)."""
    columns = (f"id, creator_id, {epoch_sql(db, 'created_at')}, duration_ms, status, "
               f"{epoch_sql(db, 'updated_at')}")
    sql = f"SELECT {columns} FROM videos WHERE id > :after"  # noqa: S608 (column names only)
    if changed_since is not None:
        sql = (f"SELECT {columns} FROM videos WHERE id IN (SELECT id FROM videos WHERE id > :after "  # noqa: S608
               "UNION ALL SELECT id FROM videos WHERE updated_at >= :since)")
    stmt = text(sql + " ORDER BY id LIMIT :limit").bindparams(after=after_id, limit=limit)
    if changed_since is not None:
        stmt = stmt.bindparams(bindparam("since", changed_since, type_=UTCDateTime()))
    return [VideoRow(int(r[0]), int(r[1]), float(r[2] or 0.0), int(r[3]), r[4] == "published", float(r[5] or 0.0))
            for r in (await db.execute(stmt)).all()]


async def score_rows(db: AsyncSession, *, video_ids: Sequence[int] | None = None,
                     changed_since: datetime | None = None) -> Scores:
    sql = (f"SELECT video_id, trending, engagement, impressions, {epoch_sql(db, 'updated_at')} "  # noqa: S608
           "FROM video_scores WHERE 1 = 1")
    params: dict[str, Any] = {}
    if video_ids is not None:
        sql += " AND video_id IN :ids"
        params["ids"] = list(video_ids)
    if changed_since is not None:
        sql += " AND updated_at >= :since"
    stmt = text(sql)
    if video_ids is not None:
        stmt = stmt.bindparams(bindparam("ids", expanding=True))
    if changed_since is not None:
        stmt = stmt.bindparams(bindparam("since", changed_since, type_=UTCDateTime()))
    rows = (await db.execute(stmt, params)).all()
    if not rows:
        empty = np.zeros(0)
        return Scores(np.zeros(0, np.int64), empty, empty, empty, empty)
    arr = np.array([tuple(r) for r in rows], dtype=np.float64)  # plain tuples: numpy probes Row objects slowly
    return Scores(video_id=arr[:, 0].astype(np.int64), trending=arr[:, 1], engagement=arr[:, 2],
                  impressions=arr[:, 3], updated_ts=arr[:, 4])


async def hashtags_of(db: AsyncSession, video_ids: Sequence[int]) -> list[tuple[int, str]]:
    stmt = select(VideoHashtag.video_id, VideoHashtag.tag).where(VideoHashtag.video_id.in_(video_ids))
    return [(int(v), str(t)) for v, t in (await db.execute(stmt)).all()]


async def categories_of(db: AsyncSession, video_ids: Sequence[int]) -> list[tuple[int, int]]:
    stmt = (select(VideoProduct.video_id, Product.category_id)
            .join(Product, Product.id == VideoProduct.product_id)
            .where(VideoProduct.video_id.in_(video_ids), Product.category_id.is_not(None)))
    return [(int(v), int(c)) for v, c in (await db.execute(stmt)).all() if c is not None]


async def category_names(db: AsyncSession) -> dict[int, str]:
    return {int(i): str(n) for i, n in (await db.execute(select(Category.id, Category.name))).all()}


async def max_video_id(db: AsyncSession) -> int:
    found = (await db.execute(select(func.max(Video.id)))).scalar()
    return int(found) if found is not None else 0


_KINDS_SQL = ", ".join(f"'{k}'" for k in POSITIVE_KINDS)  # constants, never input
_EVENTS_SQL = ("SELECT user_id, video_id FROM feed_events WHERE user_id IS NOT NULL AND created_at >= :since "  # noqa: S608
               "AND kind IN (" + _KINDS_SQL + ") ORDER BY id DESC LIMIT :limit")
_LIKES_SQL = ("SELECT user_id, video_id FROM video_likes WHERE created_at >= :since "
              "ORDER BY created_at DESC LIMIT :limit")


async def engagement_log(db: AsyncSession, since: datetime, limit: int) -> list[tuple[int, int]]:
    """(user, video) pairs of recent positive engagement and likes, newest first — the
    collaborative source's input (bounded: ``limit`` rows of each)."""
    out: list[tuple[int, int]] = []
    for sql in (_EVENTS_SQL, _LIKES_SQL):
        stmt = text(sql).bindparams(bindparam("since", since, type_=UTCDateTime()), bindparam("limit", limit))
        out.extend((int(u), int(v)) for u, v in (await db.execute(stmt)).all())
    return out


# --- the viewer -------------------------------------------------------------------------------


@dataclass
class ViewerRows:
    personalised: bool | None = None  # None: no stored preference
    affinities: list[tuple[str, str, float, float]] = field(default_factory=list)  # kind, key, stored, updated
    follows: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)
    recent: list[int] = field(default_factory=list)


_VIEWER_SQL = """
SELECT 'p' AS part, '' AS k, CASE WHEN personalised THEN 1.0 ELSE 0.0 END AS s, CAST(NULL AS DOUBLE PRECISION) AS t
  FROM feed_preferences WHERE user_id = :u
UNION ALL
SELECT * FROM (SELECT 'a', kind || ':' || key, score, {updated_epoch} FROM viewer_affinities
               WHERE user_id = :u ORDER BY score DESC LIMIT :affinities) AS a
UNION ALL
SELECT * FROM (SELECT 'f', CAST(followee_id AS VARCHAR(20)), 0.0, 0.0 FROM follows
               WHERE follower_id = :u LIMIT :follows) AS f
UNION ALL
SELECT 'b', CAST(blocked_id AS VARCHAR(20)), 0.0, 0.0 FROM blocks WHERE blocker_id = :u
UNION ALL
SELECT 'b', CAST(blocker_id AS VARCHAR(20)), 0.0, 0.0 FROM blocks WHERE blocked_id = :u
UNION ALL
SELECT * FROM (SELECT 's', CAST(video_id AS VARCHAR(20)), 0.0, 0.0 FROM feed_seen
               WHERE user_id = :u AND seen_at >= :seen_since ORDER BY seen_at DESC LIMIT :seen) AS s
UNION ALL
SELECT * FROM (SELECT 'r', CAST(video_id AS VARCHAR(20)), 0.0, 0.0 FROM feed_events
               WHERE user_id = :u AND created_at >= :recent_since AND kind IN ({positive})
               ORDER BY created_at DESC LIMIT :recent) AS r
"""
_POSITIVE = ", ".join(f"'{k}'" for k in POSITIVE_KINDS)
# The affinity's updated_at as epoch seconds, computed by the database (no datetime parsing per row).
_VIEWER_SQL_BY_DIALECT = {
    "sqlite": _VIEWER_SQL.format(positive=_POSITIVE, updated_epoch="(julianday(updated_at) - 2440587.5) * 86400.0"),
    "postgresql": _VIEWER_SQL.format(positive=_POSITIVE,
                                     updated_epoch="CAST(EXTRACT(EPOCH FROM updated_at) AS DOUBLE PRECISION)"),
}
# Every branch reads an index: feed_preferences, viewer_affinities, follows and blocks by their primary
# keys (blocks the other way round by ix_blocks_blocked: creators who blocked the viewer are hidden
# too), feed_seen by ix_feed_seen_user_time, feed_events by ix_feed_events_user.


async def viewer_rows(reads: CommittedReads, user_id: int, *, seen_since: datetime, recent_since: datetime,
                      affinities: int = 300, follows: int = 1000, seen: int = 5000, recent: int = 30) -> ViewerRows:
    """Everything the ranking needs about one viewer, in one statement on the fast read path."""
    rows = await reads.rows(_VIEWER_SQL_BY_DIALECT["sqlite" if reads.is_sqlite else "postgresql"], {
        "u": user_id, "affinities": affinities, "follows": follows, "seen": seen, "recent": recent,
        "seen_since": seen_since, "recent_since": recent_since,
    })
    out = ViewerRows()
    for part, key, score, ts in rows:
        if part == "a":
            kind, _, k = str(key).partition(":")
            out.affinities.append((kind, k, float(score), float(ts) if ts is not None else 0.0))
        elif part == "f":
            out.follows.append(int(key))
        elif part == "b":
            out.blocked.append(int(key))
        elif part == "s":
            out.seen.append(int(key))
        elif part == "r":
            out.recent.append(int(key))
        elif part == "p":
            out.personalised = bool(score)
    return out


async def preference(db: AsyncSession, user_id: int) -> FeedPreference | None:
    return await db.get(FeedPreference, user_id)


async def set_preference(db: AsyncSession, user_id: int, personalised: bool, now: datetime) -> None:
    stmt = dialect_insert(db, FeedPreference).values(user_id=user_id, personalised=personalised, updated_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=[FeedPreference.user_id],
                                      set_={"personalised": personalised, "updated_at": now})
    await db.execute(stmt)


async def count_reported(db: AsyncSession, user_id: int, video_id: int, kind: str, events: int, *,
                         now: datetime, window_start_after: datetime) -> int:
    """Add ``events`` to the viewer's count of reported ``kind`` events on the video in the current
    window (a window that began before ``window_start_after`` is over: the count starts again at
    ``now``) and return the new count. One atomic upsert, so concurrent batches of one viewer
    never both see room under the cap."""
    stmt = dialect_insert(db, FeedCount).values(user_id=user_id, video_id=video_id, kind=kind, window_start=now,
                                                events=events)
    over = FeedCount.window_start < window_start_after
    stmt = stmt.on_conflict_do_update(
        index_elements=[FeedCount.user_id, FeedCount.video_id, FeedCount.kind],
        set_={"events": case((over, stmt.excluded.events), else_=FeedCount.events + stmt.excluded.events),
              "window_start": case((over, stmt.excluded.window_start), else_=FeedCount.window_start)},
    ).returning(FeedCount.events)
    return int((await db.execute(stmt)).scalar_one())


async def existing_video_ids(db: AsyncSession, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    stmt = select(Video.id).where(Video.id.in_(set(ids)), Video.status == "published")
    return {int(v) for v in (await db.execute(stmt)).scalars()}


async def present_video_ids(db: AsyncSession, ids: set[int]) -> set[int]:
    """Which of ``ids`` still exist, whatever their status (the served-pages writer drops the others)."""
    return {int(v) for v in (await db.execute(select(Video.id).where(Video.id.in_(ids)))).scalars()}


async def present_user_ids(db: AsyncSession, ids: set[int]) -> set[int]:
    """Which of ``ids`` are still accounts."""
    if not ids:
        return set()
    return {int(u) for u in (await db.execute(select(User.id).where(User.id.in_(ids)))).scalars()}


# --- the Following feed and search ----------------------------------------------------------


async def following_videos(db: AsyncSession, user_id: int, limit: int,
                           after: tuple[datetime, int] | None) -> list[Video]:
    followees = select(Follow.followee_id).where(Follow.follower_id == user_id)
    stmt = select(Video).where(Video.status == "published", Video.creator_id.in_(followees))
    if after is not None:
        stmt = stmt.where(or_(Video.created_at < after[0], and_(Video.created_at == after[0], Video.id < after[1])))
    stmt = stmt.order_by(Video.created_at.desc(), Video.id.desc()).limit(limit + 1)
    return list((await db.execute(stmt)).scalars())


def _like_pattern(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_videos(db: AsyncSession, q: str, tag: str | None, limit: int, offset: int) -> list[Video]:
    """Published videos whose caption contains ``q`` or that carry a hashtag starting with
    ``tag``; most engaged first."""
    conditions: list[Any] = [func.lower(Video.caption).like(f"%{_like_pattern(q.lower())}%", escape="\\")]
    if tag:
        tagged = select(VideoHashtag.video_id).where(VideoHashtag.tag.like(f"{_like_pattern(tag)}%", escape="\\"))
        conditions.append(Video.id.in_(tagged))
    stmt = (select(Video).where(Video.status == "published", or_(*conditions))
            .order_by((Video.likes_count + Video.comments_count + Video.shares_count).desc(), Video.id.desc())
            .offset(offset).limit(limit + 1))
    return list((await db.execute(stmt)).scalars())


async def search_creators(db: AsyncSession, q: str, limit: int, offset: int) -> list[User]:
    pattern = _like_pattern(q.lower())
    stmt = (select(User).where(User.handle.is_not(None), or_(
                func.lower(User.handle).like(f"{pattern}%", escape="\\"),
                func.lower(User.display_name).like(f"%{pattern}%", escape="\\")))
            .order_by(User.followers_count.desc(), User.id).offset(offset).limit(limit + 1))
    return list((await db.execute(stmt)).scalars())


async def search_hashtags(db: AsyncSession, prefix: str, limit: int, offset: int) -> list[tuple[str, int]]:
    count = func.count().label("n")
    stmt = (select(VideoHashtag.tag, count).join(Video, Video.id == VideoHashtag.video_id)
            .where(VideoHashtag.tag.like(f"{_like_pattern(prefix)}%", escape="\\"), Video.status == "published")
            .group_by(VideoHashtag.tag).order_by(count.desc(), VideoHashtag.tag).offset(offset).limit(limit + 1))
    return [(str(t), int(n)) for t, n in (await db.execute(stmt)).all()]


# --- the request path's bodies (feed/bodies.py), on committed reads without the ORM --------

_LIVE_SQL = """
SELECT v.id, v.updated_at, v.views_count, v.likes_count, v.comments_count, v.shares_count, v.saves_count,
       v.creator_id,
       EXISTS (SELECT 1 FROM video_likes l WHERE l.user_id = :u AND l.video_id = v.id),
       EXISTS (SELECT 1 FROM video_saves s WHERE s.user_id = :u AND s.video_id = v.id),
       EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :u AND f.followee_id = v.creator_id)
  FROM videos v WHERE v.id IN :ids AND v.status = 'published'
"""

_VIDEOS_SQL = """
SELECT v.id, v.status, v.removed_reason, v.caption, v.media_path, v.poster_path, v.mime_type, v.width, v.height,
       v.duration_ms, v.created_at, u.id, u.handle, u.display_name, u.avatar_path, u.followers_count
  FROM videos v JOIN users u ON u.id = v.creator_id
 WHERE v.id IN :ids AND v.status = 'published'
"""

_MENTIONS_SQL = """
SELECT m.video_id, u.handle FROM video_mentions m JOIN users u ON u.id = m.user_id
 WHERE m.video_id IN :ids AND u.handle IS NOT NULL
"""

# The cover is the product's first image (lowest position, then id), as catalog_repo.first_images.
_ANCHORS_SQL = """
SELECT a.video_id, p.id, p.title, p.currency, p.min_price, p.max_compare_at_price, p.total_stock, p.rating_avg,
       s.id, s.slug, s.name, s.color,
       (SELECT CASE WHEN i.path IS NOT NULL AND i.path <> '' THEN i.thumb_path END FROM product_images i
         WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1)
  FROM video_products a JOIN products p ON p.id = a.product_id JOIN shops s ON s.id = p.shop_id
 WHERE a.video_id IN :ids AND p.status = 'active'
 ORDER BY a.video_id, a.position, a.product_id
"""


async def live_state_rows(reads: CommittedReads, ids: Sequence[int], viewer_id: int) -> list[Sequence[Any]]:
    """Counters and the viewer's like/save/follow state of published videos (-1: anonymous)."""
    return await reads.rows(_LIVE_SQL, {"ids": ids, "u": viewer_id})


async def published_video_rows(reads: CommittedReads, ids: Sequence[int]) -> list[Sequence[Any]]:
    return await reads.rows(_VIDEOS_SQL, {"ids": ids})


async def mention_rows(reads: CommittedReads, ids: Sequence[int]) -> list[Sequence[Any]]:
    return await reads.rows(_MENTIONS_SQL, {"ids": ids})


async def anchor_rows(reads: CommittedReads, ids: Sequence[int]) -> list[Sequence[Any]]:
    return await reads.rows(_ANCHORS_SQL, {"ids": ids})
