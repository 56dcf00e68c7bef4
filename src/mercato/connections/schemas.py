"""Request and response bodies of the connections API. Credentials go in and never come out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from mercato.accounts.schemas import StrictBody

PlatformName = Literal["shopify", "square", "ecwid", "wix"]
#: Store ids and shop domains: letters, digits, ``.``, ``_``, ``-`` (they end up in API URLs).
STORE_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
#: Tokens travel in HTTP headers: printable ASCII without spaces.
TOKEN_PATTERN = r"^[!-~]+$"


class ConnectionIn(StrictBody):
    platform: PlatformName
    store_ref: str = Field(min_length=1, max_length=255, pattern=STORE_REF_PATTERN,
                           description="Shopify shop domain, Square location id, Ecwid store id or Wix site id")
    access_token: str = Field(min_length=1, max_length=4000, pattern=TOKEN_PATTERN)
    signing_secret: str = Field(min_length=1, max_length=8000, description="Shopify/Ecwid client secret, Square "
                                                                           "signature key, Wix public key (PEM)")


class ConnectionOut(BaseModel):
    id: int
    platform: str
    store_ref: str
    status: str
    token_hint: str = Field(description="The token's last 4 characters; the token itself is never returned")
    webhook_url: str
    last_sync_at: datetime | None
    last_error: str | None
    resumes_from_cursor: bool
    is_demo: bool


class SyncRunOut(BaseModel):
    id: int
    kind: str
    outcome: str
    counts: dict[str, Any]
    detail: str | None
    started_at: datetime
    finished_at: datetime | None


class DeliveryOut(BaseModel):
    id: int
    delivery_id: str
    topic: str
    object_id: str | None
    outcome: str
    detail: str | None
    received_at: datetime
    applied_at: datetime | None


class HistoryOut(BaseModel):
    syncs: list[SyncRunOut]
    webhooks: list[DeliveryOut]


class WebhookReceipt(BaseModel):
    outcome: str
