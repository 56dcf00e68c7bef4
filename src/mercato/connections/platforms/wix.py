"""Wix Stores: Catalog V1 ``POST /stores/v1/products/query`` (offset paging, variants included) and
``GET /stores/v1/products/{id}``; Catalog V3 ``getProduct`` bodies are mapped too
(:func:`map_v3_product`). No order push (docs/catalog-import.md).

Wix's shapes: the REST API says ``id``, the JS SDK ``_id`` (both read); V1 prices are numbers in
major units (``priceData``), V3 prices decimal strings; V3 variants name their options through
``optionChoiceIds`` resolved against the product's ``options``; ``wix:image://`` media ids are not
URLs and are not imported.
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
    major_price,
    make_client,
    quantity,
    text_of,
)

PAGE_SIZE = 100


def _id(item: dict[str, Any]) -> str:
    return text_of(item.get("id") or item.get("_id"))


def _http_images(media: Any) -> list[str]:
    urls: list[str] = []
    if not isinstance(media, dict):
        return urls
    for entry in [media.get("mainMedia"), *list(media.get("items") or [])]:
        if isinstance(entry, dict):
            url = text_of((entry.get("image") or {}).get("url") if isinstance(entry.get("image"), dict) else "")
            if url.startswith("http") and url not in urls:
                urls.append(url)
    return urls


def map_v1_product(item: dict[str, Any], currency: str) -> StoreProduct:
    external_id = _id(item)
    title = text_of(item.get("name"))
    if not external_id or not title:
        raise RowError("the product has no id or name")
    price_data = item.get("priceData") or item.get("price") or {}
    base_price = price_data.get("price") if isinstance(price_data, dict) else None
    option_names = [text_of(o.get("name")) for o in item.get("productOptions") or [] if isinstance(o, dict)]
    variants: list[ImportedVariant] = []
    stock: dict[str, int] = {}
    raw_variants = [v for v in item.get("variants") or [] if isinstance(v, dict)] or [{"choices": {}, "_id": "0"}]
    for raw in raw_variants:
        choices = {text_of(k): text_of(v) for k, v in (raw.get("choices") or {}).items()}
        detail = raw.get("variant") or {}
        vprice = (detail.get("priceData") or {}).get("price", base_price)
        vid = f"{external_id}:{_id(raw) or '0'}"
        variants.append(ImportedVariant(
            external_id=vid, sku=text_of(detail.get("sku") or item.get("sku")) or None,
            title=variant_title(choices), options=choices, price=major_price(vprice, currency),
            compare_at_price=None, stock=0, weight_grams=None, barcode=None))
        vstock: dict[str, Any] = raw["stock"] if isinstance(raw.get("stock"), dict) else item.get("stock") or {}
        if vstock.get("trackQuantity", vstock.get("trackInventory")) and vstock.get("quantity") is not None:
            stock[vid] = quantity(vstock.get("quantity"))
    record = ImportedProduct(
        external_id=external_id, title=title, description=text_of(item.get("description")),
        status="active" if item.get("visible", True) else "draft", category_path=[], brand=text_of(item.get("brand"))
        or None, tags=[], image_urls=_http_images(item.get("media")), option_names=[n for n in option_names if n],
        variants=variants, attributes={}, source_rows=[0])
    return StoreProduct(record=record, version=epoch_ms(item.get("lastUpdated") or item.get("_updatedDate")),
                        stock=stock)


def map_v3_product(item: dict[str, Any], currency: str) -> StoreProduct:
    """A Catalog V3 ``getProduct`` body (with ``variantsInfo``) -> a record. V3 exposes
    availability, not counts, so the variants' stock is not taken from it."""
    external_id = _id(item)
    title = text_of(item.get("name"))
    if not external_id or not title:
        raise RowError("the product has no id or name")
    names: dict[str, str] = {}
    choices: dict[str, str] = {}
    option_names: list[str] = []
    for option in item.get("options") or []:
        if not isinstance(option, dict):
            continue
        option_names.append(text_of(option.get("name")))
        names[text_of(option.get("_id") or option.get("id"))] = text_of(option.get("name"))
        for choice in (option.get("choicesSettings") or {}).get("choices") or []:
            choices[text_of(choice.get("choiceId"))] = text_of(choice.get("name"))
    variants: list[ImportedVariant] = []
    for raw in (item.get("variantsInfo") or {}).get("variants") or []:
        options: dict[str, str] = {}
        for index, pick in enumerate(raw.get("choices") or []):
            ids = pick.get("optionChoiceIds") or {}
            name = names.get(text_of(ids.get("optionId"))) or (option_names[index] if index < len(option_names)
                                                               else f"Option {index + 1}")
            options[name] = choices.get(text_of(ids.get("choiceId")), text_of(ids.get("choiceId")))
        amount = ((raw.get("price") or {}).get("actualPrice") or {}).get("amount")
        compare = ((raw.get("price") or {}).get("compareAtPrice") or {}).get("amount")
        price = major_price(amount, currency)
        compare_at = major_price(compare, currency) if compare not in (None, "", "0") else None
        variants.append(ImportedVariant(
            external_id=f"{external_id}:{_id(raw)}", sku=text_of(raw.get("sku")) or None,
            title=variant_title(options), options=options, price=price,
            compare_at_price=compare_at if compare_at and compare_at > price else None, stock=0,
            weight_grams=None, barcode=text_of(raw.get("barcode")) or None))
    if not variants:
        raise RowError("the product has no variants (a query result: fetch it with getProduct)")
    record = ImportedProduct(
        external_id=external_id, title=title, description=text_of(item.get("plainDescription")),
        status="active" if item.get("visible", True) else "draft", category_path=[], brand=None, tags=[],
        image_urls=[], option_names=[n for n in option_names if n], variants=variants, attributes={},
        source_rows=[0])
    return StoreProduct(record=record, version=epoch_ms(item.get("updatedDate") or item.get("_updatedDate")))


