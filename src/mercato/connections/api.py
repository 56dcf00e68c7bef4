"""JSON routes of connections: a shop's store connections, their sync and history, and the stores'
webhook endpoints."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response

from mercato.accounts.deps import CurrentUser
from mercato.catalog import shops
from mercato.connections import service, webhooks
from mercato.connections.presenters import connection_out, history_out, sync_out
from mercato.connections.schemas import ConnectionIn, ConnectionOut, HistoryOut, SyncRunOut, WebhookReceipt
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession
from mercato.kit.limits import read_capped

router = APIRouter(prefix="/api/v1", tags=["connections"])

MAX_WEBHOOK_BYTES = 512 * 1024


@router.get("/shops/{slug}/connections", response_model=list[ConnectionOut])
async def list_connections(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings) -> list[ConnectionOut]:
    shop = await shops.member_shop(db, user, slug)
    return [connection_out(c, settings.public_base_url) for c in await service.connections_of_shop(db, shop.id)]


@router.post("/shops/{slug}/connections", response_model=ConnectionOut, status_code=201)
async def create_connection(slug: str, body: ConnectionIn, user: CurrentUser, db: DbSession,
                            settings: AppSettings) -> ConnectionOut:
    """Connect a store with the credentials its platform issued (the owner only). Nothing is pulled
    yet: ``POST …/sync`` pulls the catalog, the reconciliation job keeps pulling."""
    shop = await shops.member_shop(db, user, slug, owner=True)
    conn = await service.connect(db, shop, service.ConnectData(body.platform, body.store_ref, body.access_token,
                                                               body.signing_secret))
    return connection_out(conn, settings.public_base_url)


@router.delete("/shops/{slug}/connections/{connection_id:int}", status_code=204)
async def delete_connection(slug: str, connection_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    shop = await shops.member_shop(db, user, slug, owner=True)
    await service.disconnect(db, await service.connection_for_shop(db, shop, connection_id, connected=True))
    return Response(status_code=204)


@router.post("/shops/{slug}/connections/{connection_id:int}/sync", response_model=SyncRunOut)
async def sync_connection(slug: str, connection_id: PathId, user: CurrentUser, db: DbSession) -> SyncRunOut:
    """Pull the store's catalog now, from where the last pull stopped (its outcome is in the body:
    ``done``, ``partial`` or ``failed``; a failed pull keeps its cursor and resumes next time)."""
    shop = await shops.member_shop(db, user, slug)
    conn = await service.connection_for_shop(db, shop, connection_id, connected=True)
    return sync_out(await service.pull(db, conn))


@router.get("/shops/{slug}/connections/{connection_id:int}/history", response_model=HistoryOut)
async def connection_history(slug: str, connection_id: PathId, user: CurrentUser, db: DbSession) -> HistoryOut:
    shop = await shops.member_shop(db, user, slug)
    conn = await service.connection_for_shop(db, shop, connection_id)
    return history_out(*await service.history(db, conn))


async def _raw_body(request: Request) -> bytes:
    """The exact bytes that were signed, capped (a webhook is small)."""
    return await read_capped(request, MAX_WEBHOOK_BYTES, "The webhook body")


WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unreadable body, or no delivery id or topic (`webhook_malformed`); nothing recorded."},
    401: {"description": "Bad signature (`webhook_signature_invalid`) or a timestamp more than 5 minutes away "
                         "(`webhook_timestamp_invalid`); nothing recorded."},
    404: {"description": "No such connection for this platform (`connection_not_found`)."},
    413: {"description": "The body is larger than a webhook can be; nothing recorded."},
}


@router.post("/webhooks/stores/{platform}/{connection_id:int}", response_model=WebhookReceipt,
             responses=WEBHOOK_RESPONSES,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}}, "text/plain": {"schema": {"type": "string"}}}}})
async def store_webhook(platform: Literal["shopify", "square", "ecwid", "wix"], connection_id: PathId,
                        request: Request, db: DbSession, settings: AppSettings) -> WebhookReceipt:
    """A connected store's webhook, signed per its platform (Shopify ``X-Shopify-Hmac-Sha256``,
    Square ``x-square-hmacsha256-signature``, Ecwid ``X-Ecwid-Webhook-Signature``, Wix a JWT body).
    A redelivery answers ``200`` with ``outcome: duplicate`` and has no effect."""
    raw = await _raw_body(request)
    url = webhooks.notification_url(settings.public_base_url, platform, connection_id)
    return WebhookReceipt(outcome=await webhooks.receive(db, connection_id, platform, request.headers, raw, url))
