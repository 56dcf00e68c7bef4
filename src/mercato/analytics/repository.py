"""The statements of the analytics event store: the raw insert (insert-or-ignore by
``event_id``, answering the ids that were new) and the queueing of the new ones, the fold of the
queue into the rollups, the hour and day recomputation, the pruning of raw events and the reads
of rollups and queue that ``analytics/queries.py`` shapes.

The write path runs in the caller's transaction with plain statements (``kit/sql``), spelled
per database where that saves statements: on PostgreSQL one statement (the rows as one JSON
parameter, the insert and the queueing in one ``WITH``); on SQLite one multi-row
``INSERT … ON CONFLICT DO NOTHING RETURNING`` per chunk of events and one queueing statement.
The fold is one statement on PostgreSQL and three on SQLite (its one writer makes the
``DELETE … RETURNING`` hand-over unnecessary).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Follow, User
from mercato.analytics.models import (
    DIMENSIONS,
    GRAINS,
    AnalyticsEvent,
    AnalyticsPending,
    AnalyticsRollup,
    AnalyticsRollupState,
)
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
_EVENT_ID = quoted(column_name(AnalyticsEvent, "id"))
_insert_texts: dict[int, str] = {}
_upsert_texts: dict[int, str] = {}


def _insert_events_sql(rows: int) -> str:
    """``INSERT`` of ``rows`` events (positional parameters, row after row) that ignores known
    ids and returns the new rows' ids and event ids."""
    sql = _insert_texts.get(rows)
    if sql is None:
        one = "(" + ", ".join("?" for _ in EVENT_COLUMNS) + ")"
        sql = (f"INSERT INTO {_EVENT_TABLE} ({_EVENT_NAMES}) VALUES {', '.join([one] * rows)} "  # noqa: S608
               f"ON CONFLICT ({_EVENT_CONFLICT}) DO NOTHING RETURNING {_EVENT_ID}, {_EVENT_CONFLICT}")
        _insert_texts[rows] = sql
    return sql

_ROLLUP_TABLE = quoted(AnalyticsRollup.__tablename__)
_PENDING_TABLE = quoted(AnalyticsPending.__tablename__)
_KEYS = ", ".join(str(position) for position in range(1, len(ROLLUP_KEY) + 1))
_E = {name: quoted(column_name(AnalyticsEvent, name)) for name in (*EVENT_COLUMNS, "id")}


def _bucket(grain: str, dialect: str) -> str:
    """The start of the event's minute, hour or day: SQLite keeps a datetime as ``SQLITE_STAMP``
    text, so it is a prefix of it; PostgreSQL truncates in UTC."""
    at = f"e.{_E['occurred_at']}"
    if dialect == "postgresql":
        return f"date_trunc('{grain}', {at}, 'UTC')"
    keep, zeros = {"minute": (17, "00.000000"), "hour": (14, "00:00.000000"), "day": (11, "00:00:00.000000")}[grain]
    return f"substr({at}, 1, {keep}) || '{zeros}'"


def _fold_sql(dialect: str, events: str, where: str) -> str:
    """``INSERT … SELECT`` of the rollup deltas of the events ``e`` of ``events`` (a ``FROM``
    clause) that pass ``where``: every event into its minute row, an event from before ``:late``
    into its hour and day rows too (one pass over the events, crossed with the grains, SQLite
    keeping the events as the outer loop); grouped by rollup key and in key order (two folds
    upserting the same rows lock them in the same order), added to the rows already there."""
    dims = ", ".join(f"coalesce(e.{_E[name]}, {0 if name.endswith('_id') else repr('')}) AS {quoted(name)}"
                     for name in DIMENSIONS)
    names = ", ".join(quoted(name) for name in ROLLUP_KEY[2:])
    grains = " UNION ALL ".join(f"SELECT '{grain}' AS grain" for grain in GRAINS)
    bucket = " ".join(f"WHEN '{grain}' THEN {_bucket(grain, dialect)}" for grain in GRAINS[:-1])
    return (f"INSERT INTO {_ROLLUP_TABLE} ({_ROLLUP_NAMES}) "  # noqa: S608
            f"SELECT grain, bucket, {names}, sum(n), sum(v), sum(q), sum(w) FROM ("
            f"SELECT g.grain, CASE g.grain {bucket} ELSE {_bucket(GRAINS[-1], dialect)} END AS bucket, "
            f"e.{_E['kind']} AS kind, e.{_E['source']} AS source, {dims}, e.{_E['count']} AS n, "
            f"e.{_E['value']} AS v, e.{_E['quantity']} AS q, e.{_E['watch_ms']} AS w "
            f"FROM {events} CROSS JOIN ({grains}) AS g "
            f"WHERE {where} AND (g.grain = 'minute' OR e.{_E['occurred_at']} < :late)) AS d WHERE true "
            f"GROUP BY {_KEYS} ORDER BY {_KEYS} ON CONFLICT ({_ROLLUP_CONFLICT}) DO UPDATE SET {_ROLLUP_ADD}")


