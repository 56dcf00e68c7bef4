"""Square Catalog and Inventory APIs: ``POST /v2/catalog/search`` (ITEM objects, cursor paged),
``POST /v2/inventory/counts/batch-retrieve`` for the counts of the page's variations,
``GET /v2/catalog/object/{id}`` for one item, ``POST /v2/orders`` to push an order (Square's own
``idempotency_key`` field).

Square's shapes: the price is on the variation as ``price_money {amount, currency}`` in minor units
(a ``VARIABLE_PRICING`` variation has none: it is rejected, a fixed price is needed to sell it);
``version`` is an epoch-milliseconds integer; counts are decimal strings.
"""

from __future__ import annotations

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
    make_client,
    quantity,
    text_of,
)

API_VERSION = "2025-08-20"
PAGE_SIZE = 100


def map_item(item: dict[str, Any], currency: str) -> ImportedProduct:
    """One ``ITEM`` catalog object -> a record (variations -> variants). ``RowError`` if unusable."""
    data = item.get("item_data")
    if not isinstance(data, dict):
        raise RowError("the object has no item_data")
    name = text_of(data.get("name"))
    if not name:
        raise RowError("the item has no name")
    variants: list[ImportedVariant] = []
    for variation in data.get("variations") or []:
        if not isinstance(variation, dict) or variation.get("is_deleted"):
            continue
        vdata = variation.get("item_variation_data") or {}
        money = vdata.get("price_money")
        if not isinstance(money, dict) or money.get("amount") is None:
            raise RowError(f"variation {variation.get('id')} has variable pricing (no price_money)")
        if text_of(money.get("currency")).upper() not in ("", currency.upper()):
            raise RowError(f"variation {variation.get('id')} is priced in {money.get('currency')}, "
                           f"the shop sells in {currency}")
        vname = text_of(vdata.get("name"))
        options = {"Option": vname} if vname and len(data.get("variations") or []) > 1 else {}
        variants.append(ImportedVariant(
            external_id=str(variation.get("id")), sku=text_of(vdata.get("sku")) or None,
            title=vname or variant_title(options), options=options, price=int(money["amount"]),
            compare_at_price=None, stock=0, weight_grams=None, barcode=text_of(vdata.get("upc")) or None))
    if not variants:
        raise RowError("the item has no sellable variation")
    images = [text_of(url) for url in (data.get("image_urls") or []) if text_of(url)]
    return ImportedProduct(
        external_id=str(item.get("id")), title=name, description=text_of(data.get("description_html"))
        or text_of(data.get("description")), status="archived" if item.get("is_deleted") else "active",
        category_path=[], brand=None, tags=[], image_urls=images,
        option_names=["Option"] if any(v.options for v in variants) else [], variants=variants,
        attributes={}, source_rows=[0])


def map_objects(objects: list[Any], currency: str) -> CatalogPage:
    """A list call's objects (types mixed) -> the ITEMs as records; others are skipped."""
    products: list[StoreProduct] = []
    rejected: list[RowIssue] = []
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") != "ITEM":
            continue
        try:
            record = map_item(obj, currency)
        except RowError as exc:
            rejected.append(RowIssue(0, str(obj.get("id")), exc.reason))
            continue
        version = obj.get("version")
        products.append(StoreProduct(record=record, version=int(version) if isinstance(version, int)
                                     else epoch_ms(obj.get("updated_at")), deleted=bool(obj.get("is_deleted"))))
    return CatalogPage(products=products, rejected=rejected, next_cursor=None)


def apply_counts(products: list[StoreProduct], counts: list[Any], location_id: str | None) -> None:
    """``IN_STOCK`` counts (of the connection's location, when it names one) -> the variants' stock."""
    by_variation: dict[str, int] = {}
    for count in counts:
        if not isinstance(count, dict) or count.get("state", "IN_STOCK") != "IN_STOCK":
            continue
        if location_id and count.get("location_id") not in (None, location_id):
            continue
        key = str(count.get("catalog_object_id"))
        by_variation[key] = by_variation.get(key, 0) + quantity(count.get("quantity"))
    for product in products:
        for variant in product.record.variants:
            if variant.external_id in by_variation:
                product.stock[variant.external_id] = by_variation[variant.external_id]


