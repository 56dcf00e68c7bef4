"""Request and answer bodies of the LIVE API (docs/live.md, "API")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from mercato.accounts.schemas import StrictBody
from mercato.content.schemas import CreatorOut
from mercato.kit.fields import BodyId, IsoDateTime

Title = Annotated[str, StringConstraints(max_length=400)]  # trimmed and capped at 120 by the service
StrictMs = Annotated[int, Field(strict=True, ge=0, le=7 * 24 * 3600 * 1000)]


class LiveIn(StrictBody):
    title: Title
    scheduled_at: IsoDateTime | None = None
    shop_id: BodyId | None = None


class LiveUpdate(StrictBody):
    """Fields left out stay as they are; ``scheduled_at: null`` makes a scheduled LIVE "any time now"."""

    title: Title | None = None
    scheduled_at: IsoDateTime | None = None


class LiveOut(BaseModel):
    id: int
    status: Literal["scheduled", "live", "ended"]
    title: str
    host: CreatorOut
    shop_id: int | None
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    #: The full RTMP URL with this LIVE's own publish key: only in the ``201`` of its creation.
    ingest_url: str | None = None
    #: The RTMP server alone (OBS's "Server"); only for the host and operators.
    ingest_server: str | None = None
    playback_url: str
    room_url: str
    page_url: str
    replay_url: str | None
    cover_url: str | None
    viewers: int
    peak_viewers: int
    reminders: int
    reminded: bool
    is_demo: bool


class LivePage(BaseModel):
    items: list[LiveOut]
    next_cursor: str | None = None


class ReminderOut(BaseModel):
    live_id: int
    reminded: bool


class StreamKeyOut(BaseModel):
    """The host's persistent stream key: shown once; a new one revokes the previous at once."""

    stream_key: str
    server_url: str
    ingest_url: str
    key_hint: str


class ClipIn(StrictBody):
    start_ms: StrictMs
    end_ms: StrictMs
    caption: Annotated[str, StringConstraints(max_length=2000)] = ""
    product_ids: list[BodyId] = Field(default_factory=list, max_length=20)
