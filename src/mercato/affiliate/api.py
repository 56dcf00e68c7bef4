"""The affiliate plans API (docs/affiliate.md): the seller's plans, members, invitations, creator
marketplace and sample requests under ``/api/v1/shops/{slug}/affiliate/…``; the creator's product
marketplace, plans, invitations, samples, showcase and terms under ``/api/v1/affiliate/…``; the
public showcase at ``/api/v1/creators/{handle}/showcase``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from mercato.accounts.deps import CurrentUser, MaybeUser
from mercato.accounts.service import find_user
from mercato.affiliate import marketplace, memberships, plans, presenters, samples, showcase, touch
from mercato.affiliate import repository as repo
from mercato.affiliate.errors import AffiliateError
from mercato.affiliate.schemas import (
    AnswerIn,
    CreatorCardPage,
    DecisionIn,
    InviteIn,
    JoinIn,
    MarketPage,
    MembershipOut,
    MembershipPage,
    PlanIn,
    PlanOut,
    PlanPage,
    PlanUpdate,
    SampleIn,
    SampleOut,
    SamplePage,
    ShowcaseIn,
    ShowcasePage,
    TermsOut,
)
from mercato.catalog import presenters as catalog_presenters
from mercato.catalog import shops
from mercato.catalog.schemas import ProductCard
from mercato.content.presenters import creator_out
from mercato.kit.errors import ValidationFailed
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.pagination import clamp_limit, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["affiliate"])

Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]
MemberStatus = Literal["invited", "pending", "active", "declined", "left"]
Money = Annotated[int | None, Query(ge=0, le=10**12)]


def _limit(limit: int | None, settings: Any) -> int:
    return clamp_limit(limit, settings.page_size_default, settings.page_size_max)


def _after_id(cursor: str | None) -> int | None:
    decoded = decode_cursor(cursor, (int,))
    return decoded[0] if decoded else None


def _next(rows: list[Any], limit: int) -> str | None:
    return encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None


# --- the seller's side ------------------------------------------------------------------------------


@router.get("/shops/{slug}/affiliate/plans", response_model=PlanPage)
async def shop_plans(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                     cursor: str | None = None, limit: Limit = None) -> dict[str, Any]:
    """The shop's plans, newest first (shop members)."""
    shop = await shops.member_shop(db, user, slug)
    size = _limit(limit, settings)
    rows = await repo.plans_of_shop(db, shop.id, size + 1, _after_id(cursor))
    return {"items": await presenters.plan_outs(db, rows[:size]), "next_cursor": _next(rows, size)}


