"""Connections: connect a store, pull its catalog, apply its webhooks, push orders to it (service
layer: validate, decide, flush — never commit).

A store's products come in through the catalog's import pipeline
(:func:`mercato.catalog.importing.apply_product`), so a connected product is stored exactly as an
imported one. The store owns the stock of the variants it counts: its count reaches Mercato through
:func:`mercato.inventory.service.set_on_hand`, which never lets a count drop below what Mercato's
buyers hold.

Ordering: every product state carries the platform's version (``StoreProduct.version``) and every
stock count the time it was counted; a link remembers the newest it applied, so a delivery that
arrives late with an older state is recorded ``stale`` and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import importing
from mercato.catalog import products as catalog_products
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Shop
from mercato.catalog.schemas import ProductUpdate
from mercato.connections import repository as repo
from mercato.connections.errors import ConnectionsError
from mercato.connections.models import ConnectionLink, OrderPush, StoreConnection, SyncRun, WebhookDelivery
from mercato.connections.platforms.base import (
    CatalogPage,
    Platform,
    PushLine,
    PushOrder,
    Sleep,
    StoreProduct,
    StoreUnavailable,
)
from mercato.connections.platforms.ecwid import EcwidStore
from mercato.connections.platforms.shopify import ShopifyStore
from mercato.connections.platforms.square import SquareStore
from mercato.connections.platforms.wix import WixStore
from mercato.connections.schemas import STORE_REF_PATTERN, TOKEN_PATTERN
from mercato.inventory import service as inventory
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.orders import lifecycle
from mercato.orders.notify import order_number

PLATFORMS = ("shopify", "square", "ecwid", "wix")
PUSH_PLATFORMS = repo.PUSH_PLATFORMS
#: What ``store_ref`` is, per platform (the form's label and the API's documentation).
STORE_REF = {"shopify": "shop domain (example.myshopify.com)", "square": "location id",
             "ecwid": "store id", "wix": "site id"}
SECRET = {"shopify": "app client secret (signs webhooks)", "square": "webhook signature key",
          "ecwid": "app client secret (signs webhooks)", "wix": "app public key (PEM, verifies webhook JWTs)"}

PUSH_MAX_ATTEMPTS = 8
PUSH_FIRST_DELAY_SECONDS = 30
PUSH_MAX_DELAY_SECONDS = 3600
MAX_PAGES_PER_SYNC = 200


def now_ms(now: datetime | None = None) -> int:
    return int((now or datetime.now(UTC)).timestamp() * 1000)


def store_for(conn: StoreConnection, currency: str, sleep: Sleep | None = None) -> Platform:
    """The platform client of a connection (its calls go through ``base.make_client``)."""
    args: dict[str, Any] = {"api_base": conn.api_base, "sleep": sleep}
    if conn.platform == "shopify":
        return ShopifyStore(conn.store_ref, conn.access_token, currency, **args)
    if conn.platform == "square":
        return SquareStore(conn.store_ref, conn.access_token, currency, **args)
    if conn.platform == "ecwid":
        return EcwidStore(conn.store_ref, conn.access_token, currency, **args)
    return WixStore(conn.store_ref, conn.access_token, currency, **args)


# ------------------------------------------------------------------------------ connect


@dataclass
class ConnectData:
    platform: str
    store_ref: str
    access_token: str
    signing_secret: str
    api_base: str | None = None


async def connect(db: AsyncSession, shop: Shop, data: ConnectData, *, is_demo: bool = False) -> StoreConnection:
    """Connect ``shop`` to a store (one per platform). The credentials are kept, never shown back."""
    if data.platform not in PLATFORMS:
        raise ValidationFailed(f"Unknown platform {data.platform!r}: one of {', '.join(PLATFORMS)}.",
                               code=ConnectionsError.UNKNOWN_PLATFORM, details={"field": "platform"})
    for field in ("store_ref", "access_token", "signing_secret"):
        if not getattr(data, field).strip():
            raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} is required.",
                                   details={"field": field})
    if not re.match(STORE_REF_PATTERN, data.store_ref.strip()):
        raise ValidationFailed("The store id holds letters, digits, '.', '_' and '-' only.",
                               details={"field": "store_ref"})
    if not re.match(TOKEN_PATTERN, data.access_token.strip()):
        raise ValidationFailed("The access token holds printable ASCII characters only, without spaces.",
                               details={"field": "access_token"})
    existing = await repo.connection_of_shop(db, shop.id, data.platform)
    if existing is not None and existing.status != "disconnected":
        raise Conflict(f"This shop is already connected to a {data.platform.title()} store.",
                       code=ConnectionsError.ALREADY_CONNECTED)
    conn = existing or StoreConnection(shop_id=shop.id, platform=data.platform)
    conn.store_ref = data.store_ref.strip()[:255]
    conn.access_token = data.access_token.strip()
    conn.signing_secret = data.signing_secret.strip()
    conn.api_base = (data.api_base or "").strip() or None
    conn.status, conn.cursor, conn.last_error, conn.is_demo = "active", None, None, is_demo
    if existing is None:
        db.add(conn)
    await db.flush()
    return conn


async def connection_for_shop(db: AsyncSession, shop: Shop, connection_id: int, *,
                              connected: bool = False) -> StoreConnection:
    """A connection of ``shop`` (with ``connected``: one not disconnected), else 404."""
    conn = await repo.connection(db, connection_id)
    if conn is None or conn.shop_id != shop.id or (connected and conn.status == "disconnected"):
        raise NotFound("No such connection.", code=ConnectionsError.CONNECTION_NOT_FOUND)
    return conn


async def disconnect(db: AsyncSession, conn: StoreConnection) -> StoreConnection:
    """Stop syncing and pushing; the products stay (as the seller's own), the credentials go."""
    conn.status, conn.access_token, conn.signing_secret, conn.cursor = "disconnected", "", "", None
    await db.flush()
    return conn


async def connections_of_shop(db: AsyncSession, shop_id: int) -> list[StoreConnection]:
    return await repo.connections_of_shop(db, shop_id)


async def history(db: AsyncSession, conn: StoreConnection, limit: int = 30) -> tuple[list[SyncRun],
                                                                                      list[WebhookDelivery]]:
    return await repo.recent_syncs(db, conn.id, limit), await repo.recent_deliveries(db, conn.id, limit)


# ------------------------------------------------------------------------------ applying store state


async def _shop(db: AsyncSession, conn: StoreConnection) -> Shop:
    shop = await db.get(Shop, conn.shop_id)
    if shop is None:  # pragma: no cover - the connection cascades with its shop
        raise NotFound("No such shop.")
    return shop


async def set_store_stock(db: AsyncSession, link: ConnectionLink, units: int, version: int) -> bool:
    """The store counted ``units`` at ``version`` (epoch ms): applied only when newer than the
    count last applied to this variant."""
    if version and version <= link.stock_version:
        return False
    await inventory.set_on_hand(db, link.variant_id, units)
    link.stock_version = version or link.stock_version
    return True


async def apply_store_product(db: AsyncSession, conn: StoreConnection, shop: Shop, sp: StoreProduct,
                              stock_version: int) -> str:
    """Create or update the product a store holds, link its variants, apply its counts. Returns the
    outcome: ``created`` / ``updated`` / ``unchanged`` / ``stale`` (an older state than the one
    applied) / ``rejected`` (the catalog refused it: the reason is raised as ``ValidationFailed``)."""
    links = await repo.links_of_product(db, conn.id, sp.record.external_id)
    newest = max((link.product_version for link in links), default=-1)
    if links and sp.version and sp.version < newest:
        return "stale"
    if links and sp.version and sp.version == newest:
        outcome = "unchanged"
    else:
        if sp.deleted:
            sp.record.status = "archived"
        try:
            async with db.begin_nested():
                outcome, product = await importing.apply_product(db, shop, sp.record, f"{conn.platform}_api",
                                                                 store_owns_stock=True)
        except IntegrityError:
            raise ValidationFailed("a SKU of this product is used by another product of the shop") from None
        by_external = {link.external_variant_id: link for link in links}
        for variant in await catalog_repo.variants_of(db, product.id):
            if not variant.external_id:
                continue
            link = by_external.get(variant.external_id)
            if link is None:
                link = ConnectionLink(connection_id=conn.id, external_product_id=sp.record.external_id,
                                      external_variant_id=variant.external_id, product_id=product.id,
                                      variant_id=variant.id, product_version=0, stock_version=0,
                                      stock_owner="store" if variant.external_id in sp.stock else "mercato")
                db.add(link)
                links.append(link)
            link.product_version = sp.version
            link.inventory_ref = sp.inventory_refs.get(variant.external_id, link.inventory_ref)
        await db.flush()
    for link in links:
        if link.external_variant_id in sp.stock:
            link.stock_owner = "store"
            await set_store_stock(db, link, sp.stock[link.external_variant_id], stock_version)
    await db.flush()
    return outcome


async def archive_store_product(db: AsyncSession, conn: StoreConnection, external_product_id: str,
                                version: int) -> str:
    links = await repo.links_of_product(db, conn.id, external_product_id)
    if not links:
        return "ignored"
    if version and version < max(link.product_version for link in links):
        return "stale"
    product = await catalog_repo.product(db, links[0].product_id)
    if product is not None and product.status != "archived":
        await catalog_products.update_product(db, product, ProductUpdate(status="archived"))
    for link in links:
        link.product_version = max(link.product_version, version)
    await db.flush()
    return "applied"


# ------------------------------------------------------------------------------ pull / reconcile


async def pull(db: AsyncSession, conn: StoreConnection, *, kind: str = "pull", sleep: Sleep | None = None,
               max_pages: int = MAX_PAGES_PER_SYNC) -> SyncRun:
    """Page through the store's catalog from the stored cursor (a pull interrupted by a failure
    resumes where it stopped) and apply every product. The cursor is flushed after each page, so
    the pages done are kept even when a later page fails. A pass that started at the beginning and
    reached the end also archives linked products the store no longer lists (a missed delete)."""
    shop = await _shop(db, conn)
    store = store_for(conn, shop.currency, sleep)
    run = SyncRun(connection_id=conn.id, kind=kind, outcome="failed", counts={}, started_at=utcnow())
    db.add(run)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0, "archived": 0, "pages": 0}
    problems: list[str] = []
    full_pass = conn.cursor is None
    seen: set[str] = set()
    cursor = conn.cursor
    while counts["pages"] < max_pages:
        try:
            page = await store.catalog_page(cursor)
        except StoreUnavailable as exc:
            conn.status, conn.last_error = "error", str(exc)[:500]
            run.outcome = "partial" if counts["pages"] else "failed"
            run.detail = f"stopped at page {counts['pages'] + 1}: {exc}"[:500]
            break
        await apply_page(db, conn, shop, page, counts, problems, seen)
        counts["pages"] += 1
        cursor = page.next_cursor
        conn.cursor = cursor
        await db.flush()
        if cursor is None:
            if full_pass:
                for external_id in sorted({link.external_product_id for link in
                                           await repo.links_of_connection(db, conn.id)} - seen):
                    if await archive_store_product(db, conn, external_id, 0) == "applied":
                        counts["archived"] += 1
            conn.status, conn.last_error, conn.last_sync_at = "active", None, utcnow()
            run.outcome = "done"
            if problems:
                run.detail = "; ".join(problems)[:500]
            break
    else:
        run.outcome = "partial"
        run.detail = f"stopped after {max_pages} pages; the next pull resumes from there"
    run.counts = counts
    run.finished_at = utcnow()
    await repo_recount(db, shop.id)
    await db.flush()
    return run


