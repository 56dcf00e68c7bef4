"""Seller Center → Settings → Connections: connect a store, pull now, disconnect, and the history of
pulls and webhooks. Credentials are typed in once and never shown again (a hint of the token only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.deps import CurrentUser
from mercato.catalog import shops
from mercato.catalog.presenters import shop_out
from mercato.connections import service
from mercato.connections.presenters import connection_out, history_out
from mercato.connections.schemas import ConnectionIn
from mercato.kit.errors import AppError
from mercato.kit.http import AppSettings, DbSession
from mercato.web.forms import error_messages, form_data, rollback
from mercato.web.render import redirect, render

if TYPE_CHECKING:
    from mercato.accounts.models import User
    from mercato.catalog.models import Shop

router = APIRouter(prefix="/seller", include_in_schema=False)


async def _context(db: AsyncSession, user: User, shop: Shop, public_base_url: str) -> dict[str, Any]:
    role = await shops.member_role(db, shop, user)
    items = []
    for conn in await service.connections_of_shop(db, shop.id):
        syncs, deliveries = await service.history(db, conn, 20)
        items.append({"c": connection_out(conn, public_base_url), "history": history_out(syncs, deliveries)})
    return {"shop": shop_out(shop, role), "connections": items, "platforms": service.PLATFORMS,
            "store_ref": service.STORE_REF, "secret": service.SECRET}


@router.get("/{slug}/connections", response_class=HTMLResponse)
async def connections_page(request: Request, slug: str, user: CurrentUser, db: DbSession,
                           settings: AppSettings) -> Response:
    shop = await shops.member_shop(db, user, slug)
    return render(request, "connections/connections.html", {
        **await _context(db, user, shop, settings.public_base_url), "values": {},
        "saved": request.query_params.get("saved")}, user=user)


@router.post("/{slug}/connections", response_class=HTMLResponse)
async def connections_submit(request: Request, slug: str, user: CurrentUser, db: DbSession,
                             settings: AppSettings) -> Response:
    shop = await shops.member_shop(db, user, slug)
    form = await form_data(request)
    action = form.get("action", "connect")
    try:
        if action == "connect":
            await shops.require_member(db, user, shop, owner=True)
            body = ConnectionIn(platform=form.get("platform", ""), store_ref=form.get("store_ref", ""),
                                access_token=form.get("access_token", ""),
                                signing_secret=form.get("signing_secret", ""))
            await service.connect(db, shop, service.ConnectData(body.platform, body.store_ref, body.access_token,
                                                                body.signing_secret))
        else:
            conn = await service.connection_for_shop(db, shop, int(form.get("connection_id", "0") or 0)
                                                     if form.get("connection_id", "").isdigit() else 0, connected=True)
            if action == "disconnect":
                await shops.require_member(db, user, shop, owner=True)
                await service.disconnect(db, conn)
            else:
                await service.pull(db, conn)
    except (AppError, ValidationError) as exc:
        message, _ = error_messages(exc)
        await rollback(db, user, shop)
        values = {k: v for k, v in form.items() if k in ("platform", "store_ref")}
        return render(request, "connections/connections.html", {
            **await _context(db, user, shop, settings.public_base_url), "values": values, "error": message},
            user=user, status=422 if isinstance(exc, ValidationError) else getattr(exc, "status", 422))
    return redirect(f"/seller/{shop.slug}/connections?saved={action}")
