"""Web pages of videos: the video page (the player with that video first), upload, hashtag pages,
the creator's video grid on the profile, and the operators' moderation queue.

The pages reuse the content services and ``presenters.video_outs`` (the JSON API's bodies), so the
player's script reads exactly what the API answers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import FileSystemLoader

from mercato.accounts import hooks as accounts_hooks
from mercato.accounts.deps import AdminUser, CurrentUser, MaybeUser
from mercato.content import presenters, service
from mercato.content import repository as repo
from mercato.kit.errors import AppError
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.web.forms import form_data, require_csrf
from mercato.web.render import env, redirect, render

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from mercato.accounts.models import User

router = APIRouter(include_in_schema=False)

GRID_PAGE = 18
FOR_YOU_API = "/api/v1/feed/foryou"


def register_templates(folder: Path) -> None:
    """Add a domain's template folder to the shared Jinja2 environment (once)."""
    loader = env.loader
    loaders = getattr(loader, "loaders", None)
    if loaders is None or any(getattr(item, "searchpath", None) == [str(folder)] for item in loaders):
        return
    loaders.append(FileSystemLoader(str(folder)))


def compact(value: int | float | None) -> str:
    """1234 → 1.2K, 1500000 → 1.5M (counts on grids and the player)."""
    n = float(value or 0)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            scaled = n / size
            text = f"{scaled:.0f}" if scaled >= 100 else f"{scaled:.1f}".removesuffix(".0")
            return text + suffix
    return str(int(n))


register_templates(Path(__file__).resolve().parent / "templates")
env.filters["compact"] = compact


def _hx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


# --- the video page ---------------------------------------------------------------------------


@router.get("/videos/{video_id:int}", response_class=HTMLResponse)
async def video_page(request: Request, video_id: PathId, db: DbSession, user: MaybeUser,
                     settings: AppSettings) -> Response:
    """The player with this video first; For You continues after it."""
    video = await service.visible_video(db, video_id, user)
    out = await presenters.video_out(db, video, user.id if user else None)
    heading = f"Video by @{out['creator']['handle']}" if out["creator"]["handle"] else "Video"
    return render(request, "feed/player.html", {
        "feed_kind": "video", "feed_source": FOR_YOU_API, "feed_continue": FOR_YOU_API,
        "initial": {"items": [{"video": out, "reason": None}], "next_cursor": None},
        "page_heading": heading, "empty_title": "This video is not available.", "empty_action": None,
        "max_comment_chars": settings.max_comment_chars, "removed": out["status"] == "removed" and out,
        "title": out["caption"][:60] or heading,
    }, user=user)


# --- upload ----------------------------------------------------------------------------------


@router.get("/upload", response_class=HTMLResponse)
async def upload_page(request: Request, db: DbSession, user: CurrentUser, settings: AppSettings) -> Response:
    """File (drag and drop), caption with #/@ hints, and the products this user may anchor."""
    products = await presenters.product_cards(db, await repo.anchorable_products(db, user.id, 200))
    return render(request, "content/upload.html", {
        "products": products, "max_bytes": settings.max_video_bytes, "max_mb": settings.max_video_bytes // 2**20,
        "max_seconds": settings.max_video_seconds, "max_anchors": settings.max_video_anchors,
        "max_caption": settings.max_caption_chars,
    }, user=user)


# --- grids: hashtag pages and the creator's videos ---------------------------------------------


@router.get("/tag/{tag}", response_class=HTMLResponse)
async def tag_page(request: Request, tag: str, db: DbSession, user: MaybeUser, sort: str = "top",
                   cursor: str | None = None) -> Response:
    sort = sort if sort in ("top", "new") else "top"
    try:
        clean, videos, nxt = await service.tag_videos(db, tag, sort, cursor, GRID_PAGE)
    except AppError as exc:
        if exc.status == 422:  # a stale or forged cursor: start again
            return redirect(f"/tag/{quote(tag)}?sort={sort}")
        raise
    items = await presenters.video_outs(db, videos, user.id if user else None)
    more_url = f"/tag/{quote(clean)}?sort={sort}&cursor={quote(nxt)}" if nxt else None
    if _hx(request) and cursor:
        return render(request, "content/_video_grid.html", {"videos": items, "more_url": more_url}, user=user)
    count = await repo.tag_video_count(db, clean)
    return render(request, "content/tag.html", {
        "tag": clean, "sort": sort, "videos": items, "more_url": more_url, "count": count,
    }, user=user)


