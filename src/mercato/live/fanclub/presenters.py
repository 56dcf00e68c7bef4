"""Fan Club rows → API bodies (the API and /studio/fans share them)."""

from __future__ import annotations

from mercato.config import Settings
from mercato.live.fanclub import service
from mercato.live.fanclub.models import FanMembership
from mercato.live.fanclub.schemas import FanClubOut, FanOut, FanUser


def fan_out(row: service.FanRow) -> FanOut:
    m = row.member
    return FanOut(user=FanUser(id=row.user.id, display_name=row.user.display_name), level=m.level, points=m.points,
                  joined_at=m.joined_at, last_active_at=m.last_points_at)


def club_out(creator_id: int, member: FanMembership | None, settings: Settings) -> FanClubOut:
    if member is None:
        return FanClubOut(creator_id=creator_id, member=False, status=None, level=None, points=0, joined_at=None,
                          next_level_points=None)
    active = member.status == "active"
    return FanClubOut(creator_id=creator_id, member=active, status=member.status, level=member.level,
                      points=member.points, joined_at=member.joined_at,
                      next_level_points=service.next_level_points(member.level, settings.fan_level_thresholds))
