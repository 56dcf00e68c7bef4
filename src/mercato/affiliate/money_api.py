"""JSON routes of affiliate money (``/api/v1``): affiliate links, the creator's commissions (with
CSV export), earnings breakdowns and attribution decisions, the seller's attributed orders; and
the link redirect ``/a/{code}`` (:data:`link_router`, outside the API document)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mercato.accounts.deps import CurrentUser, MaybeUser
from mercato.affiliate import links, reports
from mercato.catalog import shops
from mercato.kit.fields import BodyId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.pagination import clamp_limit

router = APIRouter(prefix="/api/v1", tags=["affiliate"])
link_router = APIRouter(tags=["affiliate"])

Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]
IdQuery = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
Status = Literal["pending", "available", "paid", "reversed"]


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: BodyId | None = None
    showcase: bool = Field(default=False, strict=True)

    @model_validator(mode="after")
    def one_target(self) -> LinkIn:
        if (self.product_id is None) == (not self.showcase):
            raise ValueError("Give either product_id or showcase: true.")
        return self


class LinkOut(BaseModel):
    id: int
    url: str
    product_id: int | None
    showcase: bool
    clicks: int
    created_at: datetime


class TouchpointOut(BaseModel):
    id: int
    kind: str
    at: datetime
    creator_id: int
    product_id: int | None
    video_id: int | None
    live_id: int | None
    rule: str | None


class ProductRef(BaseModel):
    id: int
    title: str


class CommissionOut(BaseModel):
    id: int
    order_id: int
    order_line_id: int
    shop_id: int
    creator_id: int
    amount: int
    original_amount: int
    reversed: int
    currency: str
    status: str
    base: int
    rate_bps: int | None
    flat_fee: int | None
    product: ProductRef
    plan_id: int | None
    video_id: int | None
    live_id: int | None
    created_at: datetime
    released_at: datetime | None
    touchpoint: TouchpointOut | None


class CommissionPage(BaseModel):
    items: list[CommissionOut]
    next_cursor: str | None


class BreakdownRow(BaseModel):
    key: int | None
    currency: str
    pending: int
    available: int
    reversed: int
    orders: int


class BreakdownOut(BaseModel):
    by: str
    items: list[BreakdownRow]


class AttributionOut(BaseModel):
    order_id: int
    order_line_id: int
    product_id: int
    credited_to_you: bool
    rule: str
    decided_at: datetime
    your_touchpoints: list[dict[str, Any]]
    other_touchpoints: int


class AttributionPage(BaseModel):
    items: list[AttributionOut]


def _link_out(link: Any) -> LinkOut:
    return LinkOut(id=link.id, url=links.url_of(link), product_id=link.product_id, showcase=link.product_id is None,
                   clicks=link.clicks, created_at=link.created_at)


@router.post("/affiliate/links", status_code=201, response_model=LinkOut,
             responses={200: {"model": LinkOut, "description": "The caller's link for it already existed"}})
async def create_link(body: LinkIn, user: CurrentUser, db: DbSession, response: Response) -> LinkOut:
    """The caller's link for a product they may promote (own shop or a plan they are in), or for
    their showcase; asking again answers the same link (``200``)."""
    link, created = await links.make_link(db, user.id, body.product_id)
    if not created:
        response.status_code = 200
    return _link_out(link)


@router.get("/affiliate/links", response_model=list[LinkOut])
async def my_links(user: CurrentUser, db: DbSession) -> list[LinkOut]:
    return [_link_out(link) for link in await links.links_of(db, user.id)]


@router.get("/creators/me/commissions", response_model=CommissionPage,
            responses={200: {"content": {"text/csv": {}}}})
async def my_commissions(user: CurrentUser, db: DbSession, status: Status | None = None, order_id: IdQuery = None,
                         product_id: IdQuery = None, cursor: str | None = None, limit: Limit = None,
                         format: Literal["json", "csv"] = "json") -> Any:
    """The caller's commissions, newest first, each with its deciding touchpoint; ``format=csv``
    answers every matching commission as CSV (up to 10,000)."""
    if format == "csv":
        items, _ = await reports.commissions_page(db, creator_id=user.id, status=status, order_id=order_id,
                                                  product_id=product_id, limit=10_000)
        return Response(reports.to_csv(items), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="commissions.csv"'})
    items, nxt = await reports.commissions_page(db, creator_id=user.id, status=status, order_id=order_id,
                                                product_id=product_id, cursor=cursor,
                                                limit=clamp_limit(limit, 50, 200))
    return {"items": items, "next_cursor": nxt}


@router.get("/creators/me/commissions/breakdown", response_model=BreakdownOut)
async def my_breakdown(user: CurrentUser, db: DbSession,
                       by: Literal["product", "plan", "video", "live"] = "product") -> BreakdownOut:
    """Net commissions (after refunds) per product, plan, video or LIVE, by currency and state."""
    rows = await reports.breakdown(db, user.id, by)
    return BreakdownOut(by=by, items=[BreakdownRow(**row) for row in rows])


@router.get("/creators/me/attributions", response_model=AttributionPage)
async def my_attributions(user: CurrentUser, db: DbSession,
                          order_id: Annotated[int, Query(ge=1, le=2**63 - 1)]) -> AttributionPage:
    """Why each line of an order was or was not credited to the caller: the rule and the
    caller's own touchpoints considered (others' are only counted)."""
    items = await reports.attributions_for_creator(db, user.id, order_id)
    return AttributionPage(items=[AttributionOut(**item) for item in items])


@router.get("/shops/{slug}/affiliate/orders", response_model=CommissionPage)
async def shop_attributed_orders(slug: str, user: CurrentUser, db: DbSession, status: Status | None = None,
                                 cursor: str | None = None, limit: Limit = None) -> dict[str, Any]:
    """The shop's attributed order lines with their commissions (shop members)."""
    shop = await shops.member_shop(db, user, slug)
    items, nxt = await reports.commissions_page(db, shop_id=shop.id, status=status, cursor=cursor,
                                                limit=clamp_limit(limit, 50, 200))
    return {"items": items, "next_cursor": nxt}


@link_router.get("/a/{code}", include_in_schema=False)
async def open_link(code: str, request: Request, settings: AppSettings, user: MaybeUser) -> Response:
    """Record the click (a touchpoint) and land on the product page, or the creator's showcase."""
    async with get_database(request).unit_of_work() as db:  # a GET that writes: take the writer
        link, cookies = await links.open_link(db, settings, code, user_id=user.id if user else None,
                                              cookies=request.cookies, at=datetime.now(UTC))
        target = f"/products/{link.product_id}" if link.product_id is not None \
            else await links.showcase_url(db, link.creator_id)
    response = RedirectResponse(target, status_code=302)
    for name, value, max_age in cookies:
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                            secure=settings.secure_cookies)
    return response
