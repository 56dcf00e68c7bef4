"""Feeds and discovery: For You, Following, the popularity ranking, engagement events,
personalisation preferences and search. Services flush, never commit."""

from __future__ import annotations

import base64
import contextlib
import random
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.deps import Reader
from mercato.accounts.models import User
from mercato.catalog.browse import BrowseParams, browse
from mercato.config import Settings
from mercato.content.presenters import creator_out, video_outs
from mercato.content.service import tag_href
from mercato.feed import ranker_repository as ranker_repo
from mercato.feed import repository as repo
from mercato.feed.bodies import body_cache
from mercato.feed.cache import candidates_for, served_writer
from mercato.feed.engine import Pick, SessionFactory, index_for, viewer_from_rows
from mercato.feed.errors import FeedError
from mercato.feed.schemas import EventIn
from mercato.feed.scoring import REASONS
from mercato.feed.signals import mark_served, record_engagement, touched
from mercato.kit.db import Database, utcnow
from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import cursor_int, decode_cursor, encode_cursor, time_id_cursor

SLACK = 5  # extra picks ranked in case some videos vanished since the index last looked
OPT_OUT_NOTE = " · personalisation is off"


@dataclass
class FeedResult:
    items: list[dict[str, Any]]
    next_cursor: str | None
    personalised: bool
    served: list[int]
    picks: list[Pick] = field(default_factory=list)  # the served items' picks (slot, propensity, features)


def _page_cursor(cursor: str | None) -> tuple[int, int | None]:
    values = decode_cursor(cursor)
    if values is None:
        return 0, None
    if len(values) != 2:
        raise ValidationFailed("The cursor is not valid.", code=FeedError.INVALID_CURSOR)
    return cursor_int(values[0], maximum=10_000), cursor_int(values[1], maximum=2**62)


# --- the For You cursor -------------------------------------------------------------------------


def pack_ids(ids: list[int]) -> str:
    """Video ids in order, compactly: zig-zag varints of the differences, base64url."""
    out = bytearray()
    prev = 0
    for v in ids:
        d = v - prev
        prev = v
        z = (d << 1) ^ (d >> 63)
        while True:
            byte = z & 0x7F
            z >>= 7
            if z:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                break
    return base64.urlsafe_b64encode(bytes(out)).decode().rstrip("=")


