"""Request and answer bodies of the affiliate plans API (docs/affiliate.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from mercato.accounts.schemas import StrictBody
from mercato.catalog.schemas import ProductCard
from mercato.content.schemas import CreatorOut
from mercato.kit.fields import BodyId, IsoDateTime

Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Text = Annotated[str, StringConstraints(max_length=500)]
RateBps = Annotated[int, Field(strict=True, ge=100, le=8000, description="Commission in basis points: 100 = 1 %")]
Fee = Annotated[int, Field(strict=True, ge=1, le=10**12, description="Flat fee per item, minor units")]
ProductIds = Annotated[list[BodyId], Field(max_length=500)]


class PlanIn(StrictBody):
    name: Name
    kind: Literal["open", "targeted"]
    scope: Literal["products", "shop"] = "products"
    product_ids: ProductIds = []
    rate_bps: RateBps | None = None
    flat_fee: Fee | None = None
    requires_approval: bool = Field(default=False, strict=True)
    ends_at: IsoDateTime | None = None
    description: Text = ""


class PlanUpdate(StrictBody):
    """Fields left out stay as they are. A new ``rate_bps``/``flat_fee`` is a rate change from now."""

    name: Name | None = None
    description: Text | None = None
    rate_bps: RateBps | None = None
    flat_fee: Fee | None = None
    requires_approval: bool | None = Field(default=None, strict=True)
    ends_at: IsoDateTime | None = None
    add_product_ids: ProductIds = []
    remove_product_ids: ProductIds = []
    status: Literal["active", "paused", "ended"] | None = None


class PlanOut(BaseModel):
    id: int
    shop_id: int
    shop_slug: str
    shop_name: str
    name: str
    description: str
    kind: str
    scope: str
    rate_bps: int | None
    flat_fee: int | None
    currency: str
    commission_display: str
    requires_approval: bool
    status: str
    ends_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    product_ids: list[int]
    members_count: int
    #: the caller's membership status in it (``invited``, ``pending``, ``active``…), null if none
    my_status: str | None = None


class PlanPage(BaseModel):
    items: list[PlanOut]
    next_cursor: str | None = None


class JoinIn(StrictBody):
    message: Text = ""


class InviteIn(StrictBody):
    creator_id: BodyId | None = None
    handle: Annotated[str, StringConstraints(max_length=31)] | None = None
    message: Text = ""


class DecisionIn(StrictBody):
    approve: bool = Field(strict=True)


class AnswerIn(StrictBody):
    accept: bool = Field(strict=True)


class MembershipOut(BaseModel):
    id: int
    plan_id: int
    plan_name: str
    shop_slug: str
    creator: CreatorOut
    status: str
    message: str
    created_at: datetime
    decided_at: datetime | None
    joined_at: datetime | None
    left_at: datetime | None


class MembershipPage(BaseModel):
    items: list[MembershipOut]
    next_cursor: str | None = None


class AudienceOut(BaseModel):
    age_bands: dict[str, int]
    regions: dict[str, int]


class CreatorCardOut(BaseModel):
    creator: CreatorOut
    niche_tags: list[str]
    gmv: int
    currency: str
    audience: AudienceOut


class CreatorCardPage(BaseModel):
    items: list[CreatorCardOut]
    next_cursor: str | None = None


class MarketItemOut(BaseModel):
    product: ProductCard
    plan: PlanOut


class MarketPage(BaseModel):
    items: list[MarketItemOut]
    next_cursor: str | None = None


class SampleIn(StrictBody):
    plan_id: BodyId
    variant_id: BodyId
    address_id: BodyId
    note: Text = ""


class SampleOut(BaseModel):
    id: int
    plan_id: int
    shop_id: int
    product: ProductCard
    variant_id: int
    creator: CreatorOut
    note: str
    status: str
    order_id: int | None
    post_by: datetime | None
    reminded_at: datetime | None
    created_at: datetime
    decided_at: datetime | None


class SamplePage(BaseModel):
    items: list[SampleOut]
    next_cursor: str | None = None


class ShowcaseIn(StrictBody):
    product_id: BodyId


class ShowcasePage(BaseModel):
    creator: CreatorOut
    items: list[ProductCard]
    next_cursor: str | None = None


class TermsOut(BaseModel):
    """What the caller earns promoting a product now (null fields: not in a plan for it)."""

    product_id: int
    may_promote: bool
    plan_id: int | None
    rate_bps: int | None
    flat_fee: int | None
    currency: str | None
    promoting_since: datetime | None
    joinable_plan_ids: list[int]
    commission_display: str | None
