"""JSON routes of LIVE's core (``/api/v1/lives``): create, list, read, edit, cover, end, reminders,
the host's stream key and clips. The room (WebSocket, pin, moderation) and selling in the room
have their own routers. docs/live.md, "API"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile

from mercato.accounts import service as accounts_service
from mercato.accounts.deps import CurrentUser, MaybeUser, csrf_ok, token_from
from mercato.accounts.errors import AccountsError
from mercato.content import media
from mercato.content import presenters as content_presenters
from mercato.content import service as content_service
from mercato.content.schemas import VideoOut
from mercato.kit import openapi
from mercato.kit.errors import Forbidden, Unauthorized
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.limits import larger_body
from mercato.kit.pagination import clamp_limit
from mercato.kit.uploads import read_capped
from mercato.live import clipping, presenters, service
from mercato.live.schemas import ClipIn, LiveIn, LiveOut, LivePage, LiveUpdate, ReminderOut, StreamKeyOut

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from pathlib import Path

    from mercato.accounts.models import User

router = APIRouter(prefix="/api/v1", tags=["live"])

LiveId = PathId
Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]


@router.post("/lives", status_code=201, response_model=LiveOut)
async def create_live(body: LiveIn, user: CurrentUser, db: DbSession, settings: AppSettings) -> dict[str, Any]:
    """Create a LIVE (go live now, or ``scheduled_at`` a future time). The answer's ``ingest_url``
    holds this LIVE's own publish key: it is shown only here. 403 ``not_eligible_host``."""
    live, key = await service.create_live(db, user, settings, title=body.title, scheduled_at=body.scheduled_at,
                                          shop_id=body.shop_id)
    return await presenters.live_out(db, live, settings, user, key=key)


@router.get("/lives", response_model=LivePage)
async def list_lives(db: DbSession, settings: AppSettings, user: MaybeUser,
                     status: Literal["live", "scheduled", "ended"] | None = None, cursor: str | None = None,
                     limit: Limit = None) -> dict[str, Any]:
    """LIVEs of a status: ``live`` (on now, latest started first), ``scheduled`` (soonest first),
    ``ended`` (latest first); all of them, newest first, without ``status``."""
    lives, nxt = await service.list_lives(db, status, cursor,
                                          clamp_limit(limit, settings.page_size_default, settings.page_size_max))
    return {"items": await presenters.live_outs(db, lives, settings, user), "next_cursor": nxt}


@router.post("/lives/stream-key", response_model=StreamKeyOut)
async def rotate_stream_key(user: CurrentUser, db: DbSession, settings: AppSettings) -> StreamKeyOut:
    """A new persistent stream key for the caller (shown once; the previous one stops working
    at once). It feeds the caller's LIVE on air, else their next scheduled one."""
    await service.require_host(db, user, settings)
    key = await service.issue_stream_key(db, user)
    return StreamKeyOut(stream_key=key, server_url=presenters.server_url(settings),
                        ingest_url=presenters.ingest_url(settings, key), key_hint=key[-4:])


@router.get("/lives/{live_id:int}", response_model=LiveOut)
async def get_live(live_id: LiveId, db: DbSession, settings: AppSettings, user: MaybeUser) -> dict[str, Any]:
    return await presenters.live_out(db, await service.get_live(db, live_id), settings, user)


@router.patch("/lives/{live_id:int}", response_model=LiveOut)
async def update_live(live_id: LiveId, body: LiveUpdate, user: CurrentUser, db: DbSession,
                      settings: AppSettings) -> dict[str, Any]:
    """Change the title, or the time of a LIVE not yet on air (host or operator)."""
    live = await service.update_live(db, user, live_id, settings, title=body.title, scheduled_at=body.scheduled_at,
                                     reschedule="scheduled_at" in body.model_fields_set)
    return await presenters.live_out(db, live, settings, user)


