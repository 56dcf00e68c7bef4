"""JSON routes of videos and the community around them (``/api/v1``), plus the share-link
redirect ``/share/{token}`` (:data:`share_router`, registered with the pages).

The upload does not hold a database transaction while the file arrives and ffmpeg works: the
caller is resolved in a short read transaction, the body is streamed to disk, the cheap checks
(caption, anchors) run in another read transaction before the expensive part, and the video is
written in one short write transaction at the end. Any failure removes every file made.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import RedirectResponse

from mercato.accounts import service as accounts_service
from mercato.accounts.deps import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    AdminUser,
    CurrentUser,
    MaybeUser,
    rate_limited,
)
from mercato.content import media, presenters, repository, service
from mercato.content.errors import ContentError
from mercato.content.schemas import (
    AnchorableOut,
    CommentIn,
    CommentOut,
    CommentPage,
    HashtagPage,
    LikeOut,
    ProductClickIn,
    ReportIn,
    ReportOut,
    ReportPage,
    SaveOut,
    ShareIn,
    ShareOut,
    TakedownIn,
    VideoOut,
    VideoPage,
    VideoUpdate,
)
from mercato.kit import openapi
from mercato.kit.errors import Forbidden, Unauthorized
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.limits import larger_body
from mercato.kit.pagination import clamp_limit

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from mercato.accounts.models import User
    from mercato.config import Settings

router = APIRouter(prefix="/api/v1", tags=["videos"])
share_router = APIRouter(tags=["videos"])

VideoId = PathId
CommentId = PathId
ReportId = PathId
Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]
COMMENT_PAGE = 20
FIRST_REPLIES = 2
SHARE_COOKIE = "mercato_share"

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "MP4, WebM or MOV"},
                "caption": {"type": "string"},
                "product_ids": {"type": "array", "items": {"type": "integer"},
                                "description": "Repeat the field or separate ids with commas"},
            },
        }}},
    }
}


async def _uploader(request: Request) -> tuple[User, bool]:
    """The caller of an upload, resolved in a short read transaction (not the request's unit of
    work: no transaction stays open while the file arrives). Returns (user, CSRF still to check)."""
    auth = request.headers.get("authorization", "")
    via_cookie = not auth.lower().startswith("bearer ")
    token = request.cookies.get(SESSION_COOKIE, "") if via_cookie else auth[7:].strip()
    if not token:
        raise Unauthorized("Log in to continue.", code=ContentError.NOT_AUTHENTICATED)
    async with get_database(request).unit_of_work(write=False) as db:
        found = await accounts_service.resolve_token(db, token)
    if found is None:
        raise Unauthorized("Your session has ended. Log in again.", code=ContentError.INVALID_SESSION)
    if not via_cookie:
        return found, False
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        return found, True  # checked against the form field once the body is parsed
    _check_csrf(request, supplied)
    return found, False


def _check_csrf(request: Request, supplied: str) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, supplied):
        raise Forbidden("The form expired. Reload the page and try again.", code=ContentError.CSRF_FAILED)


@router.post("/videos", status_code=201, response_model=VideoOut, openapi_extra=UPLOAD_BODY)
@larger_body("max_video_bytes")
async def upload_video(request: Request, settings: AppSettings) -> dict[str, Any]:
    """Upload a video (``multipart/form-data``: ``file``, ``caption``, ``product_ids``).

    413 ``file_too_large``; 422 ``invalid_video`` (not a readable MP4/WebM/MOV), ``video_too_long``,
    ``too_many_anchors``, ``product_unavailable``, ``caption_too_long``; 403 ``anchor_not_allowed``.
    Nothing is kept when it fails."""
    user, csrf_pending = await _uploader(request)
    database = get_database(request)
    received = await media.receive_upload(request, settings)
    made: list[str] = []
    kept = False
    try:
        if csrf_pending:
            _check_csrf(request, received.first(CSRF_FIELD) or "")
        caption = received.first("caption") or ""
        product_ids = service.parse_product_ids(received.fields.get("product_ids", []))
        async with database.unit_of_work(write=False) as db:  # fail fast, before ffmpeg
            service.check_caption(caption, settings)
            await service.check_anchors(db, user, product_ids, settings)
        assert received.path is not None
        processed = await media.process_upload(received.path, settings)
        made = processed.paths
        async with database.unit_of_work() as db:
            video = await service.create_video(db, user, processed, caption, product_ids, settings)
            body = await presenters.video_out(db, video, user.id)
        kept = True
        return body
    finally:
        if received.path is not None:
            received.path.unlink(missing_ok=True)
        if not kept:
            media.remove_files(settings.media_dir, made)


# The upload checks its caller itself, before reading the stream (no dependency to derive it from).
openapi.declare(upload_video, {
    401: "Not signed in (`not_authenticated`) or the session has ended.",
    403: "CSRF token missing with the session cookie (`csrf_failed`), or a product that may not be "
         "anchored (`anchor_not_allowed`).",
    413: "The file is larger than `MERCATO_MAX_VIDEO_BYTES` (`file_too_large`).",
    422: "Not a readable MP4/WebM/MOV, too long, too many anchors, or a caption too long.",
    503: "Video processing (ffmpeg) is unavailable; nothing was kept.",
}, auth="required")


@router.get("/videos/{video_id:int}", response_model=VideoOut)
async def get_video(video_id: VideoId, db: DbSession, user: MaybeUser) -> dict[str, Any]:
    """A video; a removed one only for its creator and operators (404 for everyone else)."""
    video = await service.visible_video(db, video_id, user)
    return await presenters.video_out(db, video, user.id if user else None)


@router.patch("/videos/{video_id:int}", response_model=VideoOut)
async def update_video(video_id: VideoId, body: VideoUpdate, user: CurrentUser, db: DbSession,
                       settings: AppSettings) -> dict[str, Any]:
    """Edit the caption and / or replace the product anchors (creator only: 403 ``forbidden``)."""
    video = await service.update_video(db, user, video_id, body, settings)
    return await presenters.video_out(db, video, user.id)


@router.delete("/videos/{video_id:int}", status_code=204)
async def delete_video(video_id: VideoId, user: CurrentUser, db: DbSession, settings: AppSettings,
                       tasks: BackgroundTasks) -> Response:
    """Delete a video (creator or operator); its files go once the deletion is committed."""
    paths = await service.delete_video(db, user, video_id)
    tasks.add_task(media.remove_files, settings.media_dir, paths)
    return Response(status_code=204, background=tasks)


@router.post("/videos/{video_id:int}/like", response_model=LikeOut)
async def like(video_id: VideoId, user: CurrentUser, db: DbSession) -> LikeOut:
    """Like (idempotent: liking twice is one like)."""
    liked, count = await service.like(db, user, video_id, True)
    return LikeOut(liked=liked, likes_count=count)


@router.delete("/videos/{video_id:int}/like", response_model=LikeOut)
async def unlike(video_id: VideoId, user: CurrentUser, db: DbSession) -> LikeOut:
    liked, count = await service.like(db, user, video_id, False)
    return LikeOut(liked=liked, likes_count=count)


@router.post("/videos/{video_id:int}/save", response_model=SaveOut)
async def save(video_id: VideoId, user: CurrentUser, db: DbSession) -> SaveOut:
    saved, count = await service.save(db, user, video_id, True)
    return SaveOut(saved=saved, saves_count=count)


@router.delete("/videos/{video_id:int}/save", response_model=SaveOut)
async def unsave(video_id: VideoId, user: CurrentUser, db: DbSession) -> SaveOut:
    saved, count = await service.save(db, user, video_id, False)
    return SaveOut(saved=saved, saves_count=count)


@router.get("/me/saved-videos", response_model=VideoPage)
async def saved_videos(user: CurrentUser, db: DbSession, settings: AppSettings, cursor: str | None = None,
                       limit: Limit = None) -> dict[str, Any]:
    """The caller's saved videos, most recently saved first."""
    videos, nxt = await service.saved_videos(db, user, cursor,
                                             clamp_limit(limit, settings.page_size_default, settings.page_size_max))
    return {"items": await presenters.video_outs(db, videos, user.id), "next_cursor": nxt}