@router.post("/shops/{slug}/affiliate/plans", status_code=201, response_model=PlanOut)
async def create_plan(slug: str, body: PlanIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """An open plan (some products or the whole shop, 1–80 %, optional approval) or a targeted
    one (rate or flat fee per item, an end date; creators are invited). 422 ``invalid_commission``,
    ``invalid_plan_products``, ``invalid_end_date``."""
    shop = await shops.member_shop(db, user, slug)
    plan = await plans.create_plan(db, shop, name=body.name, kind=body.kind, scope=body.scope,
                                   product_ids=body.product_ids, rate_bps=body.rate_bps, flat_fee=body.flat_fee,
                                   requires_approval=body.requires_approval, ends_at=body.ends_at,
                                   description=body.description)
    return (await presenters.plan_outs(db, [plan]))[0]


@router.get("/shops/{slug}/affiliate/plans/{plan_id:int}", response_model=PlanOut)
async def shop_plan(slug: str, plan_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    shop = await shops.member_shop(db, user, slug)
    return (await presenters.plan_outs(db, [await plans.shop_plan(db, shop, plan_id)]))[0]


@router.patch("/shops/{slug}/affiliate/plans/{plan_id:int}", response_model=PlanOut)
async def update_plan(slug: str, plan_id: PathId, body: PlanUpdate, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Edit, pause (``status: paused``), resume or end (``ended``: final) a plan. A commission
    change applies from now: a rise to everyone, a cut not to creators promoting the product for
    30 days (``terms_for``)."""
    shop = await shops.member_shop(db, user, slug)
    plan = await plans.shop_plan(db, shop, plan_id)
    await plans.update_plan(db, plan, name=body.name, description=body.description, rate_bps=body.rate_bps,
                            flat_fee=body.flat_fee, requires_approval=body.requires_approval, ends_at=body.ends_at,
                            add_product_ids=body.add_product_ids, remove_product_ids=body.remove_product_ids, shop=shop)
    if body.status is not None and body.status != plan.status:
        await plans.set_status(db, plan, body.status)
    return (await presenters.plan_outs(db, [plan]))[0]


@router.get("/shops/{slug}/affiliate/members", response_model=MembershipPage)
async def shop_members(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                       status: MemberStatus | None = None, cursor: str | None = None,
                       limit: Limit = None) -> dict[str, Any]:
    """Creators in, invited to or asking to join the shop's plans (oldest first)."""
    shop = await shops.member_shop(db, user, slug)
    size = _limit(limit, settings)
    rows = await repo.members_of_shop(db, shop.id, status, size + 1, _after_id(cursor))
    return {"items": await presenters.membership_outs(db, rows[:size]), "next_cursor": _next(rows, size)}


@router.post("/shops/{slug}/affiliate/plans/{plan_id:int}/invitations", status_code=201,
             response_model=MembershipOut)
async def invite(slug: str, plan_id: PathId, body: InviteIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Invite a creator (``creator_id`` or ``handle``): they get a notification and accept or
    decline. 404 ``creator_not_found``; 409 ``already_in_plan``, ``own_shop_plan``, ``plan_not_active``."""
    shop = await shops.member_shop(db, user, slug)
    plan = await plans.shop_plan(db, shop, plan_id)
    ref: str | int
    if body.creator_id is not None:
        ref = body.creator_id
    elif body.handle:
        ref = body.handle
    else:
        raise ValidationFailed("Give the creator's id or handle.", details={"field": "creator_id"})
    member = await memberships.invite(db, shop, plan, ref, body.message)
    return (await presenters.membership_outs(db, [member]))[0]


@router.post("/shops/{slug}/affiliate/members/{membership_id:int}/decision", response_model=MembershipOut)
async def decide_member(slug: str, membership_id: PathId, body: DecisionIn, user: CurrentUser, db: DbSession,
                        settings: AppSettings) -> dict[str, Any]:
    """Approve or decline a creator's request to join (409 ``membership_not_pending``)."""
    shop = await shops.member_shop(db, user, slug)
    member = await memberships.decide(db, shop, membership_id, body.approve, settings)
    return (await presenters.membership_outs(db, [member]))[0]


@router.delete("/shops/{slug}/affiliate/members/{membership_id:int}", response_model=MembershipOut)
async def remove_member(slug: str, membership_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Remove a creator from a plan, or withdraw an invitation."""
    shop = await shops.member_shop(db, user, slug)
    member = await memberships.remove(db, shop, membership_id)
    return (await presenters.membership_outs(db, [member]))[0]


@router.get("/shops/{slug}/affiliate/creators", response_model=CreatorCardPage)
async def find_creators(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                        niche: Annotated[str | None, Query(max_length=40)] = None,
                        min_followers: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
                        region: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
                        sort: Literal["followers", "gmv"] = "followers", cursor: str | None = None,
                        limit: Limit = None) -> dict[str, Any]:
    """The creator marketplace: eligible creators by niche, followers, audience region; with GMV
    driven and audience (age bands, countries)."""
    shop = await shops.member_shop(db, user, slug)
    items, nxt = await marketplace.find_creators(db, shop, settings, niche=niche, min_followers=min_followers,
                                                 region=region, sort=sort, cursor=cursor,
                                                 limit=_limit(limit, settings))
    return {"items": items, "next_cursor": nxt}


@router.get("/shops/{slug}/affiliate/samples", response_model=SamplePage)
async def shop_samples(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                       status: Literal["requested", "approved", "declined"] | None = None,
                       cursor: str | None = None, limit: Limit = None) -> dict[str, Any]:
    shop = await shops.member_shop(db, user, slug)
    size = _limit(limit, settings)
    rows = await repo.samples_of_shop(db, shop.id, status, size + 1, _after_id(cursor))
    return {"items": await presenters.sample_outs(db, rows[:size]), "next_cursor": _next(rows, size)}


@router.post("/shops/{slug}/affiliate/samples/{sample_id:int}/decision", response_model=SampleOut)
async def decide_sample(slug: str, sample_id: PathId, body: DecisionIn, user: CurrentUser, db: DbSession,
                        settings: AppSettings) -> dict[str, Any]:
    """Approve (a zero-price sample order is placed: ``order_id``) or decline. 409
    ``sample_not_requested``, ``out_of_stock``."""
    shop = await shops.member_shop(db, user, slug)
    row = await samples.decide(db, shop, sample_id, body.approve, settings)
    return (await presenters.sample_outs(db, [row]))[0]


# --- the creator's side --------------------------------------------------------------------------


@router.get("/affiliate/marketplace", response_model=MarketPage)
async def product_marketplace(user: CurrentUser, db: DbSession, settings: AppSettings,
                              category: Annotated[str | None, Query(max_length=200)] = None,
                              min_rate_bps: Annotated[int | None, Query(ge=0, le=10_000)] = None,
                              min_price: Money = None, max_price: Money = None,
                              q: Annotated[str | None, Query(max_length=100)] = None,
                              sort: Literal["commission", "price", "sold", "newest"] = "commission",
                              cursor: str | None = None, limit: Limit = None) -> dict[str, Any]:
    """Products of open plans a creator may join, with the plan and the caller's status in it."""
    items, nxt = await marketplace.find_products(db, user.id, category=category, min_rate_bps=min_rate_bps,
                                                 min_price=min_price, max_price=max_price, q=q, sort=sort,
                                                 cursor=cursor, limit=_limit(limit, settings))
    return {"items": items, "next_cursor": nxt}


@router.get("/affiliate/plans/{plan_id:int}", response_model=PlanOut)
async def get_plan(plan_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """An open plan (anyone signed in), or a targeted plan the caller is invited to or in, or a plan
    of the caller's shop."""
    plan = await memberships.visible_plan(db, user, plan_id)
    return (await presenters.plan_outs(db, [plan], user.id))[0]


@router.post("/affiliate/plans/{plan_id:int}/join", status_code=201, response_model=MembershipOut)
async def join_plan(plan_id: PathId, body: JoinIn, user: CurrentUser, db: DbSession,
                    settings: AppSettings) -> dict[str, Any]:
    """Join an open plan: ``active`` at once or ``pending`` approval. 403 ``age_restricted`` (a
    minor), ``not_enough_followers``, ``plan_by_invitation``; 409 ``already_in_plan``,
    ``own_shop_plan``, ``plan_not_active``."""
    member = await memberships.join(db, user, plan_id, settings, body.message)
    return (await presenters.membership_outs(db, [member]))[0]


@router.delete("/affiliate/plans/{plan_id:int}/membership", response_model=MembershipOut)
async def leave_plan(plan_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Leave a plan (or withdraw a pending request)."""
    member = await memberships.leave(db, user, plan_id)
    return (await presenters.membership_outs(db, [member]))[0]


@router.get("/affiliate/memberships", response_model=MembershipPage)
async def my_memberships(user: CurrentUser, db: DbSession, settings: AppSettings,
                         status: MemberStatus | None = None, cursor: str | None = None,
                         limit: Limit = None) -> dict[str, Any]:
    """The caller's plans (``active``), invitations (``invited``), requests (``pending``)…"""
    size = _limit(limit, settings)
    statuses = [status] if status else ["invited", "pending", "active", "declined", "left"]
    rows = await repo.memberships_of_creator(db, user.id, statuses, size + 1, _after_id(cursor))
    return {"items": await presenters.membership_outs(db, rows[:size]), "next_cursor": _next(rows, size)}


@router.post("/affiliate/invitations/{membership_id:int}/answer", response_model=MembershipOut)
async def answer_invitation(membership_id: PathId, body: AnswerIn, user: CurrentUser, db: DbSession,
                            settings: AppSettings) -> dict[str, Any]:
    """Accept (eligibility checked: 403 ``age_restricted``, ``not_enough_followers``) or decline."""
    member = await memberships.respond(db, user, membership_id, body.accept, settings)
    return (await presenters.membership_outs(db, [member]))[0]


@router.get("/affiliate/samples", response_model=SamplePage)
async def my_samples(user: CurrentUser, db: DbSession, settings: AppSettings, cursor: str | None = None,
                     limit: Limit = None) -> dict[str, Any]:
    size = _limit(limit, settings)
    rows = await repo.samples_of_creator(db, user.id, size + 1, _after_id(cursor))
    return {"items": await presenters.sample_outs(db, rows[:size]), "next_cursor": _next(rows, size)}


@router.post("/affiliate/samples", status_code=201, response_model=SampleOut)
async def request_sample(body: SampleIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Ask for a free sample of a plan's product, shipped to an address of the caller's book. 403
    ``product_not_promotable``; 404 ``plan_not_found``, ``address_not_found``; 409
    ``sample_already_requested``, ``plan_not_active``."""
    row = await samples.request(db, user, plan_id=body.plan_id, variant_id=body.variant_id,
                                address_id=body.address_id, note=body.note)
    return (await presenters.sample_outs(db, [row]))[0]


@router.get("/affiliate/showcase", response_model=ShowcasePage)
async def my_showcase(user: CurrentUser, db: DbSession, settings: AppSettings, cursor: str | None = None,
                      limit: Limit = None) -> dict[str, Any]:
    products, nxt = await showcase.page(db, user.id, cursor, _limit(limit, settings))
    return {"creator": creator_out(user), "items": await catalog_presenters.product_cards(db, products),
            "next_cursor": nxt}


@router.post("/affiliate/showcase", status_code=201, response_model=ProductCard)
async def add_to_showcase(body: ShowcaseIn, user: CurrentUser, db: DbSession, settings: AppSettings) -> ProductCard:
    """Put a product on the caller's showcase (idempotent). 403 ``product_not_promotable``; 409
    ``showcase_full``."""
    await showcase.add(db, user, body.product_id, settings)
    products = await repo.products_by_ids(db, [body.product_id])
    return (await catalog_presenters.product_cards(db, list(products.values())))[0]


@router.delete("/affiliate/showcase/{product_id:int}", status_code=204)
async def remove_from_showcase(product_id: PathId, user: CurrentUser, db: DbSession) -> None:
    await showcase.remove(db, user, product_id)


@router.get("/affiliate/terms/{product_id:int}", response_model=TermsOut)
async def my_terms(product_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """What the caller earns promoting the product now, and the open plans covering it."""
    return await memberships.terms_view(db, user, product_id, datetime.now(UTC))


@router.get("/creators/{handle}/showcase", response_model=ShowcasePage)
async def creator_showcase(handle: str, request: Request, response: Response, db: DbSession, settings: AppSettings,
                           viewer: MaybeUser, cursor: str | None = None, limit: Limit = None) -> dict[str, Any]:
    """A creator's showcase (public): buying from it is attributed to them (``touch.register_showcase_visit``)."""
    creator = await find_user(db, handle)
    products, nxt = await showcase.page(db, creator.id, cursor, _limit(limit, settings))
    visit = touch.ShowcaseVisit(db=db, creator_id=creator.id, viewer_id=viewer.id if viewer else None,
                                product_ids=[p.id for p in products], request_cookies=dict(request.cookies))
    await touch.showcase_visited(visit)
    for name, value, max_age in visit.cookies:  # the anonymous visitor's signed token (affiliate money)
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                            secure=settings.secure_cookies)
    return {"creator": creator_out(creator), "items": await catalog_presenters.product_cards(db, products),
            "next_cursor": nxt}


__all__ = ["AffiliateError", "router"]