def unpack_ids(text: str, limit: int) -> list[int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ValidationFailed("The cursor is not valid.", code=FeedError.INVALID_CURSOR) from exc
    ids: list[int] = []
    prev = z = shift = 0
    for byte in raw:
        z |= (byte & 0x7F) << shift
        shift += 7
        if shift > 63:
            raise ValidationFailed("The cursor is not valid.", code=FeedError.INVALID_CURSOR)
        if not byte & 0x80:
            prev += (z >> 1) ^ -(z & 1)
            if not 0 < prev < 2**62 or len(ids) >= limit:
                raise ValidationFailed("The cursor is not valid.", code=FeedError.INVALID_CURSOR)
            ids.append(prev)
            z = shift = 0
    if shift:
        raise ValidationFailed("The cursor is not valid.", code=FeedError.INVALID_CURSOR)
    return ids


def _foryou_cursor(cursor: str | None, limit: int) -> tuple[int, int | None, list[int]]:
    """(page, seed, ids already served in this session) — the third part for logged-in viewers."""
    values = decode_cursor(cursor)
    if values is None:
        return 0, None, []
    if len(values) not in (2, 3) or (len(values) == 3 and not isinstance(values[2], str)):
        raise ValidationFailed("The cursor is not valid.", code=FeedError.INVALID_CURSOR)
    served = unpack_ids(values[2], limit) if len(values) == 3 else []
    return cursor_int(values[0], maximum=10_000), cursor_int(values[1], maximum=2**62), served


def reason_text(pick: Pick, video: dict[str, Any], *, opted_out: bool) -> str:
    detail = pick.detail
    if pick.signal in ("creator", "following"):
        creator = video["creator"]
        detail = f"@{creator['handle']}" if creator.get("handle") else str(creator["display_name"])
    text = REASONS[pick.signal].format(detail=detail or "this")
    return text + OPT_OUT_NOTE if opted_out else text


def read_sessions(database: Database) -> SessionFactory:
    """Read-only units of work for the engine's background refreshes (never the request's own)."""

    @contextlib.asynccontextmanager
    async def session() -> AsyncIterator[AsyncSession]:
        async with database.unit_of_work(write=False) as db:
            yield db

    return session


async def serve_for_you(database: Database, settings: Settings, viewer: Reader | None,
                        cursor: str | None) -> FeedResult:
    """A For You page as the API and the web page serve it: ranked on reads only, its
    impressions queued for the batch writer (one transaction every ``feed_served_flush_seconds``
    for every page served meanwhile; written at once when that setting is 0). ``next_cursor``
    carries the ids served in this session, so the next page never repeats them even before
    that write lands."""
    writer = served_writer(database, settings) if settings.feed_served_flush_seconds > 0 else None
    pending = writer.pending(viewer.id) if writer is not None and viewer is not None else None
    result = await for_you(database, settings, viewer, cursor, pending)
    if result.served:
        now = utcnow()
        logged = training_rows(viewer.id, result.picks, now) if viewer is not None and logs_page(settings) else []
        if writer is not None:
            writer.add(viewer.id if viewer else None, result.served, now, logged)
        else:
            async with database.unit_of_work() as db_writer:
                await mark_served(db_writer, user_id=viewer.id if viewer else None, video_ids=result.served,
                                  settings=settings)
                await ranker_repo.log_impressions(db_writer, logged)
    return result


def logs_page(settings: Settings) -> bool:
    """Whether this signed-in page goes to the learned ranker's training log: a random share
    ``feed_training_log_share`` of pages (chosen independently of what is on them, so the log
    is a fair sample of what the feed serves)."""
    share = settings.feed_training_log_share
    return share >= 1.0 or (share > 0 and random.random() < share)


def training_rows(user_id: int, picks: list[Pick], at: datetime) -> list[dict[str, Any]]:
    """One ``feed_impressions`` row per served item: features, slot and its propensity."""
    return [{"user_id": user_id, "video_id": p.video_id, "served_at": at, "position": i, "slot": p.slot,
             "propensity": p.propensity, "model_version": p.model_version, "features": list(p.features)}
            for i, p in enumerate(picks)]


async def for_you(database: Database, settings: Settings, viewer_of: Reader | None, cursor: str | None,
                  pending: set[int] | None = None) -> FeedResult:
    """One page of the For You feed (see docs/feed.md, "The request path"). CommittedReads only, all on
    the database's fast read path (no ORM, no unit of work); the caller queues ``served`` for
    the batch writer. ``pending``: ids served to this viewer by this process and not yet written."""
    size = settings.feed_page_size
    page, seed, served_before = _foryou_cursor(cursor, settings.feed_cursor_served_max)
    if seed is None:
        seed = secrets.randbelow(2**62)
    index = index_for(settings.database_url)
    await index.ensure_fresh(read_sessions(database), settings)
    now = utcnow()
    cache = candidates_for(settings.database_url)
    ranked = None
    user_id = viewer_of.id if viewer_of is not None else None
    owner = viewer_of.created_at.isoformat() if viewer_of is not None else None
    if user_id is not None and settings.feed_candidates_ttl_seconds > 0:
        ranked = cache.get(user_id, owner)
    if ranked is None:
        built_at = time.monotonic()
        rows = None
        if user_id is not None:
            rows = await repo.viewer_rows(
                database.committed_reads, user_id, seen_since=now - timedelta(hours=settings.feed_seen_window_hours),
                recent_since=now - timedelta(days=settings.feed_neighbours_days))
        ranked = index.candidates(viewer_from_rows(user_id, rows, settings, now), settings, page=page, seed=seed,
                                  now_ts=now.timestamp())
        if user_id is not None:
            cache.put(user_id, owner, ranked, settings.feed_candidates_ttl_seconds, built_at)
    viewer = ranked.viewer
    exclude = set(served_before) | (pending or set()) if user_id is not None else set()
    picks = index.page_of(ranked, settings, page=page, seed=seed, want=size + SLACK, exclude=exclude)
    # Bodies of the page's picks; the spare picks only when some video vanished meanwhile.
    bodies_of = body_cache(settings.database_url).bodies_for
    ttl = settings.feed_body_cache_seconds
    asked = picks[:size]
    bodies = await bodies_of(database.committed_reads, [p.video_id for p in asked], user_id, ttl)
    if len(bodies) < min(size, len(picks)) and len(picks) > size:
        asked = picks
        bodies.update(await bodies_of(database.committed_reads, [p.video_id for p in picks[size:]], user_id, ttl))
    # Only a video asked for and not found has gone; the spare picks not looked up are alive.
    gone = [p.video_id for p in asked if p.video_id not in bodies]
    if gone:
        index.forget(gone)
    kept: list[Pick] = []
    for p in picks:
        if p.video_id in bodies and (not kept or kept[-1].creator_id != p.creator_id):
            kept.append(p)
        if len(kept) == size:
            break
    outs = [bodies[p.video_id] for p in kept]
    opted_out = user_id is not None and not viewer.personalised
    items = [{"video": out, "reason": {"signal": p.signal, "text": reason_text(p, out, opted_out=opted_out)}}
             for p, out in zip(kept, outs, strict=True)]
    served = [p.video_id for p in kept]
    next_cursor = None
    if items:
        if user_id is None:
            next_cursor = encode_cursor([page + 1, seed])
        else:
            carried = (served_before + served)[-settings.feed_cursor_served_max:]
            next_cursor = encode_cursor([page + 1, seed, pack_ids(carried)])
    return FeedResult(items=items, next_cursor=next_cursor, personalised=viewer.personalised, served=served,
                      picks=kept)


def following_reason(video: dict[str, Any]) -> str:
    creator = video["creator"]
    return REASONS["following"].format(
        detail=f"@{creator['handle']}" if creator.get("handle") else str(creator["display_name"]))


async def popular(database: Database, settings: Settings, viewer: Reader | None, cursor: str | None) -> FeedResult:
    """The plain popularity ranking (decayed trending + lifetime engagement), the same for
    everyone: the non-personalised reference of the For You benchmark."""
    offset, _ = _page_cursor(cursor)
    index = index_for(settings.database_url)
    await index.ensure_fresh(read_sessions(database), settings)
    size = settings.feed_page_size
    ids = index.popular(offset=offset, limit=size)
    bodies = await body_cache(settings.database_url).bodies_for(
        database.committed_reads, ids, viewer.id if viewer else None, settings.feed_body_cache_seconds)
    outs = [bodies[v] for v in ids if v in bodies]
    items = [{"video": out, "reason": {"signal": "quality", "text": REASONS["quality"]}} for out in outs]
    nxt = encode_cursor([offset + size, 0]) if len(ids) == size else None
    return FeedResult(items=items, next_cursor=nxt, personalised=False, served=[])


async def following(db: AsyncSession, user: User, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]],
                                                                                             str | None]:
    after = time_id_cursor(cursor)
    rows = await repo.following_videos(db, user.id, limit, after)
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id])
    return await video_outs(db, rows, user.id), nxt


