"""Web pages of LIVE: the LIVE tab (``/live``), the room (``/live/{id}``; the replay once it
ended), the host's LIVE console (``/live/studio``, ``/live/{id}/console``) and the "Remind me"
buttons. Forms post with the CSRF token like every page; the room and the console's live parts
are ``/static/live/room.js`` and ``console.js`` over the JSON API and the room's WebSocket."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from mercato.accounts.deps import CurrentUser, MaybeUser
from mercato.accounts.errors import AccountsError
from mercato.content import media
from mercato.content.pages import register_templates
from mercato.kit.errors import AppError
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.limits import larger_body
from mercato.kit.uploads import read_capped
from mercato.live import presenters, repository, service
from mercato.live.schemas import LiveIn
from mercato.web.forms import error_messages, form_data, require_csrf, rollback
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")

TAB_SIZE = 24


@router.get("/live", response_class=HTMLResponse)
async def live_tab(request: Request, db: DbSession, settings: AppSettings, user: MaybeUser) -> HTMLResponse:
    """What is LIVE now (with viewer counts) and what is coming (with "Remind me")."""
    on_air, _ = await service.list_lives(db, "live", None, TAB_SIZE)
    upcoming, _ = await service.list_lives(db, "scheduled", None, TAB_SIZE)
    return render(request, "live/tab.html", {
        "on_air": await presenters.live_outs(db, on_air, settings, user),
        "upcoming": await presenters.live_outs(db, upcoming, settings, user),
        "may_host": user is not None and await service.may_host(db, user, settings),
    }, user=user)


@router.get("/live/rail", response_class=HTMLResponse)
async def rail(request: Request, db: DbSession, settings: AppSettings, user: MaybeUser) -> HTMLResponse:
    """The "LIVE now" rail For You loads after its first page."""
    on_air, _ = await service.list_lives(db, "live", None, 12)
    return render(request, "live/_rail.html", {"on_air": await presenters.live_outs(db, on_air, settings, user)},
                  user=user)


@router.post("/live/{live_id:int}/remind", response_class=HTMLResponse)
async def remind(live_id: PathId, request: Request, db: DbSession, settings: AppSettings,
                 user: CurrentUser) -> Response:
    """Toggle the reminder (``on=1`` / ``on=0``); htmx swaps the button, plain forms go back."""
    await require_csrf(request)
    form = await form_data(request)
    live = await service.remind(db, user, live_id, form.get("on") == "1")
    body = await presenters.live_out(db, live, settings, user)
    if request.headers.get("hx-request"):
        return render(request, "live/_remind.html", {"l": body}, user=user)
    return redirect("/live")


@router.get("/live/{live_id:int}", response_class=HTMLResponse)
async def room(live_id: PathId, request: Request, db: DbSession, settings: AppSettings,
               user: MaybeUser) -> HTMLResponse:
    """The room: the full-screen player, chat, likes, the pinned card, the bag, the flash banner;
    the replay (same player, VOD) once the LIVE has ended."""
    live = await service.get_live(db, live_id)
    body = await presenters.live_out(db, live, settings, user)
    return render(request, "live/room.html", {"l": body, "playback": _playback_path(live.id, body), "manager": (
        user is not None and (user.id == live.host_id or user.is_admin))}, user=user)


def _playback_path(live_id: int, body: dict[str, Any]) -> str | None:
    """The player's playlist on this site (a path: the page's own origin, which the CSP allows,
    whatever address the visitor used): the replay once ended, else the LIVE's."""
    if body["status"] == "ended":
        replay = body["replay_url"]
        return f"/live/{live_id}/hls/{replay.rsplit('/', 1)[1]}" if replay else None
    return f"/live/{live_id}/hls/index.m3u8"


# --- the host's LIVE console (Creator Studio / Seller Center) -------------------------------------

@router.get("/live/studio", response_class=HTMLResponse)
async def studio(request: Request, db: DbSession, settings: AppSettings, user: MaybeUser) -> Response:
    if user is None:
        return redirect("/login?next=/live/studio")
    return await _studio(request, db, settings, user)