@router.get("/me/anchorable-products", response_model=AnchorableOut)
async def anchorable_products(user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Active products the caller may show on a video: their shops' and those open to creators."""
    products = await repository.anchorable_products(db, user.id, 200)
    return {"items": await presenters.product_cards(db, products)}


@router.post("/videos/{video_id:int}/product-clicks", status_code=204)
async def product_click(video_id: VideoId, body: ProductClickIn, request: Request, db: DbSession, user: MaybeUser,
                        settings: AppSettings) -> Response:
    """A tap on a product card of the video (counts, feeds the ranking and analytics, and is an
    affiliate touchpoint of the video's creator)."""
    cookies = await service.product_click(db, user, video_id, body.product_id, body.src, request.cookies)
    response = Response(status_code=204)
    _set_cookies(response, cookies, settings)
    return response


def _set_cookies(response: Response, cookies: list[tuple[str, str, int]], settings: Settings) -> None:
    for name, value, max_age in cookies:
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                            secure=settings.secure_cookies)


@router.get("/videos/{video_id:int}/comments", response_model=CommentPage)
async def comments(video_id: VideoId, db: DbSession, user: MaybeUser, cursor: str | None = None,
                   limit: Limit = None) -> dict[str, Any]:
    """Top-level comments, newest first, each with ``replies_count`` and its first two replies."""
    video, items, nxt = await service.comments_page(db, user, video_id, cursor,
                                                    clamp_limit(limit, COMMENT_PAGE, 100))
    return {"items": await presenters.comment_outs(db, items, creator_id=video.creator_id, viewer=user,
                                                   with_replies=FIRST_REPLIES), "next_cursor": nxt}