_ROLLUP_NAMES = ", ".join(quoted(column_name(AnalyticsRollup, name)) for name in (*ROLLUP_KEY, *ROLLUP_SUMS))
_ROLLUP_CONFLICT = ", ".join(quoted(column_name(AnalyticsRollup, name)) for name in ROLLUP_KEY)
_ROLLUP_ADD = ", ".join(f"{quoted(column_name(AnalyticsRollup, name))} = {_add(name)}" for name in ROLLUP_SUMS)
#: What the queue holds of an event (``AnalyticsPending``): the raw row's columns of these names.
PENDING_COLUMNS = ("occurred_at", "kind", "source", *DIMENSIONS, "count", "value", "quantity", "watch_ms")
_PENDING_NAMES = ", ".join(quoted(column_name(AnalyticsPending, name)) for name in PENDING_COLUMNS)
# The raw row's values as the queue keeps them (a dimension that does not apply: 0 or '').
_PENDING_VALUES = ", ".join(
    f"coalesce({_E[name]}, {0 if name.endswith('_id') else repr('')})" if name in DIMENSIONS else _E[name]
    for name in PENDING_COLUMNS)

# SQLite: a multi-row insert answers the new rows; one statement queues them (by row id).
_SQLITE_QUEUE = (f"INSERT INTO {_PENDING_TABLE} ({_PENDING_NAMES}) SELECT {_PENDING_VALUES} "  # noqa: S608
                 f"FROM {_EVENT_TABLE} WHERE {_EVENT_ID} IN (SELECT value FROM json_each(:ids))")
_SQLITE_FOLD_UPTO = (f"SELECT max(id) FROM (SELECT id FROM {_PENDING_TABLE} "  # noqa: S608
                     f"ORDER BY id LIMIT :limit) AS first")
_SQLITE_FOLD = _fold_sql("sqlite", f"{_PENDING_TABLE} AS e", "e.id <= :upto")
_SQLITE_UNQUEUE = f"DELETE FROM {_PENDING_TABLE} WHERE id <= :upto"  # noqa: S608
# PostgreSQL: one statement each. The rows arrive as one JSON parameter; the insert answers the
# new ones, which are queued. A fold deletes the queued rows it takes (rows another fold holds
# are skipped) and adds them up in the same statement, so each is folded exactly once.
_PG_STORE = (f"WITH new AS (INSERT INTO {_EVENT_TABLE} ({_EVENT_NAMES}) "  # noqa: S608
             f"SELECT {_EVENT_NAMES} FROM json_populate_recordset(NULL::{_EVENT_TABLE}, CAST(:rows AS json)) "
             f"ON CONFLICT ({_EVENT_CONFLICT}) DO NOTHING RETURNING {_EVENT_NAMES}), "
             f"queued AS (INSERT INTO {_PENDING_TABLE} ({_PENDING_NAMES}) SELECT {_PENDING_VALUES} FROM new) "
             f"SELECT {_EVENT_CONFLICT} FROM new")
_PG_FOLD = (f"WITH moved AS (DELETE FROM {_PENDING_TABLE} WHERE id IN (SELECT id FROM {_PENDING_TABLE} "  # noqa: S608
            f"ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING {_PENDING_NAMES}), "
            f"folded AS ({_fold_sql('postgresql', 'moved AS e', 'true')}) "
            f"SELECT count(*) FROM moved")


