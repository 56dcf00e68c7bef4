"""The operators' gift catalog page, ``/admin/gifts``: every gift with its price, animation and flags,
a form to change each and one to add a gift (docs/gifts.md, "The gift catalog")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts.deps import AdminUser
from mercato.content.pages import register_templates
from mercato.kit.errors import AppError, ValidationFailed
from mercato.kit.fields import PathId
from mercato.kit.http import DbSession
from mercato.live.gifts import service
from mercato.web.forms import form_data, require_csrf
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")


async def _page(request: Request, db: DbSession, user: Any, error: str = "", status: int = 200) -> Response:
    response = render(request, "live_gifts/admin_gifts.html", {
        "gifts": await service.catalog(db, active_only=False), "animations": service.ANIMATIONS, "error": error,
        "done": request.query_params.get("done", ""),
    }, user=user)
    response.status_code = status
    return response


def _values(form: dict[str, str]) -> dict[str, Any]:
    coins = form.get("coins", "").strip()
    if not coins.isdigit() or not 1 <= int(coins) <= 1_000_000:
        raise ValidationFailed("The price is a whole number of coins from 1 to 1,000,000.")
    name = form.get("name", "").strip()
    if not name or len(name) > 40:
        raise ValidationFailed("The name has 1–40 characters.")
    return {"name": name, "coins": int(coins), "animation": form.get("animation", ""),
            "active": form.get("active") == "on", "joins_fan_club": form.get("joins_fan_club") == "on"}


@router.get("/admin/gifts", response_class=HTMLResponse)
async def admin_gifts(request: Request, db: DbSession, user: AdminUser) -> Response:
    return await _page(request, db, user)


@router.post("/admin/gifts", response_class=HTMLResponse)
async def admin_add_gift(request: Request, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    try:
        await service.create_gift(db, **_values(await form_data(request)))
    except AppError as refused:
        return await _page(request, db, user, refused.message, refused.status)
    return redirect("/admin/gifts?done=added")


@router.post("/admin/gifts/{gift_id:int}", response_class=HTMLResponse)
async def admin_change_gift(request: Request, gift_id: PathId, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    try:
        await service.update_gift(db, gift_id, _values(await form_data(request)))
    except AppError as refused:
        return await _page(request, db, user, refused.message, refused.status)
    return redirect("/admin/gifts?done=saved")
