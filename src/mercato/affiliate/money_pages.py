"""Web pages of affiliate money: Creator Studio → Affiliate → "My links" and "Commissions"
(each commission with the touchpoint that decided it), and Seller Center → Affiliate →
"Attributed orders"."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts.deps import CurrentUser, MaybeUser
from mercato.affiliate import links, reports
from mercato.catalog import shops
from mercato.config import Settings
from mercato.content.pages import register_templates
from mercato.kit.errors import AppError
from mercato.kit.http import AppSettings, DbSession
from mercato.web.forms import error_messages, form_data, require_csrf
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")

RULE_LABELS = {"last_click": "Last click", "last_view": "Last view (no click)", "live_purchase": "Bought in your LIVE",
               "live_own_shop": "Your own shop's LIVE", "none_eligible": "No eligible touchpoint",
               "no_touchpoint": "No touchpoint"}
KIND_LABELS = {"link_click": "Affiliate link click", "card_click": "Video product card", "share": "Share link",
               "showcase_view": "Showcase visit", "live": "LIVE purchase"}


def _base(settings: Settings) -> str:
    """Absolute links start with the configured public address, never the request's ``Host``."""
    return settings.public_base_url.rstrip("/")


@router.get("/studio/affiliate/links", response_class=HTMLResponse)
async def links_page(request: Request, db: DbSession, user: MaybeUser, settings: AppSettings,
                     error: str | None = None) -> Response:
    if user is None:
        return redirect("/login?next=/studio/affiliate/links")
    mine = await links.links_of(db, user.id)
    products = await reports.product_titles(db, [link.product_id for link in mine if link.product_id is not None])
    rows = [{"url": _base(settings) + links.url_of(link), "clicks": link.clicks, "id": link.id,
             "target": products.get(link.product_id, f"Product {link.product_id}") if link.product_id is not None
             else "Your showcase"} for link in mine]
    return render(request, "affiliate/links.html", {"studio_section": "affiliate", "links": rows, "error": error},
                  user=user)


@router.post("/studio/affiliate/links")
async def make_link(request: Request, db: DbSession, user: CurrentUser, settings: AppSettings) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    target = form.get("product_id", "").strip()
    try:
        if target == "showcase":
            await links.make_link(db, user.id, None)
        elif target.isdigit() and 0 < int(target) < 2**63:
            await links.make_link(db, user.id, int(target))
        else:
            return await links_page(request, db, user, settings, error="Enter a product number.")
    except AppError as exc:
        message, _ = error_messages(exc)
        await db.rollback()
        return await links_page(request, db, user, settings, error=message)
    return redirect("/studio/affiliate/links")


@router.get("/studio/affiliate/commissions", response_class=HTMLResponse)
async def commissions_page(request: Request, db: DbSession, user: MaybeUser) -> Response:
    if user is None:
        return redirect("/login?next=/studio/affiliate/commissions")
    items, _ = await reports.commissions_page(db, creator_id=user.id, limit=100)
    return render(request, "affiliate/commissions.html", {
        "studio_section": "affiliate", "items": items, "rules": RULE_LABELS, "kinds": KIND_LABELS,
        "seller": False}, user=user)


@router.get("/seller/{slug}/affiliate/orders", response_class=HTMLResponse)
async def seller_orders(slug: str, request: Request, db: DbSession, user: CurrentUser) -> Response:
    shop = await shops.member_shop(db, user, slug)
    items, _ = await reports.commissions_page(db, shop_id=shop.id, limit=100)
    return render(request, "affiliate/commissions.html", {
        "items": items, "rules": RULE_LABELS, "kinds": KIND_LABELS, "seller": True, "shop_name": shop.name},
        user=user)