async def _studio(request: Request, db: DbSession, settings: AppSettings, user: Any, *, status: int = 200,
                  **extra: Any) -> HTMLResponse:
    lives = await repository.hosted_lives(db, user.id, 30)
    key = await repository.stream_key_of(db, user.id)
    return render(request, "live/studio.html", {
        "lives": await presenters.live_outs(db, lives, settings, user),
        "may_host": await service.may_host(db, user, settings),
        "min_followers": settings.live_host_min_followers,
        "key_hint": key.key_hint if key else None, "server_url": presenters.server_url(settings),
        "shops": await service.host_shops(db, user), "values": {}, **extra,
    }, user=user, status=status)


@router.post("/live/studio", response_class=HTMLResponse)
async def studio_create(request: Request, db: DbSession, settings: AppSettings, user: CurrentUser) -> Response:
    """Go LIVE now or schedule one; the answer shows the new LIVE's publish key once."""
    await require_csrf(request)
    form = await form_data(request)
    values = {k: form.get(k, "") for k in ("title", "scheduled_at", "shop_id")}
    try:
        when = datetime.fromisoformat(values["scheduled_at"]) if values["scheduled_at"] else None
        if when is not None and when.tzinfo is None:
            offset = int(form.get("tz_offset") or 0)  # minutes, as the browser's getTimezoneOffset
            when = when.replace(tzinfo=service.offset_zone(offset))
        body = LiveIn(title=values["title"], scheduled_at=when,
                      shop_id=int(values["shop_id"]) if values["shop_id"].isdigit() else None)
        live, key = await service.create_live(db, user, settings, title=body.title, scheduled_at=body.scheduled_at,
                                              shop_id=body.shop_id)
    except (ValidationError, AppError, ValueError) as exc:
        await rollback(db, user)
        known = isinstance(exc, (ValidationError, AppError))
        message = error_messages(exc)[0] if known else "Give a valid date and time."
        code = exc.status if isinstance(exc, AppError) else 422
        return await _studio(request, db, settings, user, status=code, error=message, values=values)
    return await _studio(request, db, settings, user, status=201,
                         created={"id": live.id, "ingest_url": presenters.ingest_url(settings, key),
                                  "server_url": presenters.server_url(settings), "key": key})


@router.post("/live/studio/stream-key", response_class=HTMLResponse)
async def studio_key(request: Request, db: DbSession, settings: AppSettings, user: CurrentUser) -> Response:
    """Rotate the persistent stream key and show it once."""
    await require_csrf(request)
    await service.require_host(db, user, settings)
    key = await service.issue_stream_key(db, user)
    return await _studio(request, db, settings, user, new_key={
        "key": key, "ingest_url": presenters.ingest_url(settings, key), "server_url": presenters.server_url(settings)})


@router.get("/live/{live_id:int}/console", response_class=HTMLResponse)
async def console(live_id: PathId, request: Request, db: DbSession, settings: AppSettings,
                  user: MaybeUser) -> Response:
    """One LIVE's console: preview, counters, pin, flash deal, moderation (host or operator)."""
    if user is None:
        return redirect(f"/login?next=/live/{live_id}/console")
    live = await service.hosted_live(db, user, live_id)
    body = await presenters.live_out(db, live, settings, user)
    return render(request, "live/console.html", {"l": body, "playback": _playback_path(live.id, body)}, user=user)


@router.post("/live/{live_id:int}/cover")
@larger_body("max_image_bytes")
async def cover(live_id: PathId, db: DbSession, settings: AppSettings, user: CurrentUser,
                file: Annotated[UploadFile, File()], tasks: BackgroundTasks) -> Response:
    """The console's cover form (the caller's dependency checks the CSRF field)."""
    data = await read_capped(file, settings.max_image_bytes, code=AccountsError.IMAGE_TOO_LARGE)
    _live, previous = await service.set_cover(db, user, live_id, settings, data)
    if previous:
        tasks.add_task(media.remove_files, settings.media_dir, [previous])
    response = redirect(f"/live/{live_id}/console")
    response.background = tasks
    return response


@router.post("/live/{live_id:int}/end", response_class=HTMLResponse)
async def end(live_id: PathId, request: Request, db: DbSession, user: CurrentUser) -> Response:
    await require_csrf(request)
    await service.end_by(db, user, live_id)
    return redirect(f"/live/{live_id}/console")