def map_v1_items(items: list[Any], currency: str) -> CatalogPage:
    products: list[StoreProduct] = []
    rejected: list[RowIssue] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            products.append(map_v1_product(item, currency))
        except RowError as exc:
            rejected.append(RowIssue(0, _id(item) or None, exc.reason))
    return CatalogPage(products=products, rejected=rejected, next_cursor=None)


class WixStore:
    name = "wix"

    def __init__(self, site_id: str, token: str, currency: str, *, api_base: str | None = None,
                 sleep: Sleep | None = None) -> None:
        self.base = (api_base or "https://www.wixapis.com").rstrip("/")
        self.headers = {"Authorization": token, "wix-site-id": site_id, "Accept": "application/json"}
        self.currency = currency
        self.sleep_kw: dict[str, Any] = {"sleep": sleep} if sleep else {}

    async def catalog_page(self, cursor: str | None) -> CatalogPage:
        offset = int(cursor) if cursor and cursor.isdigit() else 0
        body = {"query": {"paging": {"limit": PAGE_SIZE, "offset": offset}}, "includeVariants": True}
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "POST", "/stores/v1/products/query", json=body, **self.sleep_kw)
        answer = json_body(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("products"), list):
            raise StoreUnavailable("the store's answer has no products list")
        page = map_v1_items(answer["products"], self.currency)
        seen = offset + len(answer["products"])
        page.next_cursor = str(seen) if answer["products"] and seen < int(answer.get("totalResults") or 0) else None
        return page

    async def product(self, external_id: str) -> StoreProduct | None:
        async with make_client(self.base, self.headers) as client:
            response = await call(client, "GET", f"/stores/v1/products/{external_id}", **self.sleep_kw)
        answer = json_body(response)
        item = answer.get("product") if isinstance(answer, dict) else None
        if not isinstance(item, dict):
            return None
        try:
            return map_v1_product(item, self.currency)
        except RowError:
            return None

    async def push_order(self, order: PushOrder, idempotency_key: str) -> str:
        raise StoreUnavailable("orders are not pushed to Wix stores")
