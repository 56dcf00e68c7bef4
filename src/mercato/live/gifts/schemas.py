"""Request bodies of coins and gifts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mercato.kit.fields import BodyId


class CoinPurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pack: str = Field(min_length=1, max_length=40)


class GiftSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gift_id: BodyId
    quantity: int = Field(default=1, ge=1, le=99, strict=True)


class GiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=40, pattern=r"\S")
    coins: int = Field(ge=1, le=1_000_000, strict=True)
    animation: str = Field(min_length=1, max_length=20)
    active: bool = True
    joins_fan_club: bool = False


class GiftUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"\S")
    coins: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    animation: str | None = Field(default=None, min_length=1, max_length=20)
    active: bool | None = None
    joins_fan_club: bool | None = None