@router.get("/comments/{comment_id:int}/replies", response_model=CommentPage)
async def replies(comment_id: CommentId, db: DbSession, user: MaybeUser, cursor: str | None = None,
                  limit: Limit = None) -> dict[str, Any]:
    """Replies of a comment, oldest first."""
    video, items, nxt = await service.replies_page(db, user, comment_id, cursor,
                                                   clamp_limit(limit, COMMENT_PAGE, 100))
    return {"items": await presenters.comment_outs(db, items, creator_id=video.creator_id, viewer=user),
            "next_cursor": nxt}


@router.post("/videos/{video_id:int}/comments", status_code=201, response_model=CommentOut,
             dependencies=[rate_limited("comment")])
async def add_comment(video_id: VideoId, body: CommentIn, user: CurrentUser, db: DbSession,
                      settings: AppSettings) -> dict[str, Any]:
    """Comment, or reply with ``parent_id`` (a reply to a reply joins the top-level thread)."""
    video, item = await service.add_comment(db, user, video_id, body, settings)
    return presenters.comment_out(item, user, creator_id=video.creator_id, viewer=user)


@router.delete("/comments/{comment_id:int}", status_code=204)
async def delete_comment(comment_id: CommentId, user: CurrentUser, db: DbSession) -> Response:
    """Delete a comment (its author, the video's creator or an operator)."""
    await service.delete_comment(db, user, comment_id)
    return Response(status_code=204)


@router.post("/videos/{video_id:int}/shares", status_code=201, response_model=ShareOut,
             dependencies=[rate_limited("share")])
async def share(video_id: VideoId, body: ShareIn, db: DbSession, user: MaybeUser, settings: AppSettings) -> ShareOut:
    """A share link that records who shared it and counts its visits.

    Absolute URLs come from ``MERCATO_PUBLIC_BASE_URL``, never from the request's ``Host``
    header, which the client chooses."""
    item, count = await service.share(db, user, video_id, body.channel)
    url = f"{settings.public_base_url.rstrip('/')}/share/{item.token}"
    return ShareOut(token=item.token, url=url, shares_count=count)


@router.post("/videos/{video_id:int}/reports", status_code=201, response_model=ReportOut,
             dependencies=[rate_limited("report")])
