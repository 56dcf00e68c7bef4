"""Magento 2 / Adobe Commerce product CSV (System > Data Transfer > Export, entity "Products").

One row per product and *store view*: the row with an empty ``store_view_code`` holds the
product's default values; rows with a code (``fr``, ``de``…) repeat the SKU with that
store view's translations and are not products of their own. A ``configurable`` product
lists its variations in ``configurable_variations``
(``sku=MH01-XS-Black,size=XS,color=Black|sku=…``) and their labels in
``configurable_variation_labels`` (``size=Size,color=Color``); each variation is a
``simple`` row of the same file, which becomes a variant of the configurable product
rather than a product. ``additional_attributes`` is ``code=value,code=value``.

:func:`product_record` maps one default-scope row (and, for a configurable, its
children's rows) to a record; the CSV parser only indexes the rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .records import (
    ImportedProduct,
    ImportedVariant,
    ParsedCatalog,
    RowError,
    RowIssue,
    clean_barcode,
    compare_at,
    dedupe,
    option_key,
    parse_decimal,
    parse_optional_price,
    parse_price,
    parse_stock,
    ragged_warnings,
    read_csv,
    variant_title,
)

Row = Mapping[str, str]

SELLABLE_TYPES = ("simple", "virtual", "downloadable", "configurable")
UNSUPPORTED = {
    "grouped": "grouped products are not supported: import their simple products instead",
    "bundle": "bundle products are not supported: import their simple products instead",
    "giftcard": "gift cards are not supported",
}
BARCODE_CODES = ("gtin", "ean", "barcode", "upc", "isbn")
BRAND_CODES = ("brand", "manufacturer")

_PAIR = re.compile(r",(?=\s*[A-Za-z0-9_]+\s*=)")


def pairs(text: str) -> dict[str, str]:
    """``code=value,code=value`` -> dict; a comma belongs to the value unless ``code=`` follows it."""
    out: dict[str, str] = {}
    if not text.strip():
        return out
    for part in _PAIR.split(text):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def variations(text: str) -> list[dict[str, str]]:
    """``configurable_variations`` -> one dict per variation (``sku`` plus attribute codes)."""
    return [pairs(entry) for entry in text.split("|") if entry.strip()]


def _status(row: Row) -> str:
    """``product_online`` 1 -> active; 2 (Magento's "disabled") or 0 -> draft."""
    return "active" if row.get("product_online", "1").strip() in ("", "1") else "draft"


def _category(text: str) -> list[str]:
    """The first of ``Default Category/Men/Tops,Default Category/Gear``, without the root category."""
    first = text.split(",")[0].strip()
    parts = [p.strip() for p in first.split("/") if p.strip()]
    return parts[1:]  # a product only in the root category has no category


def _images(row: Row) -> tuple[list[str], list[str]]:
    """``(urls, relative paths)``: only absolute URLs can be recorded; ``/m/h/x.jpg`` lives on the store."""
    candidates = [row.get("base_image", ""), row.get("small_image", ""), row.get("thumbnail_image", "")]
    candidates += row.get("additional_images", "").split(",")
    names = dedupe(c.strip() for c in candidates if c.strip() and c.strip() != "no_selection")
    urls = [n for n in names if n.startswith(("http://", "https://"))]
    return urls, [n for n in names if n not in urls]


def _stock(row: Row) -> tuple[int, str | None]:
    """``qty`` (``100.0000``); out of stock or not managed -> 0."""
    if row.get("is_in_stock", "1").strip() == "0":
        return 0, None
    if row.get("manage_stock", "1").strip() == "0" and row.get("use_config_manage_stock", "0").strip() != "1":
        return 0, None
    return parse_stock(row.get("qty", ""), "qty")


def _price(row: Row, currency: str, attributes: dict[str, str]) -> tuple[int, int | None, list[str]]:
    """``price``, with ``special_price`` as the selling price when it has no date range."""
    regular_text = row.get("price", "")
    regular = parse_price(regular_text, currency, "price")
    special_text = row.get("special_price", "")
    special = parse_optional_price(special_text, currency, "special_price")
    if special is None:
        return regular, None, []
    dates = (row.get("special_price_from_date", "").strip(), row.get("special_price_to_date", "").strip())
    if any(dates):
        attributes["special_price"] = special_text.strip()
        attributes["special_price_dates"] = " - ".join(dates)
        return regular, None, [
            f"special_price {special_text.strip()} is limited to {' - '.join(d or '…' for d in dates)}; "
            "it was not applied (kept in attributes)"
        ]
    compare, problem = compare_at(special, regular, special_text, regular_text)
    if special > regular:
        return regular, None, [f"special_price {special_text.strip()} is above the price; it was ignored"]
    return special, compare, [problem] if problem else []


def _barcode(extra: dict[str, str]) -> tuple[str | None, str | None]:
    for code in BARCODE_CODES:
        if extra.get(code):
            return clean_barcode(extra[code])
    return None, None


def _variant(
    row: Row, currency: str, options: dict[str, str], attributes: dict[str, str]
) -> tuple[ImportedVariant, list[str]]:
    extra = pairs(row.get("additional_attributes", ""))
    price, compare, problems = _price(row, currency, attributes)
    stock, stock_problem = _stock(row)
    barcode, barcode_problem = _barcode(extra)
    problems += [p for p in (stock_problem, barcode_problem) if p]
    if row.get("weight", "").strip():
        parse_decimal(row.get("weight", ""), "weight")
    sku = row.get("sku", "").strip()
    return ImportedVariant(
        external_id=None, sku=sku or None, title=variant_title(options), options=options, price=price,
        compare_at_price=compare, stock=stock, weight_grams=None, barcode=barcode,
    ), problems


def product_record(
    row: Row, number: int, currency: str, children: Mapping[str, tuple[int, Row]]
) -> tuple[ImportedProduct, list[RowIssue], list[RowIssue]]:
    """A default-scope row -> ``(product, rejected variations, warnings)``.

    ``children`` are the file's simple rows by SKU, for a configurable's variations.
    Raises :class:`RowError` when the product cannot be imported.
    """
    sku = row.get("sku", "").strip()
    kind = row.get("product_type", "").strip().lower()
    if kind in UNSUPPORTED:
        raise RowError(UNSUPPORTED[kind])
    if kind not in SELLABLE_TYPES:
        raise RowError(f"product_type '{kind}' is not supported (expected simple, virtual or configurable)")
    name = row.get("name", "").strip()
    if not name:
        raise RowError("missing name")
    extra = pairs(row.get("additional_attributes", ""))
    attributes: dict[str, str] = {}
    for source, target in (("short_description", "short_description"), ("url_key", "url_key"),
                           ("meta_title", "seo_title"), ("meta_description", "seo_description"),
                           ("weight", "weight"), ("country_of_manufacture", "country_of_manufacture")):
        value = row.get(source, "").strip()
        if value:
            attributes[target] = value
    if kind in ("virtual", "downloadable"):
        attributes[kind] = "yes"
    brand = next((extra[c] for c in BRAND_CODES if extra.get(c)), None)
    for code, value in extra.items():
        if code not in BRAND_CODES and code not in BARCODE_CODES and value:
            attributes[code] = value
    urls, relative = _images(row)
    warnings: list[RowIssue] = []
    if relative:
        warnings.append(RowIssue(number, sku, (
            f"{len(relative)} image(s) are paths on the Magento server ({relative[0]}…), not URLs; "
            "they were not imported (export with full image URLs, or add the images after import)"
        )))
    visibility = row.get("visibility", "").strip()
    status = _status(row)
    if visibility.lower() == "not visible individually":
        status = "draft"
        warnings.append(RowIssue(number, sku, "visibility is 'Not Visible Individually'; imported as draft"))
    record = ImportedProduct(
        external_id=sku, title=name, description=row.get("description", "").strip(), status=status,
        category_path=_category(row.get("categories", "")), brand=brand, tags=[], image_urls=urls,
        option_names=[], variants=[], attributes=attributes, source_rows=[number],
    )
    rejected: list[RowIssue] = []
    if kind != "configurable":
        variant, problems = _variant(row, currency, {}, attributes)
        record.variants.append(variant)
        warnings.extend(RowIssue(number, sku, p) for p in problems)
        return record, rejected, warnings
    entries = variations(row.get("configurable_variations", ""))
    if not entries:
        raise RowError("configurable product has no configurable_variations")
    labels = pairs(row.get("configurable_variation_labels", ""))
    codes: list[str] = []
    for entry in entries:
        for code in entry:
            if code != "sku" and code not in codes:
                codes.append(code)
    if not codes:
        raise RowError("configurable_variations names no attributes (expected sku=…,size=…|…)")
    record.option_names = [labels.get(code) or code.replace("_", " ").title() for code in codes]
    seen: dict[tuple[tuple[str, str], ...], str] = {}
    for entry in entries:
        child_sku = entry.get("sku", "").strip()
        where = number
        try:
            if not child_sku:
                raise RowError("a variation in configurable_variations has no sku")
            child = children.get(child_sku)
            if child is None:
                raise RowError(f"variation '{child_sku}' is not a simple product row of this file")
            where = child[0]
            options: dict[str, str] = {}
            for code, label in zip(codes, record.option_names, strict=True):
                value = entry.get(code, "").strip()
                if not value:
                    raise RowError(f"variation '{child_sku}' has no value for '{code}'")
                options[label] = value
            key = option_key(options)
            if key in seen:
                raise RowError(f"variation '{child_sku}' has the same options ({variant_title(options)}) "
                               f"as '{seen[key]}'")
            variant, problems = _variant(child[1], currency, options, {})
        except RowError as exc:
            rejected.append(RowIssue(where, sku, exc.reason))
            continue
        seen[key] = child_sku
        record.variants.append(variant)
        record.source_rows.append(child[0])
        warnings.extend(RowIssue(child[0], sku, f"variation '{child_sku}': {p}") for p in problems)
        if _status(child[1]) != "active":
            warnings.append(RowIssue(child[0], sku, (
                f"variation '{child_sku}' is disabled in Magento; imported as an ordinary variant")))
        child_urls, _ = _images(child[1])
        if child_urls:
            variant.image_url = child_urls[0]
            record.image_urls = dedupe([*record.image_urls, *child_urls])
    if not record.variants:
        raise RowError("none of the configurable product's variations could be imported")
    record.source_rows.sort()
    return record, rejected, warnings


def parse_magento(text: str, currency: str) -> ParsedCatalog:
    """A Magento 2 product export -> products (configurables with their variations as variants)."""
    table = read_csv(text, ",")
    table.require("Magento product CSV", sku=table.column("sku"), product_type=table.column("product_type"),
                  name=table.column("name"), price=table.column("price"))
    rejected: list[RowIssue] = []
    warnings = ragged_warnings(table)
    default_rows: list[tuple[int, dict[str, str]]] = []
    by_sku: dict[str, tuple[int, dict[str, str]]] = {}
    scoped: list[tuple[int, str]] = []
    for row in table.rows:
        values = {k.strip().lower(): v for k, v in row.values.items()}
        sku = values.get("sku", "").strip()
        if values.get("store_view_code", "").strip():
            scoped.append((row.number, sku))
            continue
        if not sku:
            rejected.append(RowIssue(row.number, None, "missing sku"))
            continue
        if sku in by_sku:
            rejected.append(RowIssue(row.number, sku, f"duplicate sku '{sku}': already on row {by_sku[sku][0]}"))
            continue
        by_sku[sku] = (row.number, values)
        default_rows.append((row.number, values))
    for number, sku in scoped:
        if sku not in by_sku:
            rejected.append(RowIssue(number, sku or None, (
                "store-view row without the product's default row (empty store_view_code)")))
    children: dict[str, tuple[int, Row]] = {}
    child_skus: set[str] = set()
    for _, values in default_rows:
        if values.get("product_type", "").strip().lower() == "configurable":
            for entry in variations(values.get("configurable_variations", "")):
                child_sku = entry.get("sku", "").strip()
                if child_sku in by_sku and by_sku[child_sku][1].get("product_type", "").strip().lower() in (
                        "simple", "virtual"):
                    children[child_sku] = by_sku[child_sku]
                    child_skus.add(child_sku)
    products: list[ImportedProduct] = []
    for number, values in default_rows:
        sku = values["sku"].strip()
        if sku in child_skus:
            continue
        try:
            record, bad, notes = product_record(values, number, currency, children)
        except RowError as exc:
            rejected.append(RowIssue(number, sku, exc.reason))
            if values.get("product_type", "").strip().lower() == "configurable":
                rejected.extend(
                    RowIssue(children[c][0], c, f"its configurable product '{sku}' (row {number}) was rejected")
                    for c in dict.fromkeys(e.get("sku", "").strip() for e in variations(
                        values.get("configurable_variations", ""))) if c in children
                )
            continue
        products.append(record)
        rejected.extend(bad)
        warnings.extend(notes)
    return ParsedCatalog(format="magento", products=products, rejected=rejected, warnings=warnings)
