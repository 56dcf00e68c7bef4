"""Store webhooks: verify the platform's signature over the exact bytes, refuse stale timestamps,
record each delivery once (by the platform's delivery id) and apply it idempotently.

Refused deliveries (bad signature, stale timestamp, unreadable body) raise before anything is
written. An accepted delivery is recorded with its outcome: ``applied``, ``stale`` (an older state
than the one already applied, e.g. a late retry), ``ignored`` (nothing of ours) or ``failed`` (the
store could not be read back; the next reconciliation catches up). A delivery id seen before
answers ``duplicate`` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.connections import repository as repo
from mercato.connections import service
from mercato.connections import signatures as sig
from mercato.connections.errors import ConnectionsError
from mercato.connections.models import StoreConnection, WebhookDelivery
from mercato.connections.platforms.base import StoreUnavailable, epoch_ms, quantity, text_of
from mercato.connections.platforms.shopify import map_products
from mercato.connections.platforms.square import SquareStore
from mercato.kit.db import utcnow
from mercato.kit.errors import AppError, NotFound, Unauthorized, ValidationFailed

#: A delivery signed more than this long before (or after) it is received is refused: a replay.
TOLERANCE_SECONDS = 300


class WebhookMalformed(AppError):
    status = 400
    code = ConnectionsError.WEBHOOK_MALFORMED


@dataclass
class Delivery:
    delivery_id: str
    topic: str
    sent_ms: int  # when the platform says it sent the delivery (staleness)
    body: dict[str, Any]
    object_id: str | None = None
    version: int = 0


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WebhookMalformed("The webhook body is not JSON.") from exc
    if not isinstance(body, dict):
        raise WebhookMalformed("The webhook body is not a JSON object.")
    return body


def _bad_signature() -> Unauthorized:
    return Unauthorized("The webhook signature does not match.", code=ConnectionsError.WEBHOOK_SIGNATURE_INVALID)


def _check_fresh(sent_ms: int, now: datetime) -> None:
    if not sent_ms or abs(now.timestamp() * 1000 - sent_ms) > TOLERANCE_SECONDS * 1000:
        raise Unauthorized("The webhook's timestamp is missing or too far from now.",
                           code=ConnectionsError.WEBHOOK_TIMESTAMP_INVALID)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name) or headers.get(name.lower())
    return value.strip() if value else None


def verify(conn: StoreConnection, headers: Mapping[str, str], raw: bytes, url: str, now: datetime) -> Delivery:
    """The platform's signature, then its timestamp; the delivery's id, topic and object."""
    try:
        if conn.platform == "shopify":
            sig.verify_shopify(conn.signing_secret, raw, _header(headers, "x-shopify-hmac-sha256"))
            body = _json(raw)
            delivery = Delivery(
                delivery_id=_header(headers, "x-shopify-webhook-id") or _header(headers, "x-shopify-event-id") or "",
                topic=_header(headers, "x-shopify-topic") or "", body=body,
                sent_ms=epoch_ms(_header(headers, "x-shopify-triggered-at")))
        elif conn.platform == "square":
            sig.verify_square(conn.signing_secret, url, raw, _header(headers, "x-square-hmacsha256-signature"))
            body = _json(raw)
            delivery = Delivery(delivery_id=text_of(body.get("event_id")), topic=text_of(body.get("type")),
                                body=body, sent_ms=epoch_ms(body.get("created_at")))
        elif conn.platform == "ecwid":
            try:  # Ecwid signs fields of the body: a body that cannot be read cannot be verified
                body = _json(raw)
            except WebhookMalformed as exc:
                raise sig.SignatureInvalid("unreadable body") from exc
            created = body.get("eventCreated")
            sig.verify_ecwid(conn.signing_secret, text_of(created), text_of(body.get("eventId")),
                             _header(headers, "x-ecwid-webhook-signature"))
            delivery = Delivery(delivery_id=text_of(body.get("eventId")), topic=text_of(body.get("eventType")),
                                body=body, sent_ms=int(created) * 1000 if isinstance(created, int) else 0,
                                object_id=text_of(body.get("entityId")) or None)
        else:
            claims = sig.verify_rs256_jwt(raw.decode("utf-8", "replace"), conn.signing_secret)
            delivery = _wix_delivery(claims)
    except sig.SignatureInvalid as exc:
        raise _bad_signature() from exc
    if not delivery.delivery_id or not delivery.topic:
        raise WebhookMalformed("The webhook has no delivery id or topic.")
    _check_fresh(delivery.sent_ms, now)
    return delivery


def _wix_delivery(claims: dict[str, object]) -> Delivery:
    """Wix's envelope: claims ``{data, iat, exp}``; ``data`` a JSON string ``{eventType, instanceId,
    data}``; its ``data`` a JSON string ``{id, slug, entityId, eventTime, …}``."""
    try:
        envelope = orjson.loads(text_of(claims.get("data")))
        inner = orjson.loads(text_of(envelope.get("data"))) if isinstance(envelope.get("data"), str) \
            else envelope.get("data") or {}
    except (orjson.JSONDecodeError, AttributeError) as exc:
        raise WebhookMalformed("The Wix event's data is not JSON.") from exc
    if not isinstance(envelope, dict) or not isinstance(inner, dict):
        raise WebhookMalformed("The Wix event's data is not an object.")
    issued = claims.get("iat")
    sent = epoch_ms(inner.get("eventTime")) or (int(issued) * 1000 if isinstance(issued, int) else 0)
    return Delivery(delivery_id=text_of(inner.get("id")), topic=text_of(envelope.get("eventType")),
                    body=inner, sent_ms=sent, object_id=text_of(inner.get("entityId")) or None,
                    version=sent)


# ------------------------------------------------------------------------------ applying


async def _apply(db: AsyncSession, conn: StoreConnection, d: Delivery) -> tuple[str, str | None]:
    shop = await service._shop(db, conn)
    topic = d.topic
    if conn.platform == "shopify":
        if topic in ("products/create", "products/update"):
            page = map_products([d.body], shop.currency)
            if not page.products:
                return "ignored", "; ".join(i.reason for i in page.rejected) or "no product in the body"
            sp = page.products[0]
            d.object_id, d.version = sp.record.external_id, sp.version
            try:
                outcome = await service.apply_store_product(db, conn, shop, sp, sp.version)
            except ValidationFailed as exc:
                return "failed", exc.message
            return ("stale" if outcome == "stale" else "applied"), None
        if topic == "products/delete":
            d.object_id = text_of(d.body.get("id"))
            return await service.archive_store_product(db, conn, d.object_id, d.sent_ms), None
        if topic == "inventory_levels/update":
            d.object_id, d.version = text_of(d.body.get("inventory_item_id")), epoch_ms(d.body.get("updated_at"))
            return await _stock(db, conn, d.object_id, quantity(d.body.get("available")), d.version), None
        if topic in ("fulfillments/create", "fulfillments/update"):
            d.object_id = text_of(d.body.get("order_id"))
            tracking = text_of(d.body.get("tracking_number"))
            if not tracking:
                return "ignored", "no tracking number yet"
            return await service.store_fulfilled(db, conn, d.object_id, text_of(d.body.get("tracking_company")),
                                                 tracking), None
        return "ignored", f"topic {topic} is not used"
    if conn.platform == "square":
        data: dict[str, Any] = d.body["data"] if isinstance(d.body.get("data"), dict) else {}
        obj: dict[str, Any] = data["object"] if isinstance(data.get("object"), dict) else {}
        if topic == "inventory.count.updated":
            outcomes = []
            for count in obj.get("inventory_counts") or []:
                if not isinstance(count, dict) or count.get("state", "IN_STOCK") != "IN_STOCK":
                    continue
                if conn.store_ref and count.get("location_id") not in (None, conn.store_ref):
                    continue
                d.object_id = text_of(count.get("catalog_object_id"))
                d.version = max(d.version, epoch_ms(count.get("calculated_at")))
                outcomes.append(await _stock(db, conn, d.object_id, quantity(count.get("quantity")),
                                             epoch_ms(count.get("calculated_at"))))
            return _overall(outcomes), None
        if topic == "catalog.version.updated":
            d.version = epoch_ms((obj.get("catalog_version") or {}).get("updated_at"))
            return await _square_catalog_changed(db, conn, shop.currency)
        if topic == "order.fulfillment.updated":
            update = obj.get("order_fulfillment_updated") or {}
            d.object_id = text_of(update.get("order_id"))
            store = service.store_for(conn, shop.currency)
            try:
                shipment = await store.order_tracking(d.object_id) if isinstance(store, SquareStore) else None
            except StoreUnavailable as exc:
                return "failed", str(exc)
            if shipment is None:
                return "ignored", "no tracking number yet"
            return await service.store_fulfilled(db, conn, d.object_id, *shipment), None
        return "ignored", f"topic {topic} is not used"
    # Ecwid and Wix send only the entity id: the product is read back from the store.
    if conn.platform == "ecwid" and not topic.startswith("product."):
        return "ignored", f"topic {topic} is not used"
    if conn.platform == "wix" and "product" not in topic.lower():
        return "ignored", f"topic {topic} is not used"
    if not d.object_id:
        return "ignored", "no entity id"
    d.version = d.version or d.sent_ms
    if topic.endswith(("deleted", "_deleted", "Deleted")) or d.body.get("slug") == "deleted":
        return await service.archive_store_product(db, conn, d.object_id, d.version), None
    try:
        fetched = await service.store_for(conn, shop.currency).product(d.object_id)
    except StoreUnavailable as exc:
        return "failed", str(exc)
    if fetched is None:
        return "ignored", "the store no longer has this product"
    try:
        outcome = await service.apply_store_product(db, conn, shop, fetched, fetched.version or d.version)
    except ValidationFailed as exc:
        return "failed", exc.message
    return ("stale" if outcome == "stale" else "applied"), None


def _overall(outcomes: list[str]) -> str:
    if "applied" in outcomes:
        return "applied"
    return "stale" if "stale" in outcomes else "ignored"


async def _stock(db: AsyncSession, conn: StoreConnection, external_id: str, units: int, version: int) -> str:
    links = await repo.links_of_variant(db, conn.id, external_id)
    if not links:
        return "ignored"
    applied = [await service.set_store_stock(db, link, units, version) for link in links]
    await db.flush()
    return "applied" if any(applied) else "stale"


async def _square_catalog_changed(db: AsyncSession, conn: StoreConnection, currency: str) -> tuple[str, str | None]:
    """``catalog.version.updated`` names no object: the catalog is read again from the stored
    cursor (the reconciliation pull), which applies only what is newer than what Mercato has."""
    conn.cursor = None
    run = await service.pull(db, conn, kind="webhook")
    return ("applied" if run.outcome == "done" else "failed"), run.detail


async def receive(db: AsyncSession, connection_id: int, platform: str, headers: Mapping[str, str], raw: bytes,
                  url: str, now: datetime | None = None) -> str:
    """Verify, record once, apply. Answers the outcome (``duplicate`` for a delivery seen before)."""
    conn = await repo.connection(db, connection_id)
    if conn is None or conn.platform != platform or conn.status == "disconnected":
        raise NotFound("No such connection.", code=ConnectionsError.CONNECTION_NOT_FOUND)
    delivery = verify(conn, headers, raw, url, now or datetime.now(UTC))
    if await repo.delivery(db, conn.id, delivery.delivery_id) is not None:
        return "duplicate"
    row = WebhookDelivery(connection_id=conn.id, delivery_id=delivery.delivery_id[:255], topic=delivery.topic[:80],
                          outcome="pending", object_version=0, received_at=utcnow())
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        return "duplicate"  # the same delivery, recorded by a concurrent request
    outcome, detail = await _apply(db, conn, delivery)
    row.outcome, row.detail = outcome, (detail or "")[:500] or None
    row.object_id = (delivery.object_id or "")[:120] or None
    row.object_version = delivery.version
    row.applied_at = utcnow() if outcome == "applied" else None
    await db.flush()
    return outcome


def notification_url(public_base_url: str, platform: str, connection_id: int) -> str:
    """The URL to configure at the platform (Square signs it together with the body)."""
    return f"{public_base_url.rstrip('/')}/api/v1/webhooks/stores/{platform}/{connection_id}"


