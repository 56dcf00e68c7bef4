"""JSON routes of feeds and discovery: For You, Following, popular, engagement events,
personalisation preferences and search (docs/feed.md)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mercato.accounts.deps import CurrentUser, MaybeReader, MaybeUser, rate_limited
from mercato.feed import service
from mercato.feed.schemas import (
    EventsAccepted,
    EventsIn,
    FeedPage,
    PreferencesIn,
    PreferencesOut,
    SearchOut,
    SearchType,
)
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.pagination import clamp_limit

router = APIRouter(prefix="/api/v1", tags=["feed"])

Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
LongCursor = Annotated[str | None, Query(max_length=4000, description="next_cursor of the previous page")]
Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]


def _json(body: dict[str, Any]) -> Response:
    # The page is built from plain dicts already shaped as FeedPage: serialised once, no second
    # validation pass on the hot path.
    return Response(orjson.dumps(body), media_type="application/json")


def _page(result: service.FeedResult) -> Response:
    return _json({"items": result.items, "next_cursor": result.next_cursor, "personalised": result.personalised})


@router.get("/feed/foryou", response_model=FeedPage)
async def for_you(request: Request, settings: AppSettings, viewer: MaybeReader,
                  cursor: LongCursor = None) -> Response:
    """The For You feed: one page of ``feed_page_size`` videos, each with its reason. Anonymous
    viewers get trending + fresh + exploration. Serving a page marks its videos as seen (they do
    not come back within ``feed_seen_window_hours``): the impressions are queued for the batch
    writer (one transaction every ``feed_served_flush_seconds`` for every page served meanwhile),
    and ``next_cursor`` carries the ids served in this session so the next page never repeats
    them even before that write lands."""
    result = await service.serve_for_you(get_database(request), settings, viewer, cursor)
    return _page(result)


@router.get("/feed/popular", response_model=FeedPage)
async def popular(request: Request, settings: AppSettings, viewer: MaybeReader, cursor: Cursor = None) -> Response:
    """The plain popularity ranking, the same for everyone (no personalisation, nothing recorded)."""
    return _page(await service.popular(get_database(request), settings, viewer, cursor))


@router.get("/feed/following", response_model=FeedPage)
async def following(db: DbSession, settings: AppSettings, user: CurrentUser, cursor: Cursor = None,
                    limit: Limit = None) -> Response:
    """Videos of the creators the viewer follows, newest first."""
    size = clamp_limit(limit, settings.feed_page_size, settings.page_size_max)
    outs, nxt = await service.following(db, user, cursor, size)
    items = [{"video": out, "reason": {"signal": "following", "text": service.following_reason(out)}}
             for out in outs]
    return _json({"items": items, "next_cursor": nxt, "personalised": False})


@router.post("/feed/events", status_code=202, response_model=EventsAccepted,
             dependencies=[rate_limited("feed_events")])
async def events(body: EventsIn, db: DbSession, settings: AppSettings, user: MaybeUser) -> EventsAccepted:
    """Engagement the client observed (impression, watch with ``watch_ms``, skip, add_to_cart,
    purchase), up to 100 per call; it reaches the viewer's profile and the videos' scores in this
    transaction. Only a signed-in viewer's events count, each kind on each video at most
    ``feed_counted_events_per_video`` times per ``feed_count_window_hours`` (``counted`` says
    how many of this call did); rate limited (``feed_events``). Likes, comments, shares, saves
    and product clicks come from the content routes."""
    accepted, counted = await service.record_events(db, settings, user, body.events)
    return EventsAccepted(accepted=accepted, counted=counted)


@router.get("/feed/preferences", response_model=PreferencesOut)
async def get_preferences(db: DbSession, settings: AppSettings, user: CurrentUser) -> PreferencesOut:
    return PreferencesOut(**await service.preferences(db, settings, user))


@router.put("/feed/preferences", response_model=PreferencesOut)
async def put_preferences(body: PreferencesIn, db: DbSession, settings: AppSettings,
                          user: CurrentUser) -> PreferencesOut:
    """``personalised: false`` turns personalisation off: For You becomes trending + fresh."""
    return PreferencesOut(**await service.set_preferences(db, settings, user, body.personalised))


@router.get("/search", response_model=SearchOut, dependencies=[rate_limited("search")])
async def search(request: Request, db: DbSession, settings: AppSettings, user: MaybeUser,
                 q: Annotated[str, Query(max_length=200)] = "", type: SearchType = "all",
                 cursor: Cursor = None, limit: Limit = None) -> Response:
    """Search videos (caption, hashtags), products (full text), creators (handle, name) and
    hashtags (prefix, with counts). ``type=all`` gives a few of each and no cursor."""
    size = clamp_limit(limit, settings.page_size_default, settings.page_size_max)
    dialect = "sqlite" if get_database(request).is_sqlite else "postgresql"
    return _json(await service.search(db, q=q, kind=type, cursor=cursor, limit=size, dialect=dialect,
                                      viewer_id=user.id if user else None))