@router.post("/lives/{live_id:int}/cover", response_model=LiveOut)
@larger_body("max_image_bytes")
async def upload_cover(live_id: LiveId, user: CurrentUser, db: DbSession, settings: AppSettings,
                       file: Annotated[UploadFile, File()], tasks: BackgroundTasks) -> dict[str, Any]:
    """The cover image (JPEG, PNG or WebP; host or operator)."""
    data = await read_capped(file, settings.max_image_bytes, code=AccountsError.IMAGE_TOO_LARGE)
    live, previous = await service.set_cover(db, user, live_id, settings, data)
    if previous:
        tasks.add_task(media.remove_files, settings.media_dir, [previous])
    return await presenters.live_out(db, live, settings, user)


@router.post("/lives/{live_id:int}/end", response_model=LiveOut)
async def end_live(live_id: LiveId, user: CurrentUser, db: DbSession, settings: AppSettings) -> dict[str, Any]:
    """End a LIVE now (its host, or an operator; 404 for anyone else)."""
    live = await service.end_by(db, user, live_id)
    return await presenters.live_out(db, live, settings, user)


@router.put("/lives/{live_id:int}/reminder", response_model=ReminderOut)
async def add_reminder(live_id: LiveId, user: CurrentUser, db: DbSession) -> ReminderOut:
    """Be notified when this scheduled LIVE starts (idempotent)."""
    await service.remind(db, user, live_id, True)
    return ReminderOut(live_id=live_id, reminded=True)


@router.delete("/lives/{live_id:int}/reminder", response_model=ReminderOut)
async def drop_reminder(live_id: LiveId, user: CurrentUser, db: DbSession) -> ReminderOut:
    await service.remind(db, user, live_id, False)
    return ReminderOut(live_id=live_id, reminded=False)


async def _caller(request: Request) -> User:
    """The caller, resolved in a short read transaction of its own: the clip route holds no
    transaction while the replay is cut and processed (the request's unit of work would)."""
    token, via_cookie = token_from(request)
    if not token:
        raise Unauthorized("Log in to continue.", code=AccountsError.NOT_AUTHENTICATED)
    async with get_database(request).unit_of_work(write=False) as db:
        found = await accounts_service.resolve_token(db, token)
    if found is None:
        raise Unauthorized("Your session has ended. Log in again.", code=AccountsError.INVALID_SESSION)
    if via_cookie and not await csrf_ok(request):
        raise Forbidden("The form expired. Reload the page and try again.", code=AccountsError.CSRF_FAILED)
    return found


@router.post("/lives/{live_id:int}/clips", status_code=201, response_model=VideoOut)
async def create_clip(live_id: LiveId, body: ClipIn, request: Request, settings: AppSettings) -> dict[str, Any]:
    """Cut ``[start_ms, end_ms)`` of the replay into an ordinary shoppable video of the host.

    The caller and the checks are read in short read transactions, the cut and the processing run
    outside any transaction, and the video is written in one short write transaction at the end;
    any failure removes every file made."""
    user = await _caller(request)
    database = get_database(request)
    async with database.unit_of_work(write=False) as db:
        live = await service.hosted_live(db, user, live_id)
        service.check_clip(live, body.start_ms, body.end_ms, settings)
        content_service.check_caption(body.caption, settings)
        await content_service.check_anchors(db, user, body.product_ids, settings)
    cut: Path = await clipping.cut_clip(settings, live, body.start_ms, body.end_ms)
    made: list[str] = []
    kept = False
    try:
        processed = await media.process_upload(cut, settings)
        made = processed.paths
        async with database.unit_of_work() as db:
            video = await content_service.create_video(db, user, processed, body.caption, body.product_ids, settings)
            out = await content_presenters.video_out(db, video, user.id)
        kept = True
        return out
    finally:
        media.remove_files(cut.parent, [cut.name])
        if not kept:
            media.remove_files(settings.media_dir, made)


# The clip route checks its caller itself (no dependency to derive it from).
openapi.declare(create_clip, {
    401: "Not signed in (`not_authenticated`) or the session has ended (`invalid_session`).",
    403: "CSRF token missing with the session cookie (`csrf_failed`), or a product that may not be "
         "anchored (`anchor_not_allowed`).",
}, auth="required")
