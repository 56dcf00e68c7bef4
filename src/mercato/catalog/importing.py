"""Catalog import: persist parsed records idempotently and report on every row (service layer).

Products are matched by ``(shop, external_id)``; variants by external id, then SKU,
then option values. A product whose fields already equal the file's is counted
``unchanged``, so importing the same file twice changes nothing. Image URLs are
recorded, never fetched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import repository as repo
from mercato.catalog.errors import CatalogError
from mercato.catalog.importers import CatalogFormatError, ImportedProduct, ImportedVariant, ParsedCatalog, parse_catalog
from mercato.catalog.models import ImportRun, Product, ProductImage, Shop, Variant
from mercato.catalog.products import brand_for_name, category_for_path, clean_tags, refresh_derived, variant_title
from mercato.kit.errors import NotFound, ValidationFailed

Progress = Callable[[int, int], None]


def _variant_fields(v: ImportedVariant) -> dict[str, Any]:
    return {
        "sku": v.sku or None,
        "external_id": v.external_id,
        "title": v.title or variant_title(v.options),
        "options": dict(v.options),
        "price": v.price,
        "compare_at_price": v.compare_at_price if v.compare_at_price and v.compare_at_price > v.price else None,
        "stock": max(0, v.stock),
        "weight_grams": v.weight_grams,
        "barcode": v.barcode,
    }


def _match(existing: list[Variant], v: ImportedVariant) -> Variant | None:
    for candidate in existing:
        if v.external_id and candidate.external_id == v.external_id:
            return candidate
    for candidate in existing:
        if v.sku and candidate.sku == v.sku:
            return candidate
    for candidate in existing:
        if candidate.options == v.options:
            return candidate
    return None


async def apply_product(db: AsyncSession, shop: Shop, record: ImportedProduct, fmt: str, *,
                        store_owns_stock: bool = False) -> tuple[str, Product]:
    """Create or update one product; returns ``created``, ``updated`` or ``unchanged`` and the
    product. With ``store_owns_stock`` (a connected store) an existing variant's stock is left
    alone: the caller sets it through the inventory service, which never lets a count drop below
    the units Mercato holds for checkouts."""
    category = await category_for_path(db, record.category_path)
    brand = await brand_for_name(db, record.brand)
    fields: dict[str, Any] = {
        "title": record.title[:200],
        "description": record.description,
        "status": record.status if record.status in ("draft", "active", "archived") else "draft",
        "category_id": category.id if category else None,
        "brand_id": brand.id if brand else None,
        "tags": clean_tags(record.tags),
        "attributes": dict(record.attributes),
        "image_urls": list(record.image_urls),
    }
    product = await repo.product_by_external(db, shop.id, record.external_id)
    outcome = "unchanged"
    if product is None:
        product = Product(
            shop_id=shop.id, external_id=record.external_id, source=fmt, currency=shop.currency,
            option_names=list(record.option_names), **fields,
        )
        db.add(product)
        await db.flush()
        outcome = "created"
    else:
        for key, value in fields.items():
            if getattr(product, key) != value:
                setattr(product, key, value)
                outcome = "updated"
    existing = await repo.variants_of(db, product.id)
    for position, v in enumerate(record.variants):
        values = _variant_fields(v)
        current = _match(existing, v)
        if current is None:
            if values["sku"]:
                clash = await repo.variant_by_sku(db, shop.id, values["sku"])
                if clash is not None and clash.product_id != product.id:
                    raise ValidationFailed(
                        f"SKU {values['sku']!r} belongs to another product of this shop.", code=CatalogError.SKU_TAKEN
                    )
            db.add(Variant(product_id=product.id, shop_id=shop.id, currency=shop.currency, position=position, **values))
            outcome = "updated" if outcome == "unchanged" else outcome
        else:
            if store_owns_stock:
                values.pop("stock")
            for key, value in values.items():
                if getattr(current, key) != value:
                    setattr(current, key, value)
                    outcome = "updated" if outcome == "unchanged" else outcome
    await db.flush()
    known_urls = {i.url for i in await repo.images_of(db, product.id) if i.url}
    for position, url in enumerate(record.image_urls):
        if url not in known_urls:
            db.add(ProductImage(product_id=product.id, url=url[:1000], position=100 + position, alt=record.title[:200]))
            known_urls.add(url)
            outcome = "updated" if outcome == "unchanged" else outcome
    if outcome != "unchanged":
        await refresh_derived(db, product)
    return outcome, product


async def run_import(
    db: AsyncSession, shop: Shop, data: bytes, filename: str, *, fmt: str | None = None,
    combinations: bytes | None = None, user_id: int | None = None, progress: Progress | None = None,
) -> ImportRun:
    """Parse and apply a catalog file. Each product is applied in a savepoint: a bad one is
    reported as rejected and the rest still land."""
    try:
        parsed: ParsedCatalog = parse_catalog(data, filename, shop.currency, fmt, combinations=combinations)
    except CatalogFormatError as exc:
        raise ValidationFailed(str(exc), code=CatalogError.UNREADABLE_CATALOG) from exc
    rows: list[dict[str, Any]] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    total = len(parsed.products)
    for index, record in enumerate(parsed.products):
        first_row = record.source_rows[0] if record.source_rows else 0
        reason: str | None = None
        try:
            async with db.begin_nested():
                outcome, _ = await apply_product(db, shop, record, parsed.format)
        except ValidationFailed as exc:
            outcome, reason = "rejected", exc.message
        except IntegrityError:
            outcome, reason = "rejected", "a SKU of this product is used twice or by another product"
        counts[outcome] += 1
        rows.append({"row": first_row, "external_id": record.external_id, "title": record.title,
                     "outcome": outcome, "reason": reason})
        if progress is not None:
            progress(index + 1, total)
    for issue in parsed.rejected:
        counts["rejected"] += 1
        rows.append({"row": issue.row, "external_id": issue.external_id, "title": None,
                     "outcome": "rejected", "reason": issue.reason})
    for issue in parsed.warnings:
        rows.append({"row": issue.row, "external_id": issue.external_id, "title": None,
                     "outcome": "warning", "reason": issue.reason})
    rows.sort(key=lambda r: (r["row"], r["outcome"]))
    run = ImportRun(shop_id=shop.id, user_id=user_id, filename=filename[:255], format=parsed.format,
                    report=rows, **counts)
    db.add(run)
    await repo.recount_shop_products(db, shop.id)
    await db.flush()
    return run


async def import_run_for_member(db: AsyncSession, user_id: int, run_id: int) -> ImportRun:
    """One import run, for a member of its shop only (anyone else gets the same 404 as for a
    run that does not exist, so run ids reveal nothing)."""
    run = await db.get(ImportRun, run_id)
    if run is None or await repo.membership(db, run.shop_id, user_id) is None:
        raise NotFound("No such import.")
    return run
