"""The statements of the engagement path (``feed/signals.py``): the raw event log, the upserts of
``feed_seen``, ``viewer_affinities`` and ``video_scores``, and the video's public counters.

The upserts are plain ``INSERT … ON CONFLICT DO UPDATE`` statements run with ``executemany`` in
the caller's transaction (they sit on every engagement and every served page). Their column
lists come from the models (``kit/sql/statements.py``); the decay has one SQL spelling,
:func:`decay_add_sql`, whose parameters are ``signals.Decay.era_params``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Product
from mercato.content.models import Video, VideoHashtag, VideoProduct
from mercato.feed.models import FeedEvent, FeedSeen, VideoScore, ViewerAffinity
from mercato.kit.sql.statements import column_name, insert_sql, quoted
from mercato.kit.sql.transaction import InTransaction


def dialect_insert(db: AsyncSession, table: Any) -> Any:
    """``INSERT`` with ``on_conflict_do_update`` / ``on_conflict_do_nothing`` for this database."""
    name = db.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def decay_add_sql(column: str, updated_column: str, added: str) -> str:
    """SQL for ``column`` after adding ``added`` (already a stored weight at the statement's
    instant): kept in this era, rescaled from the previous one, dropped when older. Its
    parameters are ``Decay.era_params`` — the one spelling of the decay in SQL."""
    return (f"CASE WHEN {updated_column} >= :this_era THEN {column} + {added} "
            f"WHEN {updated_column} >= :previous_era THEN {column} * :era_factor + {added} ELSE {added} END")


def _excluded(model: type[Any], attribute: str) -> str:
    return f"excluded.{quoted(column_name(model, attribute))}"


def _current(model: type[Any], attribute: str) -> str:
    return f"{quoted(model.__table__.name)}.{quoted(column_name(model, attribute))}"


# The decay's SQL is the same for every half-life (the era bounds are parameters).
_AFFINITY_UPSERT_SQL = insert_sql(
    ViewerAffinity, ("user_id", "kind", "key", "score", "updated_at"), on_conflict=("user_id", "kind", "key"),
    on_conflict_set={"score": decay_add_sql(_current(ViewerAffinity, "score"),
                                            _current(ViewerAffinity, "updated_at"),
                                            _excluded(ViewerAffinity, "score")),
                     "updated_at": _excluded(ViewerAffinity, "updated_at")})
_SCORE_UPSERT_SQL = insert_sql(
    VideoScore, ("video_id", "trending", "engagement", "impressions", "updated_at"), on_conflict=("video_id",),
    on_conflict_set={"trending": decay_add_sql(_current(VideoScore, "trending"),
                                               _current(VideoScore, "updated_at"),
                                               _excluded(VideoScore, "trending")),
                     "engagement": f"{_current(VideoScore, 'engagement')} + {_excluded(VideoScore, 'engagement')}",
                     "impressions": f"{_current(VideoScore, 'impressions')} + {_excluded(VideoScore, 'impressions')}",
                     "updated_at": _excluded(VideoScore, "updated_at")})
_SEEN_UPSERT_SQL = insert_sql(
    FeedSeen, ("user_id", "video_id", "seen_at", "watch_ms", "completed", "skipped"),
    on_conflict=("user_id", "video_id"),
    on_conflict_set={"seen_at": _excluded(FeedSeen, "seen_at"),
                     "watch_ms": (f"CASE WHEN {_excluded(FeedSeen, 'watch_ms')} > {_current(FeedSeen, 'watch_ms')} "
                                  f"THEN {_excluded(FeedSeen, 'watch_ms')} ELSE {_current(FeedSeen, 'watch_ms')} END"),
                     "completed": f"{_current(FeedSeen, 'completed')} OR {_excluded(FeedSeen, 'completed')}",
                     "skipped": f"{_current(FeedSeen, 'skipped')} OR {_excluded(FeedSeen, 'skipped')}"})


async def creator_and_duration(db: AsyncSession, video_id: int) -> tuple[int, int] | None:
    """The video's creator and duration (ms); None when there is no such video."""
    row = (await db.execute(select(Video.creator_id, Video.duration_ms).where(Video.id == video_id))).first()
    return None if row is None else (int(row[0]), int(row[1]))


def log_event(db: AsyncSession, event: FeedEvent) -> None:
    """Append a ``feed_events`` row; it is flushed with the caller's unit of work."""
    db.add(event)


async def hashtags_of_video(db: AsyncSession, video_id: int) -> list[str]:
    return [str(tag) for tag in (await db.execute(
        select(VideoHashtag.tag).where(VideoHashtag.video_id == video_id))).scalars()]


async def categories_of_video(db: AsyncSession, video_id: int) -> list[int]:
    """The categories of the products anchored in the video (each once)."""
    found = (await db.execute(
        select(Product.category_id).join(VideoProduct, VideoProduct.product_id == Product.id)
        .where(VideoProduct.video_id == video_id, Product.category_id.is_not(None)).distinct()
    )).scalars()
    return [cat for cat in found if cat is not None]


async def count_watch(db: AsyncSession, video_id: int, *, views: int, completions: int, watch_ms: int) -> None:
    """Add to the video's public counters (views, completions, watch time) in one ``UPDATE``."""
    await db.execute(update(Video).where(Video.id == video_id).values(
        views_count=Video.views_count + views,
        completions_count=Video.completions_count + completions,
        watch_ms_total=Video.watch_ms_total + watch_ms,
    ).execution_options(synchronize_session=False))


async def upsert_affinities(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of ``user_id, kind, key, score, updated_at`` and the era parameters (one statement)."""
    await InTransaction.of(db).executemany(_AFFINITY_UPSERT_SQL, rows)


async def upsert_scores(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of ``video_id, trending, engagement, impressions, updated_at`` and the era parameters."""
    await InTransaction.of(db).executemany(_SCORE_UPSERT_SQL, rows)


async def upsert_seen(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of ``user_id, video_id, seen_at, watch_ms, completed, skipped`` (one statement)."""
    await InTransaction.of(db).executemany(_SEEN_UPSERT_SQL, rows)
