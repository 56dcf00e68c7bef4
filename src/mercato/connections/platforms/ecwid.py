"""Ecwid REST v3: ``GET /api/v3/{store}/products`` paged by ``offset``/``limit`` (``total`` says when
to stop), ``GET /products/{id}`` for one product (webhooks carry only its id). No order push: Ecwid
orders are not created from Mercato (docs/catalog-import.md).

Ecwid's shapes: prices are JSON numbers in major units; ``unlimited: true`` means the store does
not count the product (Mercato then keeps counting it); ``enabled: false`` products come in as
drafts; names may hold HTML (tags are dropped); ``combinations`` are the variants, their options
given by name and value.
"""

from __future__ import annotations

import html
import re
from typing import Any

from mercato.catalog.importers.records import ImportedProduct, ImportedVariant, RowError, RowIssue, variant_title
from mercato.connections.platforms.base import (
    CatalogPage,
    PushOrder,
    Sleep,
    StoreProduct,
    StoreUnavailable,
    call,
    epoch_ms,
    json_body,
    major_price,
    make_client,
    quantity,
    text_of,
)

PAGE_SIZE = 100
_TAG = re.compile(r"<[^>]+>")


def _plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text)).strip()


def _counted(item: dict[str, Any]) -> int | None:
    if item.get("unlimited") or item.get("quantity") is None:
        return None
    return quantity(item.get("quantity"))


def map_product(item: dict[str, Any], currency: str) -> StoreProduct:
    """One ``GET /products`` item -> a record with its version and counted stock."""
    if item.get("id") is None:
        raise RowError("the product has no id")
    title = _plain(text_of(item.get("name")))
    if not title:
        raise RowError("the product has no name (a disabled product seen through a public token)")
    external_id = str(item["id"])
    stock: dict[str, int] = {}
    variants: list[ImportedVariant] = []
    option_names = [text_of(o.get("name")) for o in item.get("options") or [] if isinstance(o, dict)]
    for combination in item.get("combinations") or []:
        if not isinstance(combination, dict):
            continue
        options = {text_of(o.get("name")): text_of(o.get("value")) for o in combination.get("options") or []
                   if isinstance(o, dict) and text_of(o.get("name"))}
        vid = f"{external_id}:{combination.get('id')}"
        price = combination.get("price", item.get("price"))
        variants.append(ImportedVariant(
            external_id=vid, sku=text_of(combination.get("sku")) or None, title=variant_title(options),
            options=options, price=major_price(price, currency), compare_at_price=None, stock=0,
            weight_grams=None, barcode=None))
        counted = _counted(combination)
        if counted is not None:
            stock[vid] = counted
    if not variants:
        vid = f"{external_id}:0"
        variants.append(ImportedVariant(
            external_id=vid, sku=text_of(item.get("sku")) or None, title="Default", options={},
            price=major_price(item.get("price"), currency), compare_at_price=None, stock=0, weight_grams=None,
            barcode=None))
        counted = _counted(item)
        if counted is not None:
            stock[vid] = counted
        option_names = []
    images = [text_of(item.get("originalImageUrl") or item.get("imageUrl"))]
    images += [text_of(g.get("url") or g.get("originalImageUrl")) for g in item.get("galleryImages") or []
               if isinstance(g, dict)]
    record = ImportedProduct(
        external_id=external_id, title=title, description=text_of(item.get("description")),
        status="active" if item.get("enabled", True) else "draft", category_path=[], brand=None, tags=[],
        image_urls=[url for url in images if url], option_names=[n for n in option_names if n],
        variants=variants, attributes={}, source_rows=[0])
    stamp = item.get("updateTimestamp")
    version = int(stamp) * 1000 if isinstance(stamp, int) else epoch_ms(item.get("updated"))
    return StoreProduct(record=record, version=version, stock=stock)


def map_items(items: list[Any], currency: str) -> CatalogPage:
    products: list[StoreProduct] = []
    rejected: list[RowIssue] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            products.append(map_product(item, currency))
        except RowError as exc:
            rejected.append(RowIssue(0, str(item.get("id")), exc.reason))
    return CatalogPage(products=products, rejected=rejected, next_cursor=None)


class EcwidStore:
    name = "ecwid"

    def __init__(self, store_id: str, token: str, currency: str, *, api_base: str | None = None,
                 sleep: Sleep | None = None) -> None:
        self.base = (api_base or "https://app.ecwid.com").rstrip("/") + f"/api/v3/{store_id}"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.currency = currency
        self.sleep_kw: dict[str, Any] = {"sleep": sleep} if sleep else {}

    async def catalog_page(self, cursor: str | None) -> CatalogPage:
        offset = int(cursor) if cursor and cursor.isdigit() else 0
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "GET", "/products", params={"offset": offset, "limit": PAGE_SIZE},
                                  **self.sleep_kw)
        body = json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise StoreUnavailable("the store's answer has no items list")
        page = map_items(body["items"], self.currency)
        seen = offset + int(body.get("count") or len(body["items"]))
        page.next_cursor = str(seen) if body["items"] and seen < int(body.get("total") or 0) else None
        return page

    async def product(self, external_id: str) -> StoreProduct | None:
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "GET", f"/products/{external_id}", **self.sleep_kw)
        body = json_body(response)
        if not isinstance(body, dict):
            return None
        try:
            return map_product(body, self.currency)
        except RowError:
            return None

    async def push_order(self, order: PushOrder, idempotency_key: str) -> str:
        raise StoreUnavailable("orders are not pushed to Ecwid stores")
