"""Dashboard and home pages: the Creator Studio home (``/studio``) and analytics
(``/studio/analytics``), the Seller Center's analytics (``/seller/{slug}/analytics``) and LIVE
dashboard (``/seller/{slug}/lives/{id}``), the operator console home (``/admin``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts.deps import AdminUser, CurrentUser, MaybeUser
from mercato.analytics.dash import figures, homes, live_board, repository
from mercato.analytics.dash.board import dashboard
from mercato.analytics.dash.periods import PRESETS, last_days, parse_period
from mercato.analytics.dash.service import creator_subject, shop_subject
from mercato.catalog import repository as catalog_repo
from mercato.catalog import shops
from mercato.catalog.presenters import shop_out
from mercato.content.pages import register_templates
from mercato.kit.errors import NotFound
from mercato.kit.fields import PathId
from mercato.kit.http import DbSession
from mercato.live.errors import LiveError
from mercato.web.render import login_redirect, render

router = APIRouter(include_in_schema=False)
register_templates(Path(__file__).resolve().parent / "templates")


@router.get("/studio", response_class=HTMLResponse)
async def studio_home(request: Request, db: DbSession, user: MaybeUser) -> Response:
    if user is None:
        return login_redirect(request)
    home = await homes.studio_home(db, user)
    period = last_days(7)
    subject = await creator_subject(db, user, period)
    big = await figures.big_numbers(db, subject.scope, period, subject.currency, "creator")
    shown = big if any(f.value or f.previous for f in big) else []
    return render(request, "dash/studio_home.html", {"home": home, "figures": shown}, user=user)


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, db: DbSession, user: AdminUser) -> Response:
    return render(request, "dash/admin_home.html", {"home": await homes.admin_home(db)}, user=user)


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < len(text) < 7 else 1


def _day(text: str | None) -> date | None:
    """A date from a form field (an empty or malformed one means "not given")."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _days(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 4 else None


@router.get("/seller/{slug}/analytics", response_class=HTMLResponse)
async def seller_dashboard(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    q = request.query_params
    subject = await shop_subject(db, user, slug)
    period = parse_period(_day(q.get("from")), _day(q.get("to")), _days(q.get("days")))
    d = await dashboard(db, subject, period, by=q.get("by") or "product", sort=q.get("sort") or None,
                        page=_page_number(q.get("page")), csv_base=f"/api/v1/shops/{slug}/analytics/breakdown",
                        today=datetime.now(UTC).date())
    shop = await shops.get_shop(db, slug)
    lives = await repository.lives_of_shop(db, subject.scope.id, 10)
    return render(request, "dash/seller_dashboard.html", {
        "shop": await _shop_nav(db, shop, user), "d": d, "presets": PRESETS,
        "lives": [{"id": i, "title": t, "status": s} for i, t, s in lives]}, user=user)


@router.get("/seller/{slug}/lives/{live_id:int}", response_class=HTMLResponse)
async def seller_live(request: Request, slug: str, live_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    subject = await shop_subject(db, user, slug)
    live = await live_board.watchable_live(db, user, live_id)
    if live.shop_id != subject.scope.id:
        raise NotFound("No such LIVE in this shop.", code=LiveError.LIVE_NOT_FOUND)
    shop = await shops.get_shop(db, slug)
    return render(request, "dash/seller_live.html", {
        "shop": await _shop_nav(db, shop, user), "live": {"id": live.id, "title": live.title, "status": live.status},
    }, user=user)


@router.get("/studio/analytics", response_class=HTMLResponse)
async def creator_dashboard(request: Request, db: DbSession, user: MaybeUser) -> Response:
    if user is None:
        return login_redirect(request)
    q = request.query_params
    period = parse_period(_day(q.get("from")), _day(q.get("to")), _days(q.get("days")))
    currency = q.get("currency")
    subject = await creator_subject(db, user, period, currency if currency and len(currency) == 3 else None)
    d = await dashboard(db, subject, period, by=q.get("by") or "video", sort=q.get("sort") or None,
                        page=_page_number(q.get("page")), csv_base="/api/v1/creators/me/analytics/breakdown",
                        today=datetime.now(UTC).date())
    return render(request, "dash/creator_dashboard.html", {"d": d, "presets": PRESETS}, user=user)


async def _shop_nav(db: DbSession, shop: Any, user: Any) -> Any:
    member = await catalog_repo.membership(db, shop.id, user.id)
    return shop_out(shop, member.role if member else None)
