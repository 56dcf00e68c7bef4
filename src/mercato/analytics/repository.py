"""The statements of the analytics event store: the raw insert (insert-or-ignore by
``event_id``, answering the ids that were new), the rollup upsert, the pruning of raw events
and the reads of the rollups that ``analytics/queries.py`` shapes.

The write path runs in the caller's transaction with plain statements (``kit/sql``): one
multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per chunk of events, then one
``executemany`` upsert of the grouped rollup deltas. Both spellings are the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Follow, User
from mercato.analytics.models import DIMENSIONS, AnalyticsEvent, AnalyticsRollup, AnalyticsRollupState
from mercato.catalog.models import Product, Shop
from mercato.content.models import Video, VideoComment, VideoLike, VideoProduct, VideoShare
from mercato.kit.sql.statements import column_name, insert_sql, quoted
from mercato.kit.sql.transaction import InTransaction
from mercato.live.models import Live
from mercato.orders.models import Order, OrderLine

EVENT_COLUMNS = ("event_id", "kind", "occurred_at", "source", "creator_id", "video_id", "live_id", "product_id",
                 "shop_id", "viewer_id", "age_band", "region", "value", "currency", "quantity", "watch_ms", "count")
ROLLUP_KEY = ("grain", "bucket", "kind", "source", *DIMENSIONS)
ROLLUP_SUMS = ("count", "value_sum", "quantity_sum", "watch_ms")
#: Events per multi-row INSERT: well under both databases' parameter limits.
CHUNK = 200


def _add(attribute: str) -> str:
    column = quoted(column_name(AnalyticsRollup, attribute))
    return f"{quoted(AnalyticsRollup.__tablename__)}.{column} + excluded.{column}"


_ROLLUP_UPSERT_SQL = insert_sql(AnalyticsRollup, (*ROLLUP_KEY, *ROLLUP_SUMS), on_conflict=ROLLUP_KEY,
                                on_conflict_set={name: _add(name) for name in ROLLUP_SUMS})
_EVENT_TABLE = quoted(AnalyticsEvent.__tablename__)
_EVENT_NAMES = ", ".join(quoted(column_name(AnalyticsEvent, name)) for name in EVENT_COLUMNS)
_EVENT_CONFLICT = quoted(column_name(AnalyticsEvent, "event_id"))
_insert_texts: dict[int, str] = {}
_upsert_texts: dict[int, str] = {}


def _insert_events_sql(rows: int) -> str:
    """``INSERT`` of ``rows`` events (positional parameters, row after row) that ignores known
    ids and returns the new ones."""
    sql = _insert_texts.get(rows)
    if sql is None:
        one = "(" + ", ".join("?" for _ in EVENT_COLUMNS) + ")"
        sql = (f"INSERT INTO {_EVENT_TABLE} ({_EVENT_NAMES}) VALUES {', '.join([one] * rows)} "  # noqa: S608
               f"ON CONFLICT ({_EVENT_CONFLICT}) DO NOTHING RETURNING {_EVENT_CONFLICT}")
        _insert_texts[rows] = sql
    return sql


async def insert_events(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Insert event rows (``EVENT_COLUMNS``) unless their ``event_id`` is known; the new ids.
    One multi-row statement per chunk: ``RETURNING`` says which rows were new, on both
    databases and under concurrency (a conflicting row is not returned)."""
    new: set[str] = set()
    raw = InTransaction.of(db)
    rows = sorted(rows, key=lambda row: str(row["event_id"]))  # one lock order for concurrent re-sends
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        values = [row[name] for row in chunk for name in EVENT_COLUMNS]
        new.update(str(found[0]) for found in await raw.all_positional(_insert_events_sql(len(chunk)), values))
    return new


def _upsert_rollups_sql(rows: int) -> str:
    """The upsert of ``rows`` grouped deltas (positional parameters, row after row); each key
    appears once per statement (PostgreSQL refuses to update a row twice in one statement)."""
    sql = _upsert_texts.get(rows)
    if sql is None:
        one = "(" + ", ".join("?" for _ in (*ROLLUP_KEY, *ROLLUP_SUMS)) + ")"
        head, tail = _ROLLUP_UPSERT_SQL.split(" VALUES ", 1)
        sql = f"{head} VALUES {', '.join([one] * rows)} {tail.split(') ', 1)[1]}"
        _upsert_texts[rows] = sql
    return sql