async def apply_page(db: AsyncSession, conn: StoreConnection, shop: Shop, page: CatalogPage,
                     counts: dict[str, int], problems: list[str], seen: set[str]) -> None:
    """Apply one page of the store's catalog, counting outcomes; its counts are as of now."""
    counted_at = now_ms()
    for sp in page.products:
        seen.add(sp.record.external_id)
        try:
            outcome = await apply_store_product(db, conn, shop, sp, counted_at)
        except ValidationFailed as exc:
            outcome = "rejected"
            problems.append(f"{sp.record.external_id}: {exc.message}")
        counts[outcome] += 1
    for issue in page.rejected:
        counts["rejected"] += 1
        problems.append(f"{issue.external_id}: {issue.reason}")


async def import_page(db: AsyncSession, conn: StoreConnection, page: CatalogPage, kind: str = "pull") -> SyncRun:
    """Apply a catalog page the caller already holds (the demo's sandbox store) as one sync."""
    shop = await _shop(db, conn)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "stale": 0, "rejected": 0, "archived": 0, "pages": 1}
    problems: list[str] = []
    await apply_page(db, conn, shop, page, counts, problems, set())
    run = SyncRun(connection_id=conn.id, kind=kind, outcome="done", counts=counts,
                  detail="; ".join(problems)[:500] or None, started_at=utcnow(), finished_at=utcnow())
    db.add(run)
    conn.last_sync_at = utcnow()
    await repo_recount(db, shop.id)
    await db.flush()
    return run


