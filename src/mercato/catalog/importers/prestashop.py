"""PrestaShop CSV import files: products (+ optional combinations = variants).

Both are semicolon-delimited by default; decimals may use a comma (``12,50``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from .records import (
    CsvRow,
    CsvTable,
    ImportedProduct,
    ImportedVariant,
    ParsedCatalog,
    RowError,
    RowIssue,
    clean,
    clean_barcode,
    dedupe,
    option_key,
    parse_decimal,
    parse_price,
    parse_signed_price,
    parse_stock,
    ragged_warnings,
    read_csv,
    split_list,
    to_grams,
    variant_title,
)

COMBINATIONS_PREFIX = "(combinations file) "
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_ATTRIBUTE_TYPES = ("select", "radio", "color")


def _num(text: str) -> str:
    """PrestaShop decimals may use a comma: ``"12,50"`` -> ``"12.50"`` (no thousands separators)."""
    stripped = text.strip()
    return stripped.replace(",", ".") if _DECIMAL_COMMA.match(stripped) else stripped


@dataclass
class _Entry:
    row: int
    product: ImportedProduct
    price: int
    weight_kg: Decimal | None
    single: ImportedVariant
    single_problems: list[str]
    combination_rows: int = 0
    seen: dict[tuple[tuple[str, str], ...], int] = field(default_factory=dict)
    names_row: int = 0


def parse_prestashop(text: str, currency: str, combinations: str | None = None) -> ParsedCatalog:
    table = read_csv(text)
    c = {
        "id": table.column("Product ID"),
        "active": table.column("Active (0/1)", "Active"),
        "name": table.column("Name *", "Name"),
        "categories": table.column("Categories (x,y,z...)", "Categories"),
        "price_excl": table.column("Price tax excluded", "Price tax excl."),
        "price_incl": table.column("Price tax included", "Price tax incl."),
        "reference": table.column("Reference #", "Reference"),
        "supplier_reference": table.column("Supplier reference #", "Supplier reference"),
        "supplier": table.column("Supplier"),
        "manufacturer": table.column("Manufacturer"),
        "ean13": table.column("EAN13"),
        "upc": table.column("UPC"),
        "mpn": table.column("MPN"),
        "weight": table.column("Weight"),
        "quantity": table.column("Quantity"),
        "summary": table.column("Summary", "Short description"),
        "description": table.column("Description"),
        "tags": table.column("Tags (x,y,z...)", "Tags"),
        "images": table.column("Image URLs (x,y,z...)", "Image URLs"),
        "visibility": table.column("Visibility"),
        "condition": table.column("Condition"),
        "features": table.column("Feature(Name:Value:Position)", "Feature"),
        "discount_amount": table.column("Discount amount"),
        "discount_percent": table.column("Discount percent"),
        "discount_from": table.column("Discount from (yyyy-mm-dd)", "Discount from"),
        "discount_to": table.column("Discount to (yyyy-mm-dd)", "Discount to"),
    }
    price_col = c["price_excl"] or c["price_incl"]
    table.require(
        "PrestaShop products CSV",
        **{"Product ID": c["id"], "Name *": c["name"], "Price tax excluded": price_col},
    )
    rejected: list[RowIssue] = []
    warnings: list[RowIssue] = ragged_warnings(table)
    entries: dict[str, _Entry] = {}
    rejected_ids: dict[str, int] = {}

    for row in table.rows:
        pid = row.get(c["id"])
        if not pid:
            rejected.append(
                RowIssue(
                    row.number, None, "missing Product ID (needed to attach combinations and to re-import)"
                )
            )
            continue
        if pid in entries or pid in rejected_ids:
            first = entries[pid].row if pid in entries else rejected_ids[pid]
            rejected.append(RowIssue(row.number, pid, f"duplicate Product ID {pid} (already on row {first})"))
            continue
        try:
            entry = _entry(row, c, price_col, currency)
        except RowError as exc:
            rejected.append(RowIssue(row.number, pid, exc.reason))
            rejected_ids[pid] = row.number
            continue
        entries[pid] = entry
        discount = _discount(row, c)
        if discount:
            warnings.append(
                RowIssue(
                    row.number, pid, f"discount ({discount}) is not imported as a price; kept in attributes"
                )
            )

    if combinations is not None:
        ctable = read_csv(combinations, what="the combinations file")
        _attach_combinations(ctable, entries, rejected_ids, currency, rejected, warnings)

    products: list[ImportedProduct] = []
    for entry in entries.values():
        product = entry.product
        if entry.combination_rows == 0:
            product.variants = [entry.single]
            warnings.extend(RowIssue(entry.row, product.external_id, p) for p in entry.single_problems)
        elif not product.variants:
            rejected.append(
                RowIssue(entry.row, product.external_id, "every combination of this product was rejected")
            )
            continue
        else:
            product.option_names = list(product.variants[0].options)
        products.append(product)
    return ParsedCatalog(format="prestashop", products=products, rejected=rejected, warnings=warnings)


def _entry(row: CsvRow, c: dict[str, str | None], price_col: str | None, currency: str) -> _Entry:
    pid = row.get(c["id"])
    name = row.get(c["name"])
    if not name:
        raise RowError("missing Name")
    price = parse_price(_num(row.get(price_col)), currency, price_col or "price")
    weight_kg = parse_decimal(_num(row.get(c["weight"])), "Weight")
    grams = to_grams(weight_kg, "kg")
    stock, stock_problem = parse_stock(_num(row.get(c["quantity"])), "Quantity")
    barcode, barcode_problem = clean_barcode(row.get(c["ean13"]) or row.get(c["upc"]))
    active = row.get(c["active"])
    attributes: dict[str, str] = {"price_tax": "excluded" if price_col == c["price_excl"] else "included"}
    for key in ("supplier", "supplier_reference", "mpn", "condition", "visibility", "summary"):
        if row.get(c[key]):
            attributes[key] = row.get(c[key])
    has_discount = bool(_discount(row, c))
    for key in ("discount_amount", "discount_percent", "discount_from", "discount_to"):
        if has_discount and row.get(c[key]):
            attributes[key] = row.get(c[key])
    for feature in split_list(row.get(c["features"])):
        parts = feature.split(":")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            attributes[parts[0].strip()] = parts[1].strip()
    categories = split_list(row.get(c["categories"]))
    product = ImportedProduct(
        external_id=pid,
        title=name,
        description=row.get(c["description"]),
        status="draft" if active == "0" else "active",
        category_path=[categories[0]] if categories else [],
        brand=clean(row.get(c["manufacturer"])),
        tags=split_list(row.get(c["tags"])),
        image_urls=split_list(row.get(c["images"])),
        option_names=[],
        variants=[],
        attributes=attributes,
        source_rows=[row.number],
    )
    single = ImportedVariant(
        external_id=None,
        sku=clean(row.get(c["reference"])),
        title="Default",
        options={},
        price=price,
        compare_at_price=None,
        stock=stock,
        weight_grams=grams,
        barcode=barcode,
    )
    problems = [p for p in (stock_problem, barcode_problem) if p]
    return _Entry(row.number, product, price, weight_kg, single, problems)


def _discount(row: CsvRow, c: dict[str, str | None]) -> str:
    amount, percent = _num(row.get(c["discount_amount"])), _num(row.get(c["discount_percent"]))
    parts = []
    if amount and _nonzero(amount):
        parts.append(f"amount {amount}")
    if percent and _nonzero(percent):
        parts.append(f"{percent}%")
    if not parts:
        return ""
    start, end = row.get(c["discount_from"]), row.get(c["discount_to"])
    if start or end:
        parts.append(f"from {start or '?'} to {end or '?'}")
    return " ".join(parts)


def _nonzero(text: str) -> bool:
    """True when ``text`` is a non-zero number (or not a number at all, which is worth reporting)."""
    try:
        value = parse_decimal(text, "value")
    except RowError:
        return True
    return bool(value)


def _attribute_name(token: str) -> str:
    """``"Color:color:0"`` -> ``"Color"`` (Name:Type:Position, type and position optional)."""
    parts = [p.strip() for p in token.split(":")]
    if len(parts) >= 2 and parts[-1].isdigit():
        parts = parts[:-1]
    if len(parts) >= 2 and parts[-1].lower() in _ATTRIBUTE_TYPES:
        parts = parts[:-1]
    return ":".join(parts).strip()


def _attribute_value(token: str) -> str:
    """``"Blue:0"`` -> ``"Blue"`` (Value:Position, position optional)."""
    head, sep, tail = token.rpartition(":")
    return head.strip() if sep and tail.strip().isdigit() else token.strip()


def _attach_combinations(
    table: CsvTable,
    entries: dict[str, _Entry],
    rejected_ids: dict[str, int],
    currency: str,
    rejected: list[RowIssue],
    warnings: list[RowIssue],
) -> None:
    c_id = table.column("Product ID*", "Product ID")
    c_attr = table.column("Attribute (Name:Type:Position)*", "Attribute")
    c_value = table.column("Value (Value:Position)*", "Value")
    table.require(
        "PrestaShop combinations CSV",
        **{
            "Product ID*": c_id,
            "Attribute (Name:Type:Position)*": c_attr,
            "Value (Value:Position)*": c_value,
        },
    )
    c = {
        "reference": table.column("Reference"),
        "ean13": table.column("EAN13"),
        "upc": table.column("UPC"),
        "impact_price": table.column("Impact on price"),
        "impact_weight": table.column("Impact on weight"),
        "quantity": table.column("Quantity"),
        "images": table.column("Image URLs (x,y,z...)", "Image URLs"),
    }
    for issue in ragged_warnings(table):
        warnings.append(RowIssue(issue.row, issue.external_id, f"{COMBINATIONS_PREFIX}{issue.reason}"))

    for row in table.rows:
        pid = row.get(c_id)

        def reject(reason: str, pid: str = pid, number: int = row.number) -> None:
            rejected.append(RowIssue(number, pid or None, f"{COMBINATIONS_PREFIX}{reason}"))

        if not pid:
            reject("missing Product ID")
            continue
        entry = entries.get(pid)
        if entry is None:
            if pid in rejected_ids:
                reject(f"product {pid} was rejected (products file row {rejected_ids[pid]})")
            else:
                reject(f"product {pid} is not in the products file")
            continue
        entry.combination_rows += 1
        product = entry.product
        try:
            names = [_attribute_name(t) for t in split_list(row.get(c_attr))]
            values = [_attribute_value(t) for t in row.get(c_value).split(",") if t.strip()]
            if not names:
                raise RowError("missing attribute names")
            if len(names) != len(values):
                raise RowError(f"{len(names)} attribute(s) but {len(values)} value(s)")
            raw = dict(zip(names, values, strict=True))
            if product.variants:
                expected = product.option_names
                if sorted(n.casefold() for n in raw) != sorted(n.casefold() for n in expected):
                    raise RowError(
                        f"attributes ({', '.join(raw)}) differ from this product's "
                        f"({', '.join(expected)}, combinations row {entry.names_row})"
                    )
                folded = {k.casefold(): v for k, v in raw.items()}
                options = {name: folded[name.casefold()] for name in expected}
            else:
                options = raw
            key = option_key(options)
            if key in entry.seen:
                raise RowError(
                    f"duplicate combination ({variant_title(options)}) of product {pid}: "
                    f"same as combinations row {entry.seen[key]}"
                )
            impact = parse_signed_price(_num(row.get(c["impact_price"])), currency, "Impact on price")
            price = entry.price + impact
            if price < 0:
                raise RowError(f"Impact on price '{row.get(c['impact_price'])}' makes the price negative")
            weight_impact = parse_decimal(_num(row.get(c["impact_weight"])), "Impact on weight")
            weight_kg = entry.weight_kg
            if weight_impact:
                weight_kg = (weight_kg or Decimal(0)) + weight_impact
            grams = to_grams(weight_kg, "kg")
            stock, stock_problem = parse_stock(_num(row.get(c["quantity"])), "Quantity")
        except RowError as exc:
            reject(exc.reason)
            continue
        barcode, barcode_problem = clean_barcode(row.get(c["ean13"]) or row.get(c["upc"]))
        for problem in (stock_problem, barcode_problem):
            if problem:
                warnings.append(RowIssue(row.number, pid, f"{COMBINATIONS_PREFIX}{problem}"))
        if not product.variants:
            product.option_names = list(options)
            entry.names_row = row.number
        entry.seen[key] = row.number
        images = split_list(row.get(c["images"]))
        product.variants.append(
            ImportedVariant(
                external_id=None,
                sku=clean(row.get(c["reference"])),
                title=variant_title(options),
                options=options,
                price=price,
                compare_at_price=None,
                stock=stock,
                weight_grams=grams,
                barcode=barcode,
                image_url=images[0] if images else None,
            )
        )
        product.image_urls = dedupe([*product.image_urls, *images])
