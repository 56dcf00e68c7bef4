"""Bodies of the room's HTTP API (docs/live.md, "Room")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mercato.catalog.schemas import ProductCard
from mercato.kit.fields import BodyId

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: BodyId


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: BodyId
    minutes: int = Field(strict=True, ge=1, le=7 * 24 * 60)


class BanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: BodyId


class RoomPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slow_mode_seconds: int | None = Field(default=None, strict=True, ge=0, le=300)
    comments: Literal["on", "off"] | None = None
    fans_only: bool | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=100)


class LiveReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class RoomSettingsOut(BaseModel):
    slow_mode_seconds: int
    comments: str
    fans_only: bool
    keywords: list[str]


class PinnedOut(BaseModel):
    product: ProductCard | None


class MuteOut(BaseModel):
    user_id: int
    muted_until: datetime


class BanOut(BaseModel):
    user_id: int


class ModeratorsOut(BaseModel):
    moderators: list[int]


class LiveReportOut(BaseModel):
    id: int
    live_id: int
    reason: str
    created_at: datetime
