"""Request and response bodies of the analytics API (docs/analytics.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mercato.accounts.schemas import StrictBody
from mercato.kit.events import TrafficSource
from mercato.kit.fields import BodyId

MAX_BEACONS = 100
BeaconKind = Literal["impression", "view", "product_view", "shop_view"]


class BeaconIn(StrictBody):
    id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                    description="The client's id of this event (a UUID): a re-sent beacon counts once")
    kind: BeaconKind
    video_id: BodyId | None = Field(default=None, description="impression, view: the video (or live_id)")
    live_id: BodyId | None = Field(default=None, description="impression, view: the LIVE (or video_id)")
    product_id: BodyId | None = Field(default=None, description="product_view: the product")
    shop_id: BodyId | None = Field(default=None, description="shop_view: the shop")
    watch_ms: int = Field(strict=True, default=0, ge=0, le=24 * 3600 * 1000, description="view: watch time")
    src: TrafficSource | None = Field(default=None, description="Where the viewer found it (default direct)")


class BeaconsIn(StrictBody):
    events: list[BeaconIn] = Field(min_length=1, max_length=MAX_BEACONS)


class BeaconsAccepted(BaseModel):
    accepted: int = Field(description="Beacons received (all valid)")
    recorded: int = Field(description="Beacons that were new (a re-sent id is not recorded again)")


class MoneyOut(BaseModel):
    amount: int = Field(description="Minor units")
    currency: str


class RefundsOut(BaseModel):
    count: int
    amount: int = Field(description="Minor units of the summary's currency")


class SummaryOut(BaseModel):
    start: str = Field(alias="from", description="First day (UTC), inclusive")
    end: str = Field(alias="to", description="Last day (UTC), inclusive")
    orders: int = Field(description="Paid orders")
    gmv: MoneyOut = Field(description="Σ of the paid orders' line totals after discounts (no shipping, no tax)")
    items_sold: int = Field(description="Units in the paid orders")
    product_clicks: int = Field(description="Taps on product cards")
    impressions: int = Field(description="Impressions of the videos whose product card the clicks count")
    ctr: float = Field(description="product_clicks / impressions (0 without impressions), 4 decimals")
    refunds: RefundsOut

    model_config = {"populate_by_name": True}
