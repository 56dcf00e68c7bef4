"""Request bodies of selling in the LIVE room. Amounts are integer minor units."""

from __future__ import annotations

from pydantic import Field, model_validator

from mercato.accounts.schemas import StrictBody
from mercato.kit.fields import BodyId

MAX_PRICE = 10**12


class FlashDealIn(StrictBody):
    variant_id: BodyId
    deal_price: int = Field(strict=True, ge=1, le=MAX_PRICE,
                            description="Strictly below the variant's lowest price of the last 30 days")
    total_units: int = Field(strict=True, ge=1, le=100_000)
    per_buyer_limit: int = Field(strict=True, ge=1, le=99)
    countdown_seconds: int = Field(strict=True, ge=10, le=300, description="Announced this long before it opens")
    duration_minutes: int = Field(strict=True, ge=1, le=20, description="Open this long")

    @model_validator(mode="after")
    def _limit_within_total(self) -> FlashDealIn:
        if self.per_buyer_limit > self.total_units:
            raise ValueError("per_buyer_limit cannot exceed total_units")
        return self


class LiveCouponIn(StrictBody):
    coupon_id: BodyId
    watch_minutes: int | None = Field(default=None, strict=True, ge=1, le=240,
                                      description="Unlocked after watching this many minutes of the LIVE")


class GiveawayIn(StrictBody):
    prize: str = Field(min_length=1, max_length=200)
    winners: int = Field(default=1, strict=True, ge=1, le=100)
