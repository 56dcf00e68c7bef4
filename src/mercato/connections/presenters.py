"""Rows of the connections domain -> API bodies (the pages use the same)."""

from __future__ import annotations

from mercato.connections.models import StoreConnection, SyncRun, WebhookDelivery
from mercato.connections.schemas import ConnectionOut, DeliveryOut, HistoryOut, SyncRunOut
from mercato.connections.webhooks import notification_url


def token_hint(token: str) -> str:
    return f"…{token[-4:]}" if len(token) > 8 else "…"


def connection_out(conn: StoreConnection, public_base_url: str) -> ConnectionOut:
    return ConnectionOut(
        id=conn.id, platform=conn.platform, store_ref=conn.store_ref, status=conn.status,
        token_hint=token_hint(conn.access_token), webhook_url=notification_url(public_base_url, conn.platform, conn.id),
        last_sync_at=conn.last_sync_at, last_error=conn.last_error, resumes_from_cursor=conn.cursor is not None,
        is_demo=conn.is_demo)


def sync_out(run: SyncRun) -> SyncRunOut:
    return SyncRunOut(id=run.id, kind=run.kind, outcome=run.outcome, counts=dict(run.counts or {}), detail=run.detail,
                      started_at=run.started_at, finished_at=run.finished_at)


def delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(id=row.id, delivery_id=row.delivery_id, topic=row.topic, object_id=row.object_id,
                       outcome=row.outcome, detail=row.detail, received_at=row.received_at, applied_at=row.applied_at)


def history_out(syncs: list[SyncRun], deliveries: list[WebhookDelivery]) -> HistoryOut:
    return HistoryOut(syncs=[sync_out(r) for r in syncs], webhooks=[delivery_out(d) for d in deliveries])
