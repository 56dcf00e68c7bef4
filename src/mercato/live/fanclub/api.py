"""The Fan Club API: the host's fan list, a viewer's own membership."""

from __future__ import annotations

from fastapi import APIRouter

from mercato.accounts.deps import CurrentUser
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.live.fanclub import presenters, service
from mercato.live.fanclub.schemas import FanClubOut, FansPage

router = APIRouter(prefix="/api/v1", tags=["fan club"])


@router.get("/creators/me/fans", response_model=FansPage)
async def my_fans(db: DbSession, settings: AppSettings, user: CurrentUser, sort: str = "points",
                  cursor: str | None = None) -> FansPage:
    """The caller's active Fan Club members: ``sort`` = points | level | joined | last_active."""
    rows, next_cursor, total = await service.fans_page(db, settings, user, sort=sort, cursor=cursor)
    return FansPage(items=[presenters.fan_out(r) for r in rows], next_cursor=next_cursor, total=total)


@router.get("/creators/{creator_id:int}/fan-club", response_model=FanClubOut)
async def my_membership(creator_id: PathId, db: DbSession, settings: AppSettings, user: CurrentUser) -> FanClubOut:
    """The caller's membership of this creator's Fan Club: level, points, points to the next level."""
    member = await service.membership_of(db, creator_id, user)
    return presenters.club_out(creator_id, member, settings)