async def report(video_id: VideoId, body: ReportIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Report a video (once per viewer: 409 ``already_reported``)."""
    return presenters.report_out(await service.report(db, user, video_id, body))


@router.get("/users/{ref}/videos", response_model=VideoPage)
async def creator_videos(ref: str, db: DbSession, user: MaybeUser, settings: AppSettings,
                         cursor: str | None = None, limit: Limit = None) -> dict[str, Any]:
    """A creator's videos (by handle or id), newest first; their own removed ones only for them."""
    _, videos, nxt = await service.creator_videos(
        db, user, ref, cursor, clamp_limit(limit, settings.page_size_default, settings.page_size_max))
    return {"items": await presenters.video_outs(db, videos, user.id if user else None), "next_cursor": nxt}


@router.get("/hashtags/{tag}/videos", response_model=HashtagPage)
async def hashtag_videos(tag: str, db: DbSession, user: MaybeUser, settings: AppSettings,
                         sort: Literal["top", "new"] = "top", cursor: str | None = None,
                         limit: Limit = None) -> dict[str, Any]:
    """Videos with a hashtag: ``top`` (engagement) or ``new``."""
    clean, videos, nxt = await service.tag_videos(
        db, tag, sort, cursor, clamp_limit(limit, settings.page_size_default, settings.page_size_max))
    return {"tag": clean, "video_count": await repository.tag_video_count(db, clean),
            "items": await presenters.video_outs(db, videos, user.id if user else None), "next_cursor": nxt}


# --- operators ------------------------------------------------------------------------------

@router.get("/admin/video-reports", response_model=ReportPage)
async def video_reports(admin: AdminUser, db: DbSession, settings: AppSettings,
                        status: Literal["open", "upheld", "dismissed", "all"] = "open",
                        cursor: str | None = None, limit: Limit = None) -> dict[str, Any]:
    """The report queue, oldest first, each with its video."""
    items, nxt = await service.reports_page(db, None if status == "all" else status, cursor,
                                            clamp_limit(limit, settings.page_size_default, settings.page_size_max))
    videos = await repository.videos_by_ids(db, [r.video_id for r in items])
    ordered = list(videos.values())
    outs = {v["id"]: v for v in await presenters.video_outs(db, ordered, admin.id)}
    return {"items": [{**presenters.report_out(r), "video": outs.get(r.video_id)} for r in items],
            "next_cursor": nxt}


@router.post("/admin/videos/{video_id:int}/takedown", response_model=VideoOut)
async def takedown(video_id: VideoId, body: TakedownIn, admin: AdminUser, db: DbSession) -> dict[str, Any]:
    """Remove a video (404 to everyone but its creator and operators); its open reports are upheld."""
    video = await service.takedown(db, admin, video_id, body.reason)
    return await presenters.video_out(db, video, admin.id)


@router.post("/admin/videos/{video_id:int}/restore", response_model=VideoOut)
async def restore(video_id: VideoId, admin: AdminUser, db: DbSession) -> dict[str, Any]:
    video = await service.restore(db, admin, video_id)
    return await presenters.video_out(db, video, admin.id)


@router.post("/admin/video-reports/{report_id:int}/dismiss", response_model=ReportOut)
async def dismiss_report(report_id: ReportId, admin: AdminUser, db: DbSession) -> dict[str, Any]:
    return presenters.report_out(await service.dismiss_report(db, admin, report_id))


# --- share links ----------------------------------------------------------------------------

@share_router.get("/share/{token}", include_in_schema=False)
async def open_share(token: str, request: Request, settings: AppSettings, user: MaybeUser) -> Response:
    """Count a visit of the share link and go to the video. The visit is an affiliate touchpoint
    of the video's creator on its products (recorded server-side now); the link's token is kept
    in a cookie too (who brought this viewer)."""
    async with get_database(request).unit_of_work() as db:  # a GET that writes: take the writer
        item, cookies = await service.visit_share(db, token, user, request.cookies)
    response = RedirectResponse(f"/videos/{item.video_id}", status_code=303)
    response.set_cookie(SHARE_COOKIE, item.token, max_age=7 * 24 * 3600, httponly=True, samesite="lax",
                        secure=settings.secure_cookies)
    _set_cookies(response, cookies, settings)
    return response
