"""Web pages of feeds and discovery: For You (the home page), Following and search.

For You and Following render the full-screen player (``feed/player.html``) with their first page
embedded as JSON (the same body as the JSON API), so the first video starts without waiting for a
second request; ``/static/js/feed.js`` fetches the next pages from the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts.deps import MaybeUser, Reader, rate_limited
from mercato.content.pages import register_templates
from mercato.feed import service
from mercato.kit.errors import AppError
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.web.render import render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")

FOR_YOU_API = "/api/v1/feed/foryou"
FOLLOWING_API = "/api/v1/feed/following"
SEARCH_TABS = (("all", "Top"), ("videos", "Videos"), ("products", "Products"), ("creators", "Creators"),
               ("hashtags", "Hashtags"))


def _player(request: Request, user: Any, settings: Any, **context: Any) -> HTMLResponse:
    return render(request, "feed/player.html", {"max_comment_chars": settings.max_comment_chars, **context},
                  user=user)


@router.get("/", response_class=HTMLResponse)
async def for_you(request: Request, settings: AppSettings, user: MaybeUser) -> Response:
    """For You: the full-screen vertical feed, first page embedded."""
    reader = Reader(id=user.id, created_at=user.created_at) if user is not None else None
    result = await service.serve_for_you(get_database(request), settings, reader, None)
    return _player(
        request, user, settings, feed_kind="foryou", feed_source=FOR_YOU_API, page_heading="For You",
        initial={"items": result.items, "next_cursor": result.next_cursor},
        empty_title="No videos yet — upload the first one",
        empty_action={"href": "/upload" if user else "/login?next=/upload", "label": "Upload a video"},
    )


@router.get("/following", response_class=HTMLResponse)
async def following(request: Request, db: DbSession, settings: AppSettings, user: MaybeUser) -> Response:
    """Videos of the creators the viewer follows, newest first, in the same player."""
    if user is None:
        return _player(
            request, user, settings, feed_kind="following", feed_source=FOLLOWING_API, page_heading="Following",
            initial={"items": [], "next_cursor": None},
            empty_title="Log in to see videos from the creators you follow",
            empty_action={"href": "/login?next=/following", "label": "Log in"},
        )
    outs, nxt = await service.following(db, user, None, settings.feed_page_size)
    items = [{"video": out, "reason": {"signal": "following", "text": service.following_reason(out)}}
             for out in outs]
    return _player(
        request, user, settings, feed_kind="following", feed_source=FOLLOWING_API, page_heading="Following",
        initial={"items": items, "next_cursor": nxt},
        empty_title="Follow creators to see their videos here",
        empty_action={"href": "/", "label": "Find creators on For You"},
    )


@router.get("/search", response_class=HTMLResponse, dependencies=[rate_limited("search")])
async def search(request: Request, db: DbSession, settings: AppSettings, user: MaybeUser, q: str = "",
                 type: str = "all", cursor: str | None = None) -> Response:
    """Search across videos, products, creators and hashtags, one tab each (and "Top": a few of each)."""
    kind = type if type in dict(SEARCH_TABS) else "all"
    q = " ".join(q.split())[:200]
    result: dict[str, Any] | None = None
    error = ""
    if q:
        dialect = "sqlite" if get_database(request).is_sqlite else "postgresql"
        try:
            result = await service.search(db, q=q, kind=kind, cursor=cursor, limit=18, dialect=dialect,
                                          viewer_id=user.id if user else None)
        except AppError as exc:
            if exc.status != 422:
                raise
            error = exc.message
    more_url = None
    if result and result.get("next_cursor"):
        more_url = "/search?" + urlencode({"q": q, "type": kind, "cursor": result["next_cursor"]})
    context = {"q": q, "kind": kind, "tabs": SEARCH_TABS, "result": result, "error": error, "more_url": more_url}
    if request.headers.get("hx-request") and cursor:
        return render(request, "feed/_search_more.html", context, user=user)
    return render(request, "feed/search.html", context, user=user)