#: What a client may still report but the ranking learns only from the server's own events
#: (``feed/wiring.py``: an add to cart or a purchase the orders domain recorded).
SERVER_SEEN = frozenset({"add_to_cart", "purchase"})


async def record_events(db: AsyncSession, settings: Settings, user: User | None,
                        events: list[EventIn]) -> tuple[int, int]:
    """Client-reported engagement: (accepted, counted). Every video must exist and be published
    (else 422, nothing kept). What a client reports is not a fact the server saw, so a script
    must not be able to buy views or a place in the rankings with it (docs/feed.md, "What a
    script cannot buy"): anonymous events count for nothing, and a signed-in viewer's events of
    one kind on one video count ``feed_counted_events_per_video`` times per
    ``feed_count_window_hours`` at most; the others are accepted and dropped. An add to cart or
    a purchase reported by a client is accepted and never counted: the ranking learns those from
    the orders the server saw (:data:`SERVER_SEEN`)."""
    ids = {e.video_id for e in events}
    known = await repo.existing_video_ids(db, list(ids))
    unknown = sorted(ids - known)
    if unknown:
        raise ValidationFailed("Some videos do not exist.",
                               code=FeedError.UNKNOWN_VIDEO, details={"video_ids": unknown})
    if user is None:
        return len(events), 0
    now = utcnow()
    batch: dict[tuple[int, str], int] = {}
    for event in events:
        if event.kind not in SERVER_SEEN:
            batch[(event.video_id, event.kind)] = batch.get((event.video_id, event.kind), 0) + 1
    room: dict[tuple[int, str], int] = {}
    window_start_after = now - timedelta(hours=settings.feed_count_window_hours)
    for (video_id, kind), n in sorted(batch.items()):  # rows in key order: concurrent batches never deadlock
        total = await repo.count_reported(db, user.id, video_id, kind, n, now=now,
                                          window_start_after=window_start_after)
        room[(video_id, kind)] = max(0, settings.feed_counted_events_per_video - (total - n))
    counted = 0
    for event in events:
        key = (event.video_id, event.kind)
        if event.kind in SERVER_SEEN or room[key] <= 0:
            continue
        room[key] -= 1
        counted += 1
        await record_engagement(db, user_id=user.id, video_id=event.video_id, kind=event.kind,
                                watch_ms=event.watch_ms, settings=settings, now=now)
    await db.flush()
    return len(events), counted