async def repo_recount(db: AsyncSession, shop_id: int) -> None:
    await catalog_repo.recount_shop_products(db, shop_id)


async def reconcile_all(db: AsyncSession, limit: int = 20) -> int:
    """The periodic reconciliation: pull every connection (active or in error, not the demo's)."""
    done = 0
    for conn in await repo.syncable_connections(db, limit):
        await pull(db, conn, kind="reconcile")
        done += 1
    return done


# ------------------------------------------------------------------------------ order push


def push_delay(attempts: int) -> timedelta:
    """Back-off after ``attempts`` failed attempts: 30 s, 1 min, 2 min … capped at an hour."""
    return timedelta(seconds=min(PUSH_MAX_DELAY_SECONDS, PUSH_FIRST_DELAY_SECONDS * 2 ** max(0, attempts - 1)))


def push_key(connection_id: int, order_id: int) -> str:
    """Stable across retries, so the store recognises a repeated push as the same order."""
    return f"mercato-order-{order_id}-c{connection_id}"


async def enqueue_pushes(db: AsyncSession, now: datetime | None = None, limit: int = 100) -> int:
    """A push row for every paid order holding a connected product of a store that takes orders."""
    moment = now or utcnow()
    pairs = await repo.orders_to_push(db, limit)
    for order_id, connection_id in pairs:
        db.add(OrderPush(connection_id=connection_id, order_id=order_id, idempotency_key=push_key(connection_id,
                         order_id), status="pending", attempts=0, next_attempt_at=moment))
    await db.flush()
    return len(pairs)


