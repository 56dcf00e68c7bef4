"""The room's HTTP API: pin and the bag, moderators, mutes, bans, room settings, reports.

Each change is persisted and its frame reaches the room when the request commits
(docs/live.md, "Room").
"""

from __future__ import annotations

from fastapi import APIRouter

from mercato.accounts.deps import CurrentUser, rate_limited
from mercato.catalog.schemas import ProductCard
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.pagination import Page
from mercato.live import service as live_service
from mercato.live.room import service
from mercato.live.room.schemas import (
    BanIn,
    BanOut,
    LiveReportIn,
    LiveReportOut,
    ModeratorsOut,
    MuteIn,
    MuteOut,
    PinIn,
    PinnedOut,
    RoomPatch,
    RoomSettingsOut,
)

router = APIRouter(prefix="/api/v1", tags=["live"])


@router.put("/lives/{live_id:int}/pin", response_model=PinnedOut)
async def pin(live_id: PathId, body: PinIn, db: DbSession, user: CurrentUser) -> PinnedOut:
    """Pin a product of the bag (host and moderators); members get a ``pinned`` frame."""
    card = await service.pin(db, user, live_id, body.product_id)
    return PinnedOut.model_validate({"product": card})


@router.delete("/lives/{live_id:int}/pin", response_model=PinnedOut)
async def unpin(live_id: PathId, db: DbSession, user: CurrentUser) -> PinnedOut:
    await service.pin(db, user, live_id, None)
    return PinnedOut(product=None)


@router.get("/lives/{live_id:int}/bag", response_model=Page[ProductCard])
async def bag(live_id: PathId, db: DbSession, settings: AppSettings, cursor: str | None = None) -> Page[ProductCard]:
    """The LIVE's product bag, newest first (paginated)."""
    live = await live_service.get_live(db, live_id)
    return await service.bag_page(db, live, cursor, settings.live_bag_page)


@router.put("/lives/{live_id:int}/moderators/{user_id:int}", response_model=ModeratorsOut)
async def appoint(live_id: PathId, user_id: PathId, db: DbSession, user: CurrentUser) -> ModeratorsOut:
    """The host appoints a moderator (idempotent)."""
    return ModeratorsOut(moderators=await service.set_moderator(db, user, live_id, user_id, True))


@router.delete("/lives/{live_id:int}/moderators/{user_id:int}", response_model=ModeratorsOut)
async def dismiss(live_id: PathId, user_id: PathId, db: DbSession, user: CurrentUser) -> ModeratorsOut:
    return ModeratorsOut(moderators=await service.set_moderator(db, user, live_id, user_id, False))


@router.post("/lives/{live_id:int}/mutes", status_code=201, response_model=MuteOut)
async def mute(live_id: PathId, body: MuteIn, db: DbSession, user: CurrentUser) -> MuteOut:
    until = await service.mute(db, user, live_id, body.user_id, body.minutes)
    return MuteOut(user_id=body.user_id, muted_until=until)


@router.post("/lives/{live_id:int}/bans", status_code=201, response_model=BanOut)
async def ban(live_id: PathId, body: BanIn, db: DbSession, user: CurrentUser) -> BanOut:
    """Ban a member: their connections are closed and they cannot rejoin."""
    await service.ban(db, user, live_id, body.user_id)
    return BanOut(user_id=body.user_id)


@router.patch("/lives/{live_id:int}/room", response_model=RoomSettingsOut)
async def room_settings(live_id: PathId, body: RoomPatch, db: DbSession, user: CurrentUser) -> RoomSettingsOut:
    """Slow mode, comments on/off, blocked keywords (host and moderators)."""
    room = await service.update_room(db, user, live_id, body)
    return RoomSettingsOut(slow_mode_seconds=room.slow_mode_seconds, comments=room.comments,
                           fans_only=room.fans_only, keywords=list(room.keywords))


@router.post("/lives/{live_id:int}/reports", status_code=201, response_model=LiveReportOut,
             dependencies=[rate_limited("report")])
async def report(live_id: PathId, body: LiveReportIn, db: DbSession, user: CurrentUser) -> LiveReportOut:
    """A viewer reports a LIVE (once per viewer and LIVE); operators see it at /admin/lives."""
    row = await service.report(db, user, live_id, body.reason)
    return LiveReportOut(id=row.id, live_id=row.live_id, reason=row.reason, created_at=row.created_at)