def _postgresql(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


async def store_events(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Insert event rows (``EVENT_COLUMNS``, distinct ``event_id``) unless their ``event_id`` is
    known, and queue the new ones for the fold: the new ids. Under concurrency a row another
    transaction inserted first is not new (the insert waits for that one's commit on
    PostgreSQL; SQLite has one writer)."""
    if not rows:
        return set()
    raw = InTransaction.of(db)
    rows = sorted(rows, key=lambda row: str(row["event_id"]))  # one lock order for concurrent re-sends
    if _postgresql(db):
        payload = orjson.dumps([{name: row[name] for name in EVENT_COLUMNS} for row in rows]).decode()
        return {str(found[0]) for found in await raw.all(_PG_STORE, {"rows": payload})}
    new: dict[str, int] = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        values = [row[name] for row in chunk for name in EVENT_COLUMNS]
        new.update((str(event_id), int(pk)) for pk, event_id in
                   await raw.all_positional(_insert_events_sql(len(chunk)), values))
    if new:
        await raw.execute(_SQLITE_QUEUE, {"ids": orjson.dumps(sorted(new.values())).decode()})
    return set(new)


async def fold_pending(db: AsyncSession, *, late: datetime, limit: int) -> int:
    """Move up to ``limit`` queued events (oldest first) into their rollups; how many moved."""
    raw = InTransaction.of(db)
    if _postgresql(db):
        return int(await raw.scalar(_PG_FOLD, {"limit": limit, "late": late}))
    upto = await raw.scalar(_SQLITE_FOLD_UPTO, {"limit": limit})
    if upto is None:
        return 0
    await raw.execute(_SQLITE_FOLD, {"upto": upto, "late": late})
    return await raw.execute(_SQLITE_UNQUEUE, {"upto": upto})


async def pending_count(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(AnalyticsPending))).scalar_one())


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


# The capture path's look-ups, as plain statements (an ORM ``select`` costs several times their
# CPU, and the buying loop runs five of them per order: benchmarks/README.md, ``checkout``).
_BIRTHS = f"SELECT id, date_of_birth FROM {quoted(User.__tablename__)} WHERE id IN :ids"  # noqa: S608
_LAST_CLICK = (f"SELECT source, video_id, creator_id, live_id FROM {_EVENT_TABLE} "  # noqa: S608
               "WHERE viewer_id = :viewer AND product_id = :product AND kind = 'product_card_click' "
               "AND occurred_at >= :since AND occurred_at <= :until ORDER BY occurred_at DESC, id DESC LIMIT 1")
_HOSTS = f"SELECT id, host_id FROM {quoted(Live.__tablename__)} WHERE id IN :ids"  # noqa: S608
_PAID_ORDER = (f"SELECT o.live_id, l.id, l.product_id, l.quantity, l.total FROM {quoted(Order.__tablename__)} AS o "  # noqa: S608
               f"JOIN {quoted(OrderLine.__tablename__)} AS l ON l.order_id = o.id WHERE o.id = :order ORDER BY l.id")


async def births(db: AsyncSession, user_ids: Iterable[int]) -> dict[int, date]:
    ids = set(user_ids)
    if not ids:
        return {}
    rows = await InTransaction.of(db).all(_BIRTHS, {"ids": sorted(ids)})
    return {int(user_id): born if isinstance(born, date) else date.fromisoformat(born)
            for user_id, born in rows if born is not None}


async def last_click(db: AsyncSession, viewer_id: int, product_id: int, since: datetime,
                     until: datetime) -> tuple[str, int | None, int | None, int | None] | None:
    """The viewer's latest product-card click on the product in ``[since, until]``:
    ``(source, video_id, creator_id, live_id)`` (the partial index ``ix_analytics_events_clicks``)."""
    found = await InTransaction.of(db).first(_LAST_CLICK, {"viewer": viewer_id, "product": product_id,
                                                           "since": since, "until": until})
    return None if found is None else (str(found[0]), found[1], found[2], found[3])


async def hosts(db: AsyncSession, live_ids: Iterable[int]) -> dict[int, int]:
    ids = set(live_ids)
    if not ids:
        return {}
    rows = await InTransaction.of(db).all(_HOSTS, {"ids": sorted(ids)})
    return {int(live_id): int(host) for live_id, host in rows}


async def paid_order(db: AsyncSession, order_id: int) -> tuple[int | None, list[tuple[int, int, int, int]]]:
    """The order's LIVE and its lines ``(line id, product id, quantity, total)`` in line order
    (one statement)."""
    rows = await InTransaction.of(db).all(_PAID_ORDER, {"order": order_id})
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


def _minute_ceiling(at: datetime) -> datetime:
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


async def scope_sums(db: AsyncSession, *, scope_column: str, scope_id: int, kinds: Sequence[str],
                     ranges: Sequence[tuple[str, datetime, datetime]], by: str | None) -> list[tuple[Any, ...]]:
    """``(group, kind, currency, count, value_sum, quantity_sum, watch_ms)`` rows summed over a
    scope's rollups of each ``(grain, from, to)`` range, and over its events still queued for the
    fold whose minute starts in the whole period — one statement, so that a fold committing
    meanwhile neither hides nor doubles them. ``group`` is the bucket (``by`` ``"bucket"``; a
    queued event's own time, its minute for the caller to take), a dimension or ``None``."""
    r = AnalyticsRollup
    parts: list[Any] = []
    for grain, start, end in ranges:
        group: Any = getattr(r, by) if by is not None else literal(None)
        parts.append(select(group.label("g"), r.kind, r.currency, func.sum(r.count), func.sum(r.value_sum),
                            func.sum(r.quantity_sum), func.sum(r.watch_ms))
                     .where(getattr(r, scope_column) == scope_id, r.grain == grain, r.bucket >= start,
                            r.bucket < end, r.kind.in_(kinds))
                     .group_by(*([group] if by is not None else []), r.kind, r.currency))
    if ranges:
        first, last = _minute_ceiling(min(a for _, a, _ in ranges)), _minute_ceiling(max(b for _, _, b in ranges))
        q = AnalyticsPending
        group = (getattr(q, "occurred_at" if by == "bucket" else by) if by is not None else literal(None))
        parts.append(select(group.label("g"), q.kind, q.currency, func.sum(q.count), func.sum(q.value),
                            func.sum(q.quantity), func.sum(q.watch_ms))
                     .where(getattr(q, scope_column) == scope_id, q.kind.in_(kinds), q.occurred_at >= first,
                            q.occurred_at < last)
                     .group_by(*([group] if by is not None else []), q.kind, q.currency))
    if not parts:
        return []
    rows = (await db.execute(union_all(*parts))).all()
    return [tuple(row) for row in rows]


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