async def _push_order(db: AsyncSession, push: OrderPush, conn: StoreConnection) -> PushOrder:
    order = await lifecycle.order_by_id(db, push.order_id)
    lines = await lifecycle.lines_of(db, push.order_id)
    links = {link.variant_id: link for link in await repo.links_of_variants(db, [line.variant_id for line in lines])
             if link.connection_id == conn.id}
    # The importer makes a Shopify variant id shared by two products unique as "{id}:{n}".
    out = [PushLine(external_variant_id=links[line.variant_id].external_variant_id.split(":")[0]
                    if conn.platform == "shopify" else links[line.variant_id].external_variant_id,
                    external_product_id=links[line.variant_id].external_product_id,
                    quantity=line.quantity - line.refunded_quantity, unit_price=line.unit_price, title=line.title)
           for line in lines if line.variant_id in links and line.quantity > line.refunded_quantity]
    return PushOrder(order_id=order.id, number=order_number(order.id), currency=order.currency, lines=out,
                     address=dict(order.address or {}))


async def attempt_push(db: AsyncSession, push: OrderPush, now: datetime | None = None) -> str:
    """One attempt: ``pushed``, ``pending`` (retried after :func:`push_delay`) or ``failed``
    (gave up after :data:`PUSH_MAX_ATTEMPTS`)."""
    moment = now or utcnow()
    conn = await repo.connection(db, push.connection_id)
    if conn is None or conn.status == "disconnected":
        push.status, push.last_error, push.next_attempt_at = "failed", "the store was disconnected", None
        await db.flush()
        return push.status
    shop = await _shop(db, conn)
    push.attempts += 1
    try:
        payload = await _push_order(db, push, conn)
        external_id = await store_for(conn, shop.currency).push_order(payload, push.idempotency_key)
    except StoreUnavailable as exc:
        push.last_error = str(exc)[:500]
        if push.attempts >= PUSH_MAX_ATTEMPTS:
            push.status, push.next_attempt_at = "failed", None
        else:
            push.next_attempt_at = moment + push_delay(push.attempts)
    else:
        push.status, push.external_order_id, push.pushed_at = "pushed", external_id, moment
        push.next_attempt_at, push.last_error = None, None
    await db.flush()
    return push.status


async def push_due(db: AsyncSession, now: datetime | None = None, limit: int = 20) -> int:
    moment = now or utcnow()
    handled = await enqueue_pushes(db, moment)
    for push in await repo.due_pushes(db, moment, limit):
        await attempt_push(db, push, moment)
        handled += 1
    return handled


async def pushes_of_order(db: AsyncSession, order_id: int) -> list[tuple[OrderPush, StoreConnection | None]]:
    return [(push, await repo.connection(db, push.connection_id)) for push in await repo.pushes_of_order(db, order_id)]


async def store_fulfilled(db: AsyncSession, conn: StoreConnection, external_order_id: str, carrier: str,
                          tracking: str) -> str:
    """The store shipped an order Mercato pushed: the Mercato order is marked shipped with its
    tracking (through the orders service), once."""
    push = await repo.push_of_external(db, conn.id, external_order_id)
    if push is None:
        return "ignored"
    order = await lifecycle.order_by_id(db, push.order_id)
    if order.status != "paid":
        return "ignored"
    await lifecycle.ship(db, order, None, carrier[:60] or "Carrier", tracking[:80])
    return "applied"