async def upsert_rollups(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add grouped deltas (``ROLLUP_KEY`` + ``ROLLUP_SUMS``, one row per key) to their rollup rows."""
    raw = InTransaction.of(db)
    names = (*ROLLUP_KEY, *ROLLUP_SUMS)
    # In key order: two transactions upserting overlapping rows lock them in the same order (no
    # deadlock on PostgreSQL).
    rows = sorted(rows, key=lambda row: tuple(row[name] for name in ROLLUP_KEY))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        await raw.all_positional(_upsert_rollups_sql(len(chunk)), [row[name] for row in chunk for name in names])


async def births(db: AsyncSession, user_ids: Iterable[int]) -> dict[int, date]:
    ids = set(user_ids)
    if not ids:
        return {}
    found = await db.execute(select(User.id, User.date_of_birth).where(User.id.in_(ids)))
    return {int(user_id): born for user_id, born in found.all()}


async def last_click(db: AsyncSession, viewer_id: int, product_id: int, since: datetime,
                     until: datetime) -> tuple[str, int | None, int | None, int | None] | None:
    """The viewer's latest product-card click on the product in ``[since, until]``:
    ``(source, video_id, creator_id, live_id)``."""
    e = AnalyticsEvent
    found = (await db.execute(
        select(e.source, e.video_id, e.creator_id, e.live_id)
        .where(e.viewer_id == viewer_id, e.product_id == product_id, e.kind == "product_card_click",
               e.occurred_at >= since, e.occurred_at <= until)
        .order_by(e.occurred_at.desc(), e.id.desc()).limit(1))).first()
    return None if found is None else (str(found[0]), found[1], found[2], found[3])


async def hosts(db: AsyncSession, live_ids: Iterable[int]) -> dict[int, int]:
    ids = set(live_ids)
    if not ids:
        return {}
    found = await db.execute(select(Live.id, Live.host_id).where(Live.id.in_(ids)))
    return {int(live_id): int(host) for live_id, host in found.all()}


async def paid_order(db: AsyncSession, order_id: int) -> tuple[int | None, list[tuple[int, int, int, int]]]:
    """The order's LIVE and its lines ``(line id, product id, quantity, total)`` in line order
    (one statement)."""
    rows = (await db.execute(select(Order.live_id, OrderLine.id, OrderLine.product_id, OrderLine.quantity,
                                    OrderLine.total).join(OrderLine, OrderLine.order_id == Order.id)
                             .where(Order.id == order_id).order_by(OrderLine.id))).all()
    live_id = rows[0][0] if rows else None
    return live_id, [(int(a), int(b), int(c), int(d)) for _, a, b, c, d in rows]


async def videos_and_cards(db: AsyncSession, video_ids: Iterable[int]) -> dict[int, tuple[int, int | None, int | None]]:
    """Per video: ``(creator id, first anchored product, its shop)`` — the product card an
    impression of the video shows first (docs/analytics.md, CTR)."""
    ids = set(video_ids)
    if not ids:
        return {}
    out: dict[int, tuple[int, int | None, int | None]] = {}
    for video_id, creator_id in (await db.execute(select(Video.id, Video.creator_id).where(Video.id.in_(ids)))).all():
        out[int(video_id)] = (int(creator_id), None, None)
    anchors = await db.execute(
        select(VideoProduct.video_id, VideoProduct.product_id, Product.shop_id)
        .join(Product, Product.id == VideoProduct.product_id)
        .where(VideoProduct.video_id.in_(ids)).order_by(VideoProduct.video_id, VideoProduct.position))
    for video_id, product_id, shop_id in anchors.all():
        creator, first, _ = out[int(video_id)]
        if first is None:
            out[int(video_id)] = (creator, int(product_id), int(shop_id))
    return out


async def products_shops(db: AsyncSession, product_ids: Iterable[int]) -> dict[int, int]:
    ids = set(product_ids)
    if not ids:
        return {}
    found = await db.execute(select(Product.id, Product.shop_id).where(Product.id.in_(ids)))
    return {int(product_id): int(shop_id) for product_id, shop_id in found.all()}


async def existing_shops(db: AsyncSession, shop_ids: Iterable[int]) -> set[int]:
    ids = set(shop_ids)
    if not ids:
        return set()
    return {int(i) for i in (await db.execute(select(Shop.id).where(Shop.id.in_(ids)))).scalars()}


async def prune_events(db: AsyncSession, before: datetime) -> int:
    result = await db.execute(delete(AnalyticsEvent).where(AnalyticsEvent.occurred_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def _scope_filter(scope_column: str, scope_id: int, kinds: Sequence[str], grain: str, start: datetime,
                  end: datetime) -> ColumnElement[bool]:
    return and_(getattr(AnalyticsRollup, scope_column) == scope_id, AnalyticsRollup.grain == grain,
                AnalyticsRollup.bucket >= start, AnalyticsRollup.bucket < end, AnalyticsRollup.kind.in_(kinds))


async def rollup_sums(db: AsyncSession, *, scope_column: str, scope_id: int, kinds: Sequence[str], grain: str,
                      start: datetime, end: datetime, by: str | None) -> list[tuple[Any, ...]]:
    """``(group, kind, currency, count, value_sum, quantity_sum, watch_ms)`` rows summed over the
    rollups of a scope; ``group`` is the bucket (``by`` ``"bucket"``), a dimension or ``None``."""
    group: Any = getattr(AnalyticsRollup, by) if by is not None else None
    columns: list[Any] = [AnalyticsRollup.kind, AnalyticsRollup.currency,
                          func.sum(AnalyticsRollup.count), func.sum(AnalyticsRollup.value_sum),
                          func.sum(AnalyticsRollup.quantity_sum), func.sum(AnalyticsRollup.watch_ms)]
    grouping: list[Any] = [AnalyticsRollup.kind, AnalyticsRollup.currency]
    if group is not None:
        columns.insert(0, group)
        grouping.insert(0, group)
    statement = (select(*columns).where(_scope_filter(scope_column, scope_id, kinds, grain, start, end))
                 .group_by(*grouping))
    rows = (await db.execute(statement)).all()
    return [tuple(row) if group is not None else (None, *row) for row in rows]


async def rolled_until(db: AsyncSession) -> datetime | None:
    """How far the hour and day rollups are complete (None: nothing rolled yet)."""
    return (await db.execute(select(AnalyticsRollupState.rolled_until)
                             .where(AnalyticsRollupState.id == 1))).scalar_one_or_none()


async def set_rolled_until(db: AsyncSession, at: datetime) -> None:
    state = await db.get(AnalyticsRollupState, 1)
    if state is None:
        db.add(AnalyticsRollupState(id=1, rolled_until=at))
    else:
        state.rolled_until = at
    await db.flush()


async def oldest_bucket(db: AsyncSession, grain: str) -> datetime | None:
    return (await db.execute(select(func.min(AnalyticsRollup.bucket))
                             .where(AnalyticsRollup.grain == grain))).scalar_one_or_none()


async def recompute(db: AsyncSession, *, grain: str, bucket: datetime, source_grain: str, end: datetime) -> None:
    """The ``grain`` rows of ``bucket`` as the sums of the ``source_grain`` rows in
    ``[bucket, end)``: replaced, not added to (running twice changes nothing)."""
    r = AnalyticsRollup
    await db.execute(delete(r).where(r.grain == grain, r.bucket == bucket))
    dims = [getattr(r, name) for name in ("kind", "source", *DIMENSIONS)]
    sums = (func.sum(r.count), func.sum(r.value_sum), func.sum(r.quantity_sum), func.sum(r.watch_ms))
    rows = (await db.execute(select(*dims, *sums)
                             .where(r.grain == source_grain, r.bucket >= bucket, r.bucket < end)
                             .group_by(*dims))).all()
    if rows:
        names = ROLLUP_KEY[2:]
        await upsert_rollups(db, [{"grain": grain, "bucket": bucket, **dict(zip(names, row[:len(names)], strict=True)),
                                   **dict(zip(ROLLUP_SUMS, (int(v) for v in row[len(names):]), strict=True))}
                                  for row in rows])


async def count_events(db: AsyncSession, **where: Any) -> int:
    """Raw events matching the equalities in ``where`` (tests and the pruning report)."""
    statement = select(func.count()).select_from(AnalyticsEvent)
    for name, value in where.items():
        statement = statement.where(getattr(AnalyticsEvent, name) == value)
    return int((await db.execute(statement)).scalar_one())


# --- backfill: existing facts as events (analytics/backfill.py) ---------------------------------


async def paid_lines(db: AsyncSession) -> list[tuple[Any, ...]]:
    """``(order id, line id, buyer, shop, currency, live id, product, quantity, total)`` of every
    paid order, lines in order."""
    rows = await db.execute(
        select(Order.id, OrderLine.id, Order.buyer_id, Order.shop_id, Order.currency, Order.live_id,
               OrderLine.product_id, OrderLine.quantity, OrderLine.total)
        .join(OrderLine, OrderLine.order_id == Order.id).where(Order.paid_at.is_not(None))
        .order_by(Order.id, OrderLine.id))
    return [tuple(row) for row in rows.all()]


async def engagement(db: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Likes ``(user, video)``, comments ``(id, user, video)``, shares ``(id, user, video)`` and
    follows ``(follower, followee)``."""
    likes = await db.execute(select(VideoLike.user_id, VideoLike.video_id).order_by(VideoLike.video_id,
                                                                                    VideoLike.user_id))
    comments = await db.execute(select(VideoComment.id, VideoComment.user_id, VideoComment.video_id)
                                .order_by(VideoComment.id))
    shares = await db.execute(select(VideoShare.id, VideoShare.user_id, VideoShare.video_id).order_by(VideoShare.id))
    follows = await db.execute(select(Follow.follower_id, Follow.followee_id).order_by(Follow.follower_id,
                                                                                       Follow.followee_id))
    return {"likes": [tuple(r) for r in likes.all()], "comments": [tuple(r) for r in comments.all()],
            "shares": [tuple(r) for r in shares.all()], "follows": [tuple(r) for r in follows.all()]}


async def published_videos(db: AsyncSession) -> list[int]:
    return [int(i) for i in (await db.execute(select(Video.id).where(Video.status == "published")
                                              .order_by(Video.id))).scalars()]
