"""Community pages: the operators' ``/admin/events`` (list, create, edit), a participant's
journey ``/events/{slug}``, and the small event banner the For You and LIVE pages load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from mercato.accounts.deps import AdminUser, MaybeUser
from mercato.community import presenters, service
from mercato.community.schemas import EventIn, EventPatch
from mercato.content.pages import register_templates
from mercato.kit.errors import AppError
from mercato.kit.fields import PathId
from mercato.kit.http import DbSession
from mercato.web.forms import error_messages, form_data, require_csrf, rollback
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")

MISSION_ROWS = 5
EVENT_FIELDS = ("slug", "name", "description", "starts_at", "ends_at", "gift_conversion")
MISSION_FIELDS = ("kind", "title", "target", "reward_kind", "reward_badge", "reward_amount", "reward_percent_bps",
                  "reward_currency")


def _when(value: str) -> datetime | str:
    """A ``datetime-local`` value is read as UTC (the form says so)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: str) -> int | str | None:
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


def event_from_form(form: dict[str, str]) -> EventIn:
    missions: list[dict[str, Any]] = []
    for i in range(MISSION_ROWS):
        row = {k: form.get(f"m{i}_{k}", "").strip() for k in MISSION_FIELDS}
        if not row["kind"]:
            continue
        missions.append({"kind": row["kind"], "title": row["title"], "target": _int(row["target"]),
                         "reward_kind": row["reward_kind"], "reward_badge": row["reward_badge"] or None,
                         "reward_amount": _int(row["reward_amount"]),
                         "reward_percent_bps": _int(row["reward_percent_bps"]),
                         "reward_currency": row["reward_currency"].upper() or None})
    return EventIn.model_validate({
        "slug": form.get("slug", "").strip(), "name": form.get("name", "").strip(),
        "description": form.get("description", ""), "starts_at": _when(form.get("starts_at", "")),
        "ends_at": _when(form.get("ends_at", "")), "gift_conversion": form.get("gift_conversion") or None,
        "missions": missions})


async def _list(request: Request, db: DbSession, user: Any, *, status: int = 200, **extra: Any) -> HTMLResponse:
    rows = [presenters.event_out(e, await service.missions_of(db, e)) for e in await service.events(db)]
    return render(request, "community/admin_events.html", {"events": rows, "rows": range(MISSION_ROWS),
                                                           "values": {}, "errors": {}, **extra},
                  user=user, status=status)


@router.get("/admin/events", response_class=HTMLResponse)
async def admin_events(request: Request, db: DbSession, user: AdminUser, saved: str | None = None) -> Response:
    return await _list(request, db, user, notice="Event saved." if saved else None)


@router.post("/admin/events", response_class=HTMLResponse)
async def admin_create(request: Request, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    try:
        await service.create_event(db, event_from_form(form))
    except (ValidationError, AppError) as exc:
        message, errors = error_messages(exc)
        await rollback(db, user)
        return await _list(request, db, user, status=exc.status if isinstance(exc, AppError) else 422,
                           values=form, errors=errors, error=message)
    return redirect("/admin/events?saved=1")


@router.get("/admin/events/{event_id:int}", response_class=HTMLResponse)
async def admin_edit(request: Request, event_id: PathId, db: DbSession, user: AdminUser) -> Response:
    event = await service.event_by_id(db, event_id)
    return render(request, "community/admin_event.html", {
        "event": presenters.event_out(event, await service.missions_of(db, event)), "errors": {}}, user=user)


@router.post("/admin/events/{event_id:int}", response_class=HTMLResponse)
async def admin_update(request: Request, event_id: PathId, db: DbSession, user: AdminUser) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    event = await service.event_by_id(db, event_id)
    try:
        patch = EventPatch.model_validate({
            "name": form.get("name", "").strip() or None, "description": form.get("description"),
            "starts_at": _when(form["starts_at"]) if form.get("starts_at") else None,
            "ends_at": _when(form["ends_at"]) if form.get("ends_at") else None,
            "gift_conversion": form.get("gift_conversion") or "diamonds"})
        await service.update_event(db, event, patch)
    except (ValidationError, AppError) as exc:
        message, errors = error_messages(exc)
        await rollback(db, user)
        event = await service.event_by_id(db, event_id)
        return render(request, "community/admin_event.html", {
            "event": presenters.event_out(event, await service.missions_of(db, event)), "errors": errors,
            "error": message}, user=user, status=exc.status if isinstance(exc, AppError) else 422)
    return redirect("/admin/events?saved=1")


@router.get("/event-banner", response_class=HTMLResponse)
async def banner(request: Request, db: DbSession, user: MaybeUser) -> HTMLResponse:
    """The running event (if any), as a small dismissible banner (empty otherwise)."""
    running = await service.running_events(db)
    return render(request, "community/_banner.html", {"event": running[0] if running else None}, user=user)


@router.get("/events/{slug}", response_class=HTMLResponse)
async def journey(request: Request, slug: str, db: DbSession, user: MaybeUser) -> Response:
    """A participant's journey: each mission with its progress bar and the rewards earned."""
    event = await service.get_event(db, slug)
    missions = await service.missions_of(db, event)
    rows = await service.progress_of(db, event, user.id) if user is not None else {}
    return render(request, "community/journey.html", {"journey": presenters.progress_out(event, missions, rows)},
                  user=user)
