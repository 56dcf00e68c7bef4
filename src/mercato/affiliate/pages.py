"""Affiliate pages (docs/affiliate.md): Seller Center → Affiliate (``/seller/{slug}/affiliate``:
plans, members and requests, invitations, the creator marketplace, sample requests), Creator
Studio → Affiliate (``/studio/affiliate``: the product marketplace, my plans, invitations,
samples, the showcase editor), the public showcase ``/@{handle}/showcase`` and the product page's
fragments (the viewer's "earn X %", the videos and LIVEs featuring it) — fetched apart because
the product page itself is shared between viewers and cached by version.

Plain forms posting an ``action``; a refusal shows the page again with its message and status."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from mercato.accounts.deps import CurrentUser, MaybeUser
from mercato.accounts.service import find_user
from mercato.affiliate import marketplace, memberships, plans, presenters, samples, showcase, touch
from mercato.affiliate import repository as repo
from mercato.affiliate.schemas import PlanIn
from mercato.catalog import presenters as catalog_presenters
from mercato.catalog import repository as catalog_repository
from mercato.catalog import shops
from mercato.catalog.presenters import shop_out
from mercato.content import presenters as content_presenters
from mercato.content import repository as content_repository
from mercato.content.pages import register_templates
from mercato.content.presenters import creator_out
from mercato.kit.errors import AppError, NotFound, ValidationFailed
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.money import MoneyError, parse_amount
from mercato.live import repository as live_repository
from mercato.orders import payflow
from mercato.web.forms import error_messages, form_data, rollback
from mercato.web.render import redirect, render

register_templates(Path(__file__).with_name("templates"))

router = APIRouter(include_in_schema=False)

NOTICES = {
    "created": "Plan created.", "saved": "Plan saved.", "paused": "Plan paused.", "active": "Plan resumed.",
    "ended": "Plan ended.", "invited": "Invitation sent.", "approved": "Approved.", "declined": "Declined.",
    "removed": "Removed.", "joined": "Request sent.", "left": "You left the plan.", "accepted": "Welcome aboard!",
    "sample": "Sample requested.", "added": "Added to your showcase.", "unlisted": "Removed from your showcase.",
}
PAGE = 50


def _percent_bps(text: str) -> int | None:
    text = text.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        return int((Decimal(text) * 100).to_integral_value())
    except InvalidOperation as exc:
        raise ValidationFailed("Give the commission as a percentage, e.g. 12.5.",
                               details={"field": "rate"}) from exc


def _int(form: dict[str, str], name: str) -> int:
    value = form.get(name, "")
    if not value.isdigit():
        raise ValidationFailed("Choose an item from the list.", details={"field": name})
    return int(value)


# --- Seller Center → Affiliate -----------------------------------------------------------------------


async def _seller_context(db: DbSession, user: Any, shop: Any, request: Request, settings: Any) -> dict[str, Any]:
    member = await catalog_repository.membership(db, shop.id, user.id)
    plan_rows = await repo.plans_of_shop(db, shop.id, PAGE, None)
    products = await repo.shop_active_products(db, shop.id, 200)
    q = request.query_params
    found, _nxt = await marketplace.find_creators(
        db, shop, settings, niche=q.get("niche") or None,
        min_followers=int(q["min_followers"]) if q.get("min_followers", "").isdigit() else None,
        region=(q.get("region") or "").upper()[:2] or None, sort="gmv" if q.get("sort") == "gmv" else "followers",
        cursor=None, limit=20)
    return {
        "shop": shop_out(shop, member.role if member else None), "section": "affiliate",
        "plans": await presenters.plan_outs(db, plan_rows),
        "products": products,
        "pending": await presenters.membership_outs(db, await repo.members_of_shop(db, shop.id, "pending", PAGE, None)),
        "invited": await presenters.membership_outs(db, await repo.members_of_shop(db, shop.id, "invited", PAGE, None)),
        "active": await presenters.membership_outs(db, await repo.members_of_shop(db, shop.id, "active", PAGE, None)),
        "samples": await presenters.sample_outs(db, await repo.samples_of_shop(db, shop.id, None, PAGE, None)),
        "creators": found, "search": {k: q.get(k, "") for k in ("niche", "min_followers", "region", "sort")},
        "default_rate": f"{settings.affiliate_default_rate_bps / 100:g}", "values": {}, "error": None,
    }


@router.get("/seller/{slug}/affiliate", response_class=HTMLResponse)
async def seller_affiliate(request: Request, slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                           saved: str | None = None) -> Response:
    shop = await shops.member_shop(db, user, slug)
    ctx = await _seller_context(db, user, shop, request, settings)
    ctx["notice"] = NOTICES.get(saved or "")
    return render(request, "affiliate/seller.html", ctx, user=user)


async def _seller_action(db: DbSession, shop: Any, form: dict[str, str], settings: Any) -> str:
    action = form.get("action", "")
    if action == "create_plan":
        kind = form.get("kind", "open")
        ends = form.get("ends_at", "").strip()
        fee_text = form.get("flat_fee", "").strip()
        try:
            fee = parse_amount(fee_text, shop.currency) if fee_text else None
        except MoneyError as exc:
            raise ValidationFailed("Give the fee as an amount, e.g. 2.50.", details={"field": "flat_fee"}) from exc
        body = PlanIn.model_validate({
            "name": form.get("name", ""), "kind": kind, "scope": form.get("scope", "products"),
            "product_ids": [int(v) for k, v in form.items() if k.startswith("product_") and v.isdigit()],
            "rate_bps": _percent_bps(form.get("rate", "")) if fee is None else None, "flat_fee": fee,
            "requires_approval": form.get("requires_approval") == "on",
            "ends_at": datetime.combine(datetime.fromisoformat(ends).date(), time(23, 59), UTC) if ends else None,
            "description": form.get("description", ""),
        })
        await plans.create_plan(db, shop, name=body.name, kind=body.kind, scope=body.scope,
                                product_ids=body.product_ids, rate_bps=body.rate_bps, flat_fee=body.flat_fee,
                                requires_approval=body.requires_approval, ends_at=body.ends_at,
                                description=body.description)
        return "created"
    if action in ("pause", "resume", "end"):
        plan = await plans.shop_plan(db, shop, _int(form, "plan_id"))
        status = {"pause": "paused", "resume": "active", "end": "ended"}[action]
        await plans.set_status(db, plan, status)
        return status
    if action == "rate":
        plan = await plans.shop_plan(db, shop, _int(form, "plan_id"))
        rate = _percent_bps(form.get("rate", ""))
        if rate is None:
            raise ValidationFailed("Give the new commission.", details={"field": "rate"})
        await plans.update_plan(db, plan, rate_bps=rate, shop=shop)
        return "saved"
    if action == "invite":
        plan = await plans.shop_plan(db, shop, _int(form, "plan_id"))
        ref = form.get("creator", "").strip()
        await memberships.invite(db, shop, plan, int(ref) if ref.isdigit() else ref, form.get("message", ""))
        return "invited"
    if action in ("approve", "decline"):
        await memberships.decide(db, shop, _int(form, "membership_id"), action == "approve", settings)
        return "approved" if action == "approve" else "declined"
    if action == "remove":
        await memberships.remove(db, shop, _int(form, "membership_id"))
        return "removed"
    if action in ("approve_sample", "decline_sample"):
        await samples.decide(db, shop, _int(form, "sample_id"), action == "approve_sample", settings)
        return "approved" if action == "approve_sample" else "declined"
    raise ValidationFailed("Unknown action.", details={"field": "action"})


@router.post("/seller/{slug}/affiliate", response_class=HTMLResponse)
async def seller_affiliate_post(request: Request, slug: str, user: CurrentUser, db: DbSession,
                                settings: AppSettings) -> Response:
    shop = await shops.member_shop(db, user, slug)
    form = await form_data(request)
    try:
        saved = await _seller_action(db, shop, form, settings)
    except (ValidationError, AppError, ValueError) as exc:
        await rollback(db, user)
        shop = await shops.get_shop(db, slug)
        ctx = await _seller_context(db, user, shop, request, settings)
        known = isinstance(exc, (ValidationError, AppError))
        ctx.update({"values": form, "error": error_messages(exc)[0] if known else "Give a valid date."})
        return render(request, "affiliate/seller.html", ctx, user=user,
                      status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/seller/{shop.slug}/affiliate?saved={saved}")


# --- Creator Studio → Affiliate ----------------------------------------------------------------------


async def _studio_context(db: DbSession, user: Any, request: Request) -> dict[str, Any]:
    q = request.query_params
    sort = q.get("sort") or "commission"
    sort = sort if sort in marketplace.SORTS else "commission"
    min_rate = _percent_bps(q.get("min_rate", "")) if q.get("min_rate", "").replace(".", "", 1).isdigit() else None
    category = q.get("category") or None
    try:
        market, _nxt = await marketplace.find_products(db, user.id, category=category, min_rate_bps=min_rate,
                                                       min_price=None, max_price=None, q=q.get("q") or None,
                                                       sort=sort, cursor=None, limit=24)
    except ValidationFailed:
        market = []
    mine = await repo.memberships_of_creator(db, user.id, ["active", "pending"], PAGE, None)
    invited = await repo.memberships_of_creator(db, user.id, ["invited"], PAGE, None)
    active_plans = list((await repo.plans_by_ids(db, [m.plan_id for m in mine if m.status == "active"])).values())
    items, _ = await showcase.page(db, user.id, None, 200)
    promotable = await repo.promotable_products(db, user.id, datetime.now(UTC), 200)
    on_showcase = {p.id for p in items}
    return {
        "studio_section": "affiliate", "market": market,
        "search": {k: q.get(k, "") for k in ("q", "category", "min_rate", "sort")},
        "mine": await presenters.membership_outs(db, mine), "invited": await presenters.membership_outs(db, invited),
        "active_plans": await presenters.plan_outs(db, active_plans, user.id),
        "samples": await presenters.sample_outs(db, await repo.samples_of_creator(db, user.id, PAGE, None)),
        "addresses": await payflow.addresses(db, user, default_first=True),
        "showcase": await catalog_presenters.product_cards(db, items),
        "addable": await catalog_presenters.product_cards(db, [p for p in promotable if p.id not in on_showcase]),
        "variants": await repo.plan_variants(db, [p.id for p in active_plans]),
        "error": None,
    }


@router.get("/studio/affiliate", response_class=HTMLResponse)
async def studio_affiliate(request: Request, db: DbSession, user: MaybeUser, saved: str | None = None) -> Response:
    if user is None:
        return redirect("/login?next=/studio/affiliate")
    ctx = await _studio_context(db, user, request)
    ctx["notice"] = NOTICES.get(saved or "")
    return render(request, "affiliate/studio.html", ctx, user=user)


async def _studio_action(db: DbSession, user: Any, form: dict[str, str], settings: Any) -> str:
    action = form.get("action", "")
    if action == "join":
        member = await memberships.join(db, user, _int(form, "plan_id"), settings, form.get("message", ""))
        return "joined" if member.status == "pending" else "accepted"
    if action == "leave":
        await memberships.leave(db, user, _int(form, "plan_id"))
        return "left"
    if action in ("accept", "decline"):
        await memberships.respond(db, user, _int(form, "membership_id"), action == "accept", settings)
        return "accepted" if action == "accept" else "declined"
    if action == "sample":
        plan_id, variant_id = (int(x) for x in form.get("plan_variant", ":").split(":")) \
            if form.get("plan_variant", "").count(":") == 1 and form["plan_variant"].replace(":", "").isdigit() \
            else (0, 0)
        if not plan_id:
            raise ValidationFailed("Choose a product.", details={"field": "plan_variant"})
        await samples.request(db, user, plan_id=plan_id, variant_id=variant_id, address_id=_int(form, "address_id"),
                              note=form.get("note", ""))
        return "sample"
    if action == "showcase_add":
        await showcase.add(db, user, _int(form, "product_id"), settings)
        return "added"
    if action == "showcase_remove":
        await showcase.remove(db, user, _int(form, "product_id"))
        return "unlisted"
    raise ValidationFailed("Unknown action.", details={"field": "action"})


@router.post("/studio/affiliate", response_class=HTMLResponse)
async def studio_affiliate_post(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    form = await form_data(request)
    try:
        saved = await _studio_action(db, user, form, settings)
    except (ValidationError, AppError) as exc:
        await rollback(db, user)
        ctx = await _studio_context(db, user, request)
        ctx["error"] = error_messages(exc)[0]
        return render(request, "affiliate/studio.html", ctx, user=user,
                      status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/studio/affiliate?saved={saved}")


# --- the showcase ----------------------------------------------------------------------------------


@router.get("/@{handle}/showcase", response_class=HTMLResponse)
async def showcase_page(request: Request, handle: str, db: DbSession, user: MaybeUser,
                        cursor: str | None = None) -> Response:
    """The creator's shop-like showcase; a visit is a touchpoint for the commissions side
    (``touch.showcase_visited``), which may ask for cookies on the answer."""
    creator = await find_user(db, handle)
    products, nxt = await showcase.page(db, creator.id, cursor, 48)
    visit = touch.ShowcaseVisit(db=db, creator_id=creator.id, viewer_id=user.id if user else None,
                                product_ids=[p.id for p in products], request_cookies=dict(request.cookies))
    await touch.showcase_visited(visit)
    response = render(request, "affiliate/showcase.html", {
        "creator": creator_out(creator), "items": await catalog_presenters.product_cards(db, products),
        "next_cursor": nxt, "handle": handle}, user=user)
    for name, value, max_age in visit.cookies:
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax")
    return response


# --- the product page's fragments ----------------------------------------------------------------------


@router.get("/affiliate/fragments/earn/{product_id:int}", response_class=HTMLResponse)
async def earn_fragment(request: Request, product_id: PathId, db: DbSession, user: MaybeUser) -> Response:
    """"Earn X %" for a creator in a plan covering the product (or "join a plan" when one is open to
    them); empty for anyone else."""
    if user is None:
        return HTMLResponse("")
    try:
        view = await memberships.terms_view(db, user, product_id, datetime.now(UTC))
    except NotFound:
        return HTMLResponse("")
    if view["plan_id"] is None and not view["joinable_plan_ids"]:
        return HTMLResponse("")
    return render(request, "affiliate/_earn.html", {"view": view}, user=user)


@router.get("/affiliate/fragments/featuring/{product_id:int}", response_class=HTMLResponse)
async def featuring_fragment(request: Request, product_id: PathId, db: DbSession, user: MaybeUser) -> Response:
    shop_id = (await repo.product_shops(db, [product_id])).get(product_id)
    if shop_id is None:
        raise NotFound("No such product.")
    videos = await content_repository.videos_featuring(db, product_id, 12)
    lives = await live_repository.lives_featuring(db, product_id, shop_id, 6)
    hosts = await live_repository.users_by_ids(db, [live.host_id for live in lives])
    return render(request, "affiliate/_featuring.html", {
        "videos": await content_presenters.video_outs(db, videos, user.id if user else None),
        "lives": [{"id": live.id, "title": live.title, "status": live.status, "host": creator_out(hosts[live.host_id])}
                  for live in lives if live.host_id in hosts],
    }, user=user)
