"""``/studio/fans``: the host's Fan Club in the Creator Studio (sortable, paginated)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts.deps import MaybeUser
from mercato.content.pages import register_templates
from mercato.kit.http import AppSettings, DbSession
from mercato.live.fanclub import presenters, service
from mercato.live.fanclub.repository import SORTS
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")


@router.get("/studio/fans", response_class=HTMLResponse)
async def fans(request: Request, db: DbSession, settings: AppSettings, user: MaybeUser, sort: str = "points",
               cursor: str | None = None) -> Response:
    if user is None:
        return redirect("/login?next=/studio/fans")
    sort = sort if sort in SORTS else "points"
    rows, next_cursor, total = await service.fans_page(db, settings, user, sort=sort, cursor=cursor)
    return render(request, "fanclub/fans.html", {
        "fans": [presenters.fan_out(r) for r in rows], "next_cursor": next_cursor, "total": total, "sort": sort,
        "sorts": [("points", "Points"), ("level", "Level"), ("joined", "Joined"), ("last_active", "Last active")],
        "studio_section": "fans",
    }, user=user)