@accounts_hooks.register_profile_section
async def profile_videos(db: Any, viewer: User | None, person: User) -> dict[str, Any]:
    """The first page of a creator's grid for the profile page: ``{"videos", "more_url"}``."""
    _, videos, nxt = await service.creator_videos(db, viewer, str(person.id), None, GRID_PAGE)
    items = await presenters.video_outs(db, videos, viewer.id if viewer else None)
    return {"videos": items, "more_url": f"/u/{person.id}/videos?cursor={quote(nxt)}" if nxt else None}


@router.get("/u/{user_id:int}/videos", response_class=HTMLResponse)
async def creator_grid(request: Request, user_id: PathId, db: DbSession, user: MaybeUser,
                       cursor: str | None = None) -> Response:
    """More of a creator's grid ("load more" on the profile)."""
    person, videos, nxt = await service.creator_videos(db, user, str(user_id), cursor, GRID_PAGE)
    items = await presenters.video_outs(db, videos, user.id if user else None)
    more_url = f"/u/{person.id}/videos?cursor={quote(nxt)}" if nxt else None
    if _hx(request):
        return render(request, "content/_video_grid.html", {"videos": items, "more_url": more_url}, user=user)
    return render(request, "content/grid_page.html", {
        "person": person, "videos": items, "more_url": more_url,
    }, user=user)


# --- moderation ------------------------------------------------------------------------------


REPORT_STATUSES = ("open", "upheld", "dismissed")


@router.get("/admin/video-reports", response_class=HTMLResponse)
async def reports_page(request: Request, db: DbSession, user: AdminUser, status: str = "open",
                       cursor: str | None = None) -> Response:
    """Operators: reported videos, newest report first, with take down / dismiss / restore."""
    status = status if status in REPORT_STATUSES else "open"
    reports, nxt = await service.reports_page(db, status, cursor, 30)
    videos = await repo.videos_by_ids(db, sorted({r.video_id for r in reports}))
    outs = {v["id"]: v for v in await presenters.video_outs(db, list(videos.values()), user.id)}
    reporters = await repo.users_by_ids(db, sorted({r.reporter_id for r in reports}))
    rows = [{"report": r, "video": outs.get(r.video_id), "reporter": reporters.get(r.reporter_id)} for r in reports]
    return render(request, "content/admin_reports.html", {
        "rows": rows, "status": status, "statuses": REPORT_STATUSES,
        "more_url": f"/admin/video-reports?status={status}&cursor={quote(nxt)}" if nxt else None,
        "done": request.query_params.get("done", ""),
    }, user=user)


def _back(form: dict[str, str], done: str) -> Response:
    status = form.get("status", "open")
    status = status if status in REPORT_STATUSES else "open"
    return redirect(f"/admin/video-reports?status={status}&done={done}")


@router.post("/admin/videos/{video_id:int}/takedown")
async def takedown(request: Request, video_id: PathId, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    await service.takedown(db, user, video_id, form.get("reason", "") or "Breaks the community rules")
    return _back(form, "removed")


@router.post("/admin/videos/{video_id:int}/restore")
async def restore(request: Request, video_id: PathId, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    await service.restore(db, user, video_id)
    return _back(form, "restored")


@router.post("/admin/video-reports/{report_id:int}/dismiss")
async def dismiss(request: Request, report_id: PathId, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    await service.dismiss_report(db, user, report_id)
    return _back(form, "dismissed")