async def preferences(db: AsyncSession, settings: Settings, user: User) -> dict[str, bool]:
    found = await repo.preference(db, user.id)
    chosen = found.personalised if found is not None else settings.feed_personalised_default
    return {"personalised": chosen, "default": settings.feed_personalised_default}


async def set_preferences(db: AsyncSession, settings: Settings, user: User, personalised: bool) -> dict[str, bool]:
    await repo.set_preference(db, user.id, personalised, utcnow())
    touched(db, user.id)
    return {"personalised": personalised, "default": settings.feed_personalised_default}


# --- search -------------------------------------------------------------------------------------

ALL_LIMITS = {"videos": 6, "products": 6, "creators": 5, "hashtags": 8}


async def search(db: AsyncSession, *, q: str, kind: str, cursor: str | None, limit: int, dialect: str,
                 viewer_id: int | None) -> dict[str, Any]:
    """Videos (caption or hashtag), products (the Shop Tab's full-text search), creators (handle
    or display name) and hashtags (by prefix, with their video counts)."""
    q = " ".join(q.split())[:200]
    if not q:
        raise ValidationFailed("Type something to search for.", code=FeedError.EMPTY_QUERY, details={"field": "q"})
    tag = q.lstrip("#").lower().replace(" ", "") or None
    single = kind != "all"
    offset = 0
    if single and kind != "products" and cursor:
        values = decode_cursor(cursor)
        if values is None or len(values) != 1:
            raise ValidationFailed("The cursor is not valid.", code=FeedError.INVALID_CURSOR)
        offset = cursor_int(values[0], maximum=10_000)
    out: dict[str, Any] = {"query": q, "type": kind, "videos": [], "products": [], "creators": [], "hashtags": [],
                           "next_cursor": None}

    def n(part: str) -> int:
        return limit if single else ALL_LIMITS[part]

    def more(rows_count: int, part: str) -> None:
        if single and rows_count > n(part):
            out["next_cursor"] = encode_cursor([offset + n(part)])

    if kind in ("all", "videos"):
        vids = await repo.search_videos(db, q.lstrip("#"), tag, n("videos"), offset)
        more(len(vids), "videos")
        out["videos"] = await video_outs(db, vids[: n("videos")], viewer_id)
    if kind in ("all", "products"):
        result = await browse(db, BrowseParams(q=q.lstrip("#"), cursor=cursor if single else None,
                                               limit=n("products")), dialect=dialect)
        out["products"] = [card.model_dump(mode="json") for card in result.items]
        if single:
            out["next_cursor"] = result.next_cursor
    if kind in ("all", "creators"):
        users = await repo.search_creators(db, q.lstrip("@"), n("creators"), offset)
        more(len(users), "creators")
        out["creators"] = [creator_out(u) for u in users[: n("creators")]]
    if kind in ("all", "hashtags") and tag:
        tags = await repo.search_hashtags(db, tag, n("hashtags"), offset)
        more(len(tags), "hashtags")
        out["hashtags"] = [{"tag": t, "videos_count": c, "url": tag_href(t)} for t, c in tags[: n("hashtags")]]
    return out


__all__ = [
    "FeedResult", "following", "following_reason", "for_you", "popular", "preferences",
    "reason_text", "record_events", "search", "set_preferences",
]

