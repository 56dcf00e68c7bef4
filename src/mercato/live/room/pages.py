"""The operators' LIVE page, ``/admin/lives``: LIVEs on air and reported LIVEs, with "End LIVE"."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts.deps import AdminUser
from mercato.content.pages import register_templates
from mercato.kit.fields import PathId
from mercato.kit.http import DbSession
from mercato.live.room import service
from mercato.web.forms import require_csrf
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")


@router.get("/admin/lives", response_class=HTMLResponse)
async def admin_lives(request: Request, db: DbSession, user: AdminUser) -> Response:
    on_air, reported = await service.admin_overview(db, limit=50)
    return render(request, "live_room/admin_lives.html", {
        "on_air": on_air, "reported": reported, "done": request.query_params.get("done", ""),
    }, user=user)


@router.post("/admin/lives/{live_id:int}/end")
async def admin_end(request: Request, live_id: PathId, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    await service.operator_end(db, user, live_id)
    return redirect("/admin/lives?done=ended")
