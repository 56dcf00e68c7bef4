"""Shopify Admin REST: ``GET /admin/api/{version}/products.json`` paged by the ``Link`` header's
``page_info``, one product by id, orders pushed with ``POST /orders.json``.

The product bodies are those of ``products.json``, so the mapping is the catalog's own Shopify
JSON importer (one source of truth for Shopify's fields).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from mercato.catalog.importers.shopify_json import parse_shopify_json
from mercato.connections.platforms.base import (
    CatalogPage,
    PushOrder,
    Sleep,
    StoreProduct,
    StoreUnavailable,
    call,
    epoch_ms,
    json_body,
    make_client,
    quantity,
)
from mercato.kit.money import to_decimal

API_VERSION = "2024-07"
PAGE_SIZE = 250
_NEXT = re.compile(r'<[^>]*[?&]page_info=([^&>]+)[^>]*>;\s*rel="next"')


def map_products(items: list[dict[str, Any]], currency: str) -> CatalogPage:
    """``product`` objects -> records with their versions (``updated_at``) and stock counts."""
    parsed = parse_shopify_json(orjson.dumps(items).decode(), currency)
    by_id = {str(item.get("id")): item for item in items if isinstance(item, dict)}
    products: list[StoreProduct] = []
    for record in parsed.products:
        item = by_id.get(record.external_id, {})
        raw_by_id = {str(raw.get("id")): raw for raw in item.get("variants") or [] if isinstance(raw, dict)}
        stock: dict[str, int] = {}
        refs: dict[str, str] = {}
        for variant in record.variants:
            raw = raw_by_id.get((variant.external_id or "").split(":")[0])
            if raw is None or not variant.external_id:
                continue
            if raw.get("inventory_management") and raw.get("inventory_quantity") is not None:
                stock[variant.external_id] = quantity(raw.get("inventory_quantity"))
            if raw.get("inventory_item_id") is not None:
                refs[variant.external_id] = str(raw["inventory_item_id"])
        record.variants = [v for v in record.variants if v.external_id]
        products.append(StoreProduct(record=record, version=epoch_ms(item.get("updated_at")), stock=stock,
                                     inventory_refs=refs))
    return CatalogPage(products=products, rejected=parsed.rejected, next_cursor=None)


def next_page_info(link_header: str) -> str | None:
    match = _NEXT.search(link_header or "")
    return match.group(1) if match else None


class ShopifyStore:
    name = "shopify"

    def __init__(self, shop_domain: str, token: str, currency: str, *, api_base: str | None = None,
                 sleep: Sleep | None = None) -> None:
        self.base = (api_base or f"https://{shop_domain}").rstrip("/") + f"/admin/api/{API_VERSION}"
        self.headers = {"X-Shopify-Access-Token": token, "Accept": "application/json"}
        self.currency = currency
        self.sleep_kw: dict[str, Any] = {"sleep": sleep} if sleep else {}

    async def catalog_page(self, cursor: str | None) -> CatalogPage:
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if cursor:
            params["page_info"] = cursor
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "GET", "/products.json", params=params, default_wait=2.0, **self.sleep_kw)
        body = json_body(response)
        items = body.get("products") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise StoreUnavailable("the store's answer has no products list")
        page = map_products(items, self.currency)
        page.next_cursor = next_page_info(response.headers.get("link", ""))
        return page

    async def product(self, external_id: str) -> StoreProduct | None:
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "GET", f"/products/{external_id}.json", default_wait=2.0, **self.sleep_kw)
        body = json_body(response)
        item = body.get("product") if isinstance(body, dict) else None
        if not isinstance(item, dict):
            return None
        page = map_products([item], self.currency)
        return page.products[0] if page.products else None

    async def push_order(self, order: PushOrder, idempotency_key: str) -> str:
        """The order is created already paid (Mercato took the payment), inventory decremented by
        Shopify; the key travels as ``Idempotency-Key`` and as a note attribute, so a retried push
        is recognisable in the store."""
        payload = {"order": {
            "line_items": [{"variant_id": int(line.external_variant_id) if line.external_variant_id.isdigit()
                            else line.external_variant_id, "quantity": line.quantity,
                            "price": str(to_decimal(line.unit_price, order.currency))} for line in order.lines],
            "currency": order.currency, "financial_status": "paid", "source_name": "mercato",
            "inventory_behaviour": "decrement_obeying_policy",
            "note_attributes": [{"name": "mercato_order", "value": order.number},
                                {"name": "idempotency_key", "value": idempotency_key}],
            "shipping_address": _address(order.address),
        }}
        async with make_client(self.base, {**self.headers, "Idempotency-Key": idempotency_key}) as client:
            response = await call(client, "POST", "/orders.json", json=payload, default_wait=2.0, **self.sleep_kw)
        body = json_body(response)
        created = body.get("order") if isinstance(body, dict) else None
        if not isinstance(created, dict) or created.get("id") is None:
            raise StoreUnavailable("the store's answer has no order id")
        return str(created["id"])


def _address(address: dict[str, Any]) -> dict[str, Any]:
    return {"name": address.get("name"), "address1": address.get("line1"), "address2": address.get("line2"),
            "city": address.get("city"), "zip": address.get("postal_code"), "country_code": address.get("country"),
            "province": address.get("region")}
