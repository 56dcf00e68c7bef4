"""OpenCart 3.x / 4.x, read from a MySQL dump of its database (``mysqldump`` or phpMyAdmin export).

OpenCart has no standard product export file, so the catalog is read where OpenCart keeps
it: ``oc_product`` and the tables around it (descriptions per language, categories,
manufacturers, images, options, specials). The dump is read with
:mod:`.mysql_dump`, no MySQL server needed; any table prefix works (``oc_`` by default).

OpenCart stores every text HTML-escaped (``&lt;p&gt;``, ``Apple Cinema 30&quot;``): names
and descriptions are unescaped once, giving the HTML the store showed.

Options: ``select``, ``radio`` and ``image`` options are choices a buyer makes, so they
become variants (every combination; price = base ± each value's delta). ``checkbox``
(add-ons) and input options (``text``, ``file``, ``date``…) have no Mercato equivalent
and are not imported (a warning says so). :func:`product_record` maps one product, given
the looked-up tables, to a record.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mercato.kit.money import exponent

from .mysql_dump import Value, read_tables
from .records import (
    CatalogFormatError,
    ImportedProduct,
    ImportedVariant,
    ParsedCatalog,
    RowError,
    RowIssue,
    clean_barcode,
    compare_at,
    dedupe,
    parse_decimal,
    parse_price,
    parse_stock,
    split_list,
    to_grams,
    variant_title,
)

Row = Mapping[str, Value]

CHOICE_TYPES = ("select", "radio", "image")
BARCODE_COLUMNS = ("upc", "ean", "jan", "isbn")
NO_DATE = ("", "0000-00-00")
_PREFIX = re.compile(r"insert\s+into\s+`?(\w*?)product_description`?", re.IGNORECASE)

TABLES = (
    "product", "product_description", "product_to_category", "product_image", "product_option",
    "product_option_value", "product_special", "product_discount", "product_attribute", "product_code",
    "category", "category_description", "manufacturer", "option", "option_description",
    "option_value_description", "attribute_description", "weight_class_description", "language", "setting",
)


def table_prefix(text: str) -> str | None:
    """The table prefix of an OpenCart dump (``oc_``), or None if it holds no product descriptions."""
    match = _PREFIX.search(text)
    return match.group(1) if match else None


def _s(row: Row, key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value).strip()


def _text(row: Row, key: str) -> str:
    """A text column as the store shows it (OpenCart saves them HTML-escaped)."""
    return html.unescape(_s(row, key))


@dataclass
class Catalog:
    """The dump's tables indexed for per-product look-ups (language and customer group chosen)."""

    language_id: str
    customer_group_id: str
    descriptions: dict[str, Row] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)  # product id -> category ids
    category_parent: dict[str, str] = field(default_factory=dict)
    category_name: dict[str, str] = field(default_factory=dict)
    manufacturers: dict[str, str] = field(default_factory=dict)
    images: dict[str, list[str]] = field(default_factory=dict)
    options: dict[str, list[Row]] = field(default_factory=dict)  # product id -> product_option rows
    option_values: dict[str, list[Row]] = field(default_factory=dict)  # product_option id -> value rows
    option_type: dict[str, str] = field(default_factory=dict)
    option_name: dict[str, str] = field(default_factory=dict)
    value_name: dict[str, str] = field(default_factory=dict)
    specials: dict[str, list[Row]] = field(default_factory=dict)
    discounts: dict[str, list[Row]] = field(default_factory=dict)
    attributes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    weight_unit: dict[str, str] = field(default_factory=dict)

    def category_path(self, product_id: str) -> list[str]:
        ids = self.categories.get(product_id, [])
        if not ids:
            return []
        path: list[str] = []
        current, seen = ids[0], set()
        while current and current != "0" and current not in seen:
            seen.add(current)
            path.append(self.category_name.get(current, current))
            current = self.category_parent.get(current, "0")
        return list(reversed(path))


