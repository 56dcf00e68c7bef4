"""Community events API: operators create and edit events; a participant reads their progress."""

from __future__ import annotations

from fastapi import APIRouter

from mercato.accounts.deps import AdminUser, CurrentUser
from mercato.community import presenters, service
from mercato.community.schemas import EventIn, EventOut, EventPatch, ProgressOut
from mercato.kit.fields import PathId
from mercato.kit.http import DbSession

router = APIRouter(prefix="/api/v1", tags=["community"])


@router.post("/admin/events", status_code=201, response_model=EventOut)
async def create_event(body: EventIn, db: DbSession, user: AdminUser) -> EventOut:
    """An operator creates an event with its missions and rewards."""
    event, missions = await service.create_event(db, body)
    return presenters.event_out(event, missions)


@router.get("/admin/events", response_model=list[EventOut])
async def list_events(db: DbSession, user: AdminUser) -> list[EventOut]:
    """The latest 100 events, newest first."""
    return [presenters.event_out(e, await service.missions_of(db, e)) for e in await service.events(db)]


@router.patch("/admin/events/{event_id:int}", response_model=EventOut)
async def update_event(event_id: PathId, body: EventPatch, db: DbSession, user: AdminUser) -> EventOut:
    """Name, description, dates, gift conversion (``diamonds`` clears it); missions stay."""
    event = await service.update_event(db, await service.event_by_id(db, event_id), body)
    return presenters.event_out(event, await service.missions_of(db, event))


@router.get("/events/{slug}", response_model=EventOut)
async def get_event(slug: str, db: DbSession) -> EventOut:
    event = await service.get_event(db, slug)
    return presenters.event_out(event, await service.missions_of(db, event))


@router.get("/events/{slug}/progress", response_model=ProgressOut)
async def progress(slug: str, db: DbSession, user: CurrentUser) -> ProgressOut:
    """The caller's missions in the event: progress, completion, rewards (a coupon's code)."""
    event = await service.get_event(db, slug)
    return presenters.progress_out(event, await service.missions_of(db, event),
                                   await service.progress_of(db, event, user.id))