class SquareStore:
    name = "square"

    def __init__(self, location_id: str, token: str, currency: str, *, api_base: str | None = None,
                 sleep: Sleep | None = None) -> None:
        self.base = (api_base or "https://connect.squareup.com").rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Square-Version": API_VERSION,
                        "Accept": "application/json"}
        self.location_id = location_id
        self.currency = currency
        self.sleep_kw: dict[str, Any] = {"sleep": sleep} if sleep else {}

    async def _counts(self, products: list[StoreProduct]) -> None:
        ids = [v.external_id for p in products for v in p.record.variants if v.external_id]
        if not ids:
            return
        body: dict[str, Any] = {"catalog_object_ids": ids}
        if self.location_id:
            body["location_ids"] = [self.location_id]
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "POST", "/v2/inventory/counts/batch-retrieve", json=body, **self.sleep_kw)
        answer = json_body(response)
        apply_counts(products, answer.get("counts") or [] if isinstance(answer, dict) else [], self.location_id)

    async def catalog_page(self, cursor: str | None) -> CatalogPage:
        body: dict[str, Any] = {"object_types": ["ITEM"], "include_deleted_objects": True, "limit": PAGE_SIZE}
        if cursor:
            body["cursor"] = cursor
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "POST", "/v2/catalog/search", json=body, **self.sleep_kw)
        answer = json_body(response)
        if not isinstance(answer, dict):
            raise StoreUnavailable("the store's answer is not an object")
        page = map_objects(answer.get("objects") or [], self.currency)
        await self._counts(page.products)
        page.next_cursor = text_of(answer.get("cursor")) or None
        return page

    async def product(self, external_id: str) -> StoreProduct | None:
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "GET", f"/v2/catalog/object/{external_id}", **self.sleep_kw)
        answer = json_body(response)
        obj = answer.get("object") if isinstance(answer, dict) else None
        page = map_objects([obj], self.currency)
        if not page.products:
            return None
        await self._counts(page.products)
        return page.products[0]

    async def push_order(self, order: PushOrder, idempotency_key: str) -> str:
        payload = {"idempotency_key": idempotency_key, "order": {
            "location_id": self.location_id, "reference_id": order.number,
            "line_items": [{"catalog_object_id": line.external_variant_id, "quantity": str(line.quantity),
                            "base_price_money": {"amount": line.unit_price, "currency": order.currency}}
                           for line in order.lines],
            "fulfillments": [{"type": "SHIPMENT", "state": "PROPOSED", "shipment_details": {"recipient": {
                "display_name": order.address.get("name"),
                "address": {"address_line_1": order.address.get("line1"), "locality": order.address.get("city"),
                            "postal_code": order.address.get("postal_code"),
                            "country": order.address.get("country")}}}}],
        }}
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "POST", "/v2/orders", json=payload, **self.sleep_kw)
        answer = json_body(response)
        created = answer.get("order") if isinstance(answer, dict) else None
        if not isinstance(created, dict) or not created.get("id"):
            raise StoreUnavailable("the store's answer has no order id")
        return str(created["id"])

    async def order_tracking(self, external_order_id: str) -> tuple[str, str] | None:
        """``(carrier, tracking number)`` of a pushed order's shipment, once Square has them."""
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "GET", f"/v2/orders/{external_order_id}", **self.sleep_kw)
        answer = json_body(response)
        created = answer.get("order") if isinstance(answer, dict) else None
        for fulfillment in (created or {}).get("fulfillments") or []:
            details = fulfillment.get("shipment_details") or {} if isinstance(fulfillment, dict) else {}
            if details.get("tracking_number"):
                return text_of(details.get("carrier")) or "Carrier", text_of(details["tracking_number"])
        return None
