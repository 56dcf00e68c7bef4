"""Bodies of the community events API (docs/community.md). Amounts are integer minor units."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from mercato.accounts.schemas import StrictBody
from mercato.kit.fields import IsoDateTime

MissionKind = Literal["watch_minutes", "comment", "share", "gift", "buy"]
RewardKind = Literal["badge", "coupon", "credits"]
Conversion = Literal["credits", "commission"]
MAX_REWARD = 10**9


def _utc(moment: datetime) -> datetime:
    """A moment without an offset is read as UTC (the operator pages say so)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


Moment = Annotated[IsoDateTime, AfterValidator(_utc)]


class MissionIn(StrictBody):
    kind: MissionKind
    title: str = Field(min_length=1, max_length=120)
    target: int = Field(strict=True, ge=1, le=1_000_000)
    reward_kind: RewardKind
    reward_badge: str | None = Field(default=None, min_length=1, max_length=60)
    reward_amount: int | None = Field(strict=True, default=None, ge=1, le=MAX_REWARD,
                                      description="Credits, or a coupon's amount off (minor units)")
    reward_percent_bps: int | None = Field(strict=True, default=None, ge=100, le=9_000)
    reward_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class EventIn(StrictBody):
    slug: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    starts_at: Moment
    ends_at: Moment
    gift_conversion: Conversion | None = None
    missions: list[MissionIn] = Field(min_length=1, max_length=20)


class EventPatch(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=4000)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    gift_conversion: Conversion | Literal["diamonds"] | None = Field(
        default=None, description="``diamonds`` clears the conversion")


class RewardOut(BaseModel):
    kind: str
    badge: str | None
    amount: int | None
    percent_bps: int | None
    currency: str | None


class MissionOut(BaseModel):
    id: int
    kind: str
    title: str
    target: int
    reward: RewardOut


class EventOut(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    starts_at: datetime
    ends_at: datetime
    gift_conversion: str | None
    running: bool
    missions: list[MissionOut]


class MissionProgressOut(MissionOut):
    progress: int
    completed: bool
    completed_at: datetime | None
    coupon_code: str | None


class ProgressOut(BaseModel):
    event: EventOut
    missions: list[MissionProgressOut]
    completed: int