def _by(rows: list[dict[str, Value]], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(_s(row, key), []).append(row)
    return out


def _index(tables: dict[str, list[dict[str, Value]]], prefix: str) -> tuple[Catalog, dict[str, str]]:
    def t(name: str) -> list[dict[str, Value]]:
        return tables.get(prefix + name, [])

    settings = {_s(r, "key"): _s(r, "value") for r in t("setting") if _s(r, "store_id") in ("", "0")}
    code = settings.get("config_language") or settings.get("config_language_catalog") or ""
    languages = sorted(t("language"), key=lambda r: int(_s(r, "language_id") or 0))
    chosen = next((r for r in languages if _s(r, "code") == code), languages[0] if languages else None)
    used = sorted({_s(r, "language_id") for r in t("product_description")}, key=lambda v: int(v or 0))
    language_id = _s(chosen, "language_id") if chosen else (used[0] if used else "1")
    if language_id not in used and used:
        language_id = used[0]
    cat = Catalog(language_id=language_id, customer_group_id=settings.get("config_customer_group_id") or "1")

    def mine(row: Row) -> bool:
        return _s(row, "language_id") in ("", language_id)

    cat.descriptions = {_s(r, "product_id"): r for r in t("product_description") if mine(r)}
    for r in t("product_to_category"):
        cat.categories.setdefault(_s(r, "product_id"), []).append(_s(r, "category_id"))
    cat.category_parent = {_s(r, "category_id"): _s(r, "parent_id") for r in t("category")}
    cat.category_name = {_s(r, "category_id"): _text(r, "name") for r in t("category_description") if mine(r)}
    cat.manufacturers = {_s(r, "manufacturer_id"): _text(r, "name") for r in t("manufacturer")}
    for product_id, rows in _by(t("product_image"), "product_id").items():
        ordered = sorted(rows, key=lambda r: (int(_s(r, "sort_order") or 0), int(_s(r, "product_image_id") or 0)))
        cat.images[product_id] = [_s(r, "image") for r in ordered if _s(r, "image")]
    cat.options = _by(t("product_option"), "product_id")
    cat.option_values = _by(t("product_option_value"), "product_option_id")
    cat.option_type = {_s(r, "option_id"): _s(r, "type").lower() for r in t("option")}
    cat.option_name = {_s(r, "option_id"): _text(r, "name") for r in t("option_description") if mine(r)}
    cat.value_name = {
        _s(r, "option_value_id"): _text(r, "name") for r in t("option_value_description") if mine(r)
    }
    group = cat.customer_group_id
    cat.specials = _by([r for r in t("product_special") if _s(r, "customer_group_id") == group], "product_id")
    cat.discounts = _by([r for r in t("product_discount") if _s(r, "customer_group_id") == group], "product_id")
    attribute_names = {_s(r, "attribute_id"): _text(r, "name") for r in t("attribute_description") if mine(r)}
    for r in t("product_attribute"):
        if mine(r):
            name = attribute_names.get(_s(r, "attribute_id"), f"attribute {_s(r, 'attribute_id')}")
            cat.attributes.setdefault(_s(r, "product_id"), []).append((name, _text(r, "text")))
    for r in t("product_code"):
        cat.codes.setdefault(_s(r, "product_id"), {})[_s(r, "code").lower()] = _s(r, "value")
    cat.weight_unit = {
        _s(r, "weight_class_id"): _s(r, "unit").lower() for r in t("weight_class_description") if mine(r)
    }
    return cat, settings


def _signed(prefix: str, amount: int, label: str) -> int:
    if prefix in ("", "+"):
        return amount
    if prefix == "-":
        return -amount
    raise RowError(f"{label} has price_prefix '{prefix}' (expected + or -)")


def _special(product_id: str, cat: Catalog, currency: str, warnings: list[str],
             attributes: dict[str, str]) -> tuple[int | None, str]:
    """The special price the store's default customer group pays (lowest priority, then price).

    OpenCart 4.1 keeps specials in ``product_discount`` as rows for a quantity of 1.
    A special limited by dates is not applied (kept in attributes, with a warning).
    """
    candidates = list(cat.specials.get(product_id, []))
    candidates += [r for r in cat.discounts.get(product_id, []) if int(_s(r, "quantity") or 0) <= 1]
    tiers = [r for r in cat.discounts.get(product_id, []) if int(_s(r, "quantity") or 0) > 1]
    if tiers:
        listed = ", ".join(f"{_s(r, 'quantity')}+: {_s(r, 'price')}"
                           for r in sorted(tiers, key=lambda r: int(_s(r, "quantity") or 0)))
        attributes["quantity_discounts"] = listed
        warnings.append(f"quantity discounts ({listed}) are not applied; kept in attributes")
    if not candidates:
        return None, ""
    best = min(candidates, key=lambda r: (int(_s(r, "priority") or 0), parse_price(_s(r, "price"), currency,
                                                                                     "special price")))
    start, end = _s(best, "date_start"), _s(best, "date_end")
    if start not in NO_DATE or end not in NO_DATE:
        attributes["special_price"] = _s(best, "price")
        attributes["special_price_dates"] = f"{start} - {end}"
        warnings.append(f"special price {_s(best, 'price')} runs from {start} to {end}; it was not applied "
                        "(kept in attributes)")
        return None, ""
    return parse_price(_s(best, "price"), currency, "special price"), _s(best, "price")


def product_record(product: Row, cat: Catalog, currency: str, row: int) -> tuple[ImportedProduct, list[str]]:
    """One ``oc_product`` row -> ``(product, warnings)``; :class:`RowError` if it cannot be imported."""
    product_id = _s(product, "product_id")
    if not product_id:
        raise RowError("missing product_id")
    description = cat.descriptions.get(product_id, {})
    title = _text(description, "name")
    if not title:
        raise RowError(f"product has no name in language {cat.language_id} (product_description)")
    warnings: list[str] = []
    attributes: dict[str, str] = {}
    for key, target in (("model", "model"), ("mpn", "mpn"), ("location", "location")):
        if _s(product, key):
            attributes[target] = _s(product, key)
    if _text(description, "meta_title") and _text(description, "meta_title") != title:
        attributes["seo_title"] = _text(description, "meta_title")
    if _text(description, "meta_description"):
        attributes["seo_description"] = _text(description, "meta_description")
    for name, value in cat.attributes.get(product_id, []):
        attributes[name] = value
    master = _s(product, "master_id")
    if master and master != "0":
        attributes["variant_of"] = f"opencart:{master}"
    price_text = _s(product, "price")
    base = parse_price(price_text, currency, "price")
    special, special_text = _special(product_id, cat, currency, warnings, attributes)
    tracked = _s(product, "subtract") != "0"
    product_stock, problem = parse_stock(_s(product, "quantity"), "quantity")
    if problem:
        warnings.append(problem)
    if not tracked:
        product_stock = 0
        warnings.append("OpenCart does not subtract stock for this product (subtract = 0); imported with stock 0")
    unit = cat.weight_unit.get(_s(product, "weight_class_id"), "kg")
    weight_value = parse_decimal(_s(product, "weight"), "weight")
    grams = to_grams(weight_value, unit) if weight_value else None
    codes = cat.codes.get(product_id, {})
    barcode_text = next((v for v in [*(_s(product, c) for c in BARCODE_COLUMNS),
                                     *(codes.get(c, "") for c in (*BARCODE_COLUMNS, "gtin"))] if v), "")
    barcode, barcode_problem = clean_barcode(barcode_text)
    if barcode_problem:
        warnings.append(barcode_problem)
    sku = _s(product, "sku") or codes.get("sku", "") or _s(product, "model")

    dimensions: list[tuple[str, list[Row]]] = []
    skipped: list[str] = []
    for option in sorted(cat.options.get(product_id, []), key=lambda r: int(_s(r, "product_option_id") or 0)):
        option_id = _s(option, "option_id")
        name = cat.option_name.get(option_id, f"Option {option_id}")
        values = cat.option_values.get(_s(option, "product_option_id"), [])
        if cat.option_type.get(option_id) in CHOICE_TYPES and values:
            dimensions.append((name, sorted(values, key=lambda r: int(_s(r, "product_option_value_id") or 0))))
        else:
            skipped.append(f"{name} ({cat.option_type.get(option_id, 'unknown type')})")
    if skipped:
        warnings.append(f"option(s) {', '.join(skipped)} have no Mercato equivalent (add-ons or buyer input); "
                        "not imported")
    images = dedupe([_s(product, "image"), *cat.images.get(product_id, [])])
    record = ImportedProduct(
        external_id=f"opencart:{product_id}", title=title,
        description=_text(description, "description"),
        status="active" if _s(product, "status") == "1" else "draft",
        category_path=cat.category_path(product_id),
        brand=cat.manufacturers.get(_s(product, "manufacturer_id")) or None,
        tags=split_list(_text(description, "tag")),
        image_urls=[i for i in images if i.startswith(("http://", "https://"))],
        option_names=[name for name, _ in dimensions], variants=[], attributes=attributes, source_rows=[row],
    )
    if not dimensions:
        price, compare, problem = _prices(base, special, price_text, special_text)
        if problem:
            warnings.append(problem)
        record.variants.append(ImportedVariant(
            external_id=None, sku=sku or None, title="Default", options={}, price=price, compare_at_price=compare,
            stock=product_stock, weight_grams=grams, barcode=barcode,
        ))
        return record, warnings
    if len(dimensions) > 1:
        warnings.append("OpenCart counts stock per option value, not per combination: each combination got the "
                        "smallest quantity of its values (check stock after import)")
    for combo in itertools.product(*[values for _, values in dimensions]):
        options: dict[str, str] = {}
        delta, weight_delta, stocks = 0, 0, []
        for (name, _), picked in zip(dimensions, combo, strict=True):
            label = cat.value_name.get(_s(picked, "option_value_id"), f"value {_s(picked, 'option_value_id')}")
            options[name] = label
            delta += _signed(_s(picked, "price_prefix"), parse_price(_s(picked, "price"), currency, "option price"),
                             f"option value '{label}'")
            weight_delta += _signed(_s(picked, "weight_prefix"), to_grams(
                parse_decimal(_s(picked, "weight"), "option weight"), unit) or 0, f"option value '{label}'")
            if _s(picked, "subtract") == "1":
                units, problem = parse_stock(_s(picked, "quantity"), f"quantity of '{label}'")
                stocks.append(0 if problem else units)
        price_before = base + delta
        selling = (special + delta) if special is not None else price_before
        if selling < 0:
            raise RowError(f"option combination {variant_title(options)} has a negative price")
        price, compare, _ = _prices(price_before, selling if special is not None else None, "", "")
        stock = min(stocks) if stocks else product_stock
        record.variants.append(ImportedVariant(
            external_id="+".join(_s(v, "product_option_value_id") for v in combo), sku=None,
            title=variant_title(options), options=options, price=price, compare_at_price=compare,
            stock=stock if tracked or stocks else 0,
            weight_grams=(grams or 0) + weight_delta if (grams or weight_delta) else None, barcode=None,
        ))
    if sku:
        attributes.setdefault("model", sku)
    return record, warnings


def _prices(base: int, special: int | None, base_text: str, special_text: str) -> tuple[int, int | None, str | None]:
    if special is None:
        return base, None, None
    if special > base:
        return base, None, f"special price {special_text} is above the price {base_text}; it was ignored"
    compare, problem = compare_at(special, base, special_text, base_text)
    return special, compare, problem


def parse_opencart(text: str, currency: str) -> ParsedCatalog:
    """An OpenCart database dump -> one product per ``oc_product`` row (variants from its choice options)."""
    exponent(currency)
    prefix = table_prefix(text)
    if prefix is None:
        raise CatalogFormatError("the SQL dump has no OpenCart product data (no INSERT INTO `oc_product_description`)")
    tables = read_tables(text, {prefix + name for name in TABLES})
    products_rows = tables.get(prefix + "product", [])
    if not products_rows:
        raise CatalogFormatError(f"the SQL dump has no rows for `{prefix}product`")
    cat, settings = _index(tables, prefix)
    store_currency = settings.get("config_currency", "").upper()
    if store_currency and store_currency != currency.upper():
        raise CatalogFormatError(
            f"the OpenCart store's prices are in {store_currency} but this shop sells in {currency.upper()}: "
            "import it into a shop with that currency"
        )
    products: list[ImportedProduct] = []
    rejected: list[RowIssue] = []
    warnings: list[RowIssue] = []
    relative_images = 0
    for number, row in enumerate(products_rows, start=1):
        ident = f"opencart:{_s(row, 'product_id')}" if _s(row, "product_id") else None
        try:
            record, notes = product_record(row, cat, currency, number)
        except RowError as exc:
            rejected.append(RowIssue(number, ident, exc.reason))
            continue
        products.append(record)
        warnings.extend(RowIssue(number, ident, note) for note in notes)
        product_id = _s(row, "product_id")
        relative_images += sum(
            1 for i in dedupe([_s(row, "image"), *cat.images.get(product_id, [])])
            if not i.startswith(("http://", "https://"))
        )
    if relative_images:
        warnings.append(RowIssue(0, None, (
            f"{relative_images} image(s) are files on the OpenCart server (catalog/…), not URLs, and were not "
            "imported: add the images after import"
        )))
    return ParsedCatalog(format="opencart", products=products, rejected=rejected, warnings=warnings)
