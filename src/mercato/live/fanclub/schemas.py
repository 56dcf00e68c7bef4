"""Bodies of the Fan Club API (docs/community.md, "Fan Club")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class FanUser(BaseModel):
    id: int
    display_name: str


class FanOut(BaseModel):
    user: FanUser
    level: int
    points: int
    joined_at: datetime
    last_active_at: datetime


class FansPage(BaseModel):
    items: list[FanOut]
    next_cursor: str | None
    total: int


class FanClubOut(BaseModel):
    """The caller's membership of a creator's Fan Club (``member`` false: not a member, or lapsed)."""

    creator_id: int
    member: bool
    status: str | None
    level: int | None
    points: int
    joined_at: datetime | None
    next_level_points: int | None
