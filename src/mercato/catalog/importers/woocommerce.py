"""WooCommerce product CSV (the format of WooCommerce's built-in exporter/importer)."""

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
    category_path,
    clean,
    clean_barcode,
    compare_at,
    dedupe,
    option_key,
    parse_decimal,
    parse_optional_price,
    parse_stock,
    ragged_warnings,
    read_csv,
    split_list,
    to_grams,
    variant_title,
)

GROUPED_REASON = "grouped products are not supported: import their child products instead"
EXTERNAL_REASON = (
    "external/affiliate products are not supported: they are sold on another site, so there is "
    "nothing to sell here"
)


@dataclass
class _Columns:
    id: str | None
    type: str | None
    sku: str | None
    name: str | None
    published: str | None
    featured: str | None
    visibility: str | None
    short_description: str | None
    description: str | None
    stock: str | None
    sale: str | None
    regular: str | None
    categories: str | None
    tags: str | None
    images: str | None
    parent: str | None
    brands: str | None
    gtin: str | None
    weight: str | None
    weight_unit: str
    attributes: list[tuple[str, str | None]]  # (name column, value(s) column)

    @classmethod
    def of(cls, table: CsvTable) -> _Columns:
        weight, unit = None, "kg"
        for h in table.header:
            m = re.fullmatch(r"weight\s*(?:\((\w+)\))?", h.strip(), flags=re.IGNORECASE)
            if m:
                weight, unit = h, (m.group(1) or "kg")
                break
        gtin = next((h for h in table.header if h.strip().lower().startswith("gtin")), None)
        numbered: list[tuple[int, str]] = []
        for h in table.header:
            m = re.fullmatch(r"attribute\s+(\d+)\s+name", h.strip(), flags=re.IGNORECASE)
            if m:
                numbered.append((int(m.group(1)), h))
        attributes = [
            (h, table.column(f"Attribute {n} value(s)", f"Attribute {n} values")) for n, h in sorted(numbered)
        ]
        return cls(
            id=table.column("ID"),
            type=table.column("Type"),
            sku=table.column("SKU"),
            name=table.column("Name"),
            published=table.column("Published"),
            featured=table.column("Is featured?"),
            visibility=table.column("Visibility in catalog"),
            short_description=table.column("Short description"),
            description=table.column("Description"),
            stock=table.column("Stock"),
            sale=table.column("Sale price"),
            regular=table.column("Regular price"),
            categories=table.column("Categories"),
            tags=table.column("Tags"),
            images=table.column("Images"),
            parent=table.column("Parent"),
            brands=table.column("Brands"),
            gtin=gtin,
            weight=weight,
            weight_unit=unit,
            attributes=attributes,
        )


@dataclass
class _Parent:
    row: int
    kind: str  # "simple" | "variable" | the rejected type
    product: ImportedProduct | None  # None when the row was rejected
    weight_grams: int | None = None
    declared: list[tuple[str, str]] = field(default_factory=list)  # parent attributes (name, values)
    variations: list[tuple[int, dict[str, str], ImportedVariant]] = field(default_factory=list)


def _split_escaped(text: str) -> list[str]:
    """Woo lists are comma-separated with ``\\,`` escaping a literal comma."""
    parts = re.split(r"(?<!\\),", text)
    return dedupe(p.replace("\\,", ",").strip() for p in parts)


def _status(text: str) -> tuple[str, str | None]:
    value = text.strip()
    if value in ("", "1"):
        return "active", None
    if value in ("0", "-1"):  # 0 = private, -1 = draft in WooCommerce
        return "draft", None
    return "draft", f"Published '{value}' is not 1, 0 or -1; imported as draft"


def _attributes(row: CsvRow, cols: _Columns) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name_col, value_col in cols.attributes:
        name = row.get(name_col)
        if name:
            out.append((name, row.get(value_col)))
    return out


def _price(row: CsvRow, cols: _Columns, currency: str) -> tuple[int, int | None, str | None]:
    sale_text, regular_text = row.get(cols.sale), row.get(cols.regular)
    sale = parse_optional_price(sale_text, currency, "Sale price")
    regular = parse_optional_price(regular_text, currency, "Regular price")
    if sale is None and regular is None:
        raise RowError("missing price: neither Sale price nor Regular price is set")
    if sale is None:
        assert regular is not None
        return regular, None, None
    compare, problem = compare_at(sale, regular, sale_text, regular_text)
    return sale, compare, problem


def _weight(row: CsvRow, cols: _Columns) -> int | None:
    label = cols.weight or "Weight"
    value: Decimal | None = parse_decimal(row.get(cols.weight), label)
    return to_grams(value, cols.weight_unit)


def parse_woocommerce(text: str, currency: str) -> ParsedCatalog:
    table = read_csv(text, ",")
    cols = _Columns.of(table)
    table.require("WooCommerce CSV", Type=cols.type, Name=cols.name, **{"Regular price": cols.regular})
    rejected: list[RowIssue] = []
    warnings: list[RowIssue] = ragged_warnings(table)
    parents: list[_Parent] = []
    by_sku: dict[str, _Parent] = {}
    by_sku_folded: dict[str, _Parent] = {}
    by_id: dict[str, _Parent] = {}
    variation_rows: list[CsvRow] = []

    for row in table.rows:
        raw_type = row.get(cols.type)
        types = {t.strip().lower() for t in raw_type.split(",") if t.strip()}
        woo_id, sku = row.get(cols.id), clean(row.get(cols.sku))
        ident = sku or (f"woo:{woo_id}" if woo_id else None)
        if "variation" in types:
            variation_rows.append(row)
            continue
        kind = raw_type or "untyped"
        parent = _Parent(row.number, kind, None)
        try:
            if "grouped" in types:
                raise RowError(GROUPED_REASON)
            if "external" in types:
                raise RowError(EXTERNAL_REASON)
            if "variable" in types:
                parent.kind = "variable"
            elif "simple" in types:
                parent.kind = "simple"
            elif not types:
                raise RowError("missing Type (expected simple or variable)")
            else:
                raise RowError(f"product type '{raw_type}' is not supported (expected simple or variable)")
            parent.product = _product(row, cols, ident, types)
            parent.weight_grams = _weight(row, cols)
            parent.declared = _attributes(row, cols)
            if parent.kind == "simple":
                variant, problems = _simple_variant(row, cols, currency, parent.weight_grams)
                parent.product.variants.append(variant)
                declared = {name: values for name, values in parent.declared if values}
                parent.product.attributes = {**declared, **parent.product.attributes}
                warnings.extend(RowIssue(row.number, ident, p) for p in problems)
        except RowError as exc:
            parent.product = None
            rejected.append(RowIssue(row.number, ident, exc.reason))
        else:
            status_problem = _status(row.get(cols.published))[1]
            if status_problem:
                warnings.append(RowIssue(row.number, ident, status_problem))
        parents.append(parent)
        if sku:
            by_sku.setdefault(sku, parent)
            by_sku_folded.setdefault(sku.casefold(), parent)
        if woo_id:
            by_id.setdefault(woo_id, parent)

    for row in variation_rows:
        woo_id, sku = row.get(cols.id), clean(row.get(cols.sku))
        ident = sku or (f"woo:{woo_id}" if woo_id else None)
        try:
            parent = _find_parent(row.get(cols.parent), by_sku, by_sku_folded, by_id)
            variant, named, problems = _variation(row, cols, currency, parent.weight_grams)
        except RowError as exc:
            rejected.append(RowIssue(row.number, ident, exc.reason))
            continue
        parent.variations.append((row.number, named, variant))
        warnings.extend(RowIssue(row.number, ident, p) for p in problems)
        if row.get(cols.published) in ("0", "-1"):
            warnings.append(
                RowIssue(
                    row.number,
                    ident,
                    f"variation is disabled in WooCommerce (Published = {row.get(cols.published)}); "
                    "imported as an ordinary variant",
                )
            )

    products: list[ImportedProduct] = []
    for parent in parents:
        product = parent.product
        if product is None:
            continue
        if parent.kind == "variable":
            _finish_variable(parent, product, rejected)
            if not product.variants:
                rejected.append(
                    RowIssue(parent.row, product.external_id, "variable product has no importable variations")
                )
                continue
        products.append(product)
    return ParsedCatalog(format="woocommerce", products=products, rejected=rejected, warnings=warnings)


def _product(row: CsvRow, cols: _Columns, ident: str | None, types: set[str]) -> ImportedProduct:
    name = row.get(cols.name)
    if not name:
        raise RowError("missing Name")
    if ident is None:
        raise RowError("row has neither SKU nor ID, so it cannot be matched on a later re-import")
    categories = _split_escaped(row.get(cols.categories))
    attributes: dict[str, str] = {}
    short = row.get(cols.short_description)
    if short:
        attributes["short_description"] = short.replace("\\n", "\n")
    if row.get(cols.featured) == "1":
        attributes["featured"] = "yes"
    visibility = row.get(cols.visibility)
    if visibility and visibility != "visible":
        attributes["catalog_visibility"] = visibility
    for flag in ("downloadable", "virtual"):
        if flag in types:
            attributes[flag] = "yes"
    brands = _split_escaped(row.get(cols.brands))
    return ImportedProduct(
        external_id=ident,
        title=name,
        description=row.get(cols.description).replace("\\n", "\n"),
        status=_status(row.get(cols.published))[0],
        category_path=category_path(categories[0]) if categories else [],
        brand=brands[0] if brands else None,
        tags=_split_escaped(row.get(cols.tags)),
        image_urls=split_list(row.get(cols.images)),
        option_names=[],
        variants=[],
        attributes=attributes,
        source_rows=[row.number],
    )


def _common(
    row: CsvRow, cols: _Columns, currency: str, fallback_weight: int | None
) -> tuple[int, int | None, int, int | None, str | None, list[str]]:
    price, compare, compare_problem = _price(row, cols, currency)
    stock, stock_problem = parse_stock(row.get(cols.stock), "Stock")
    weight = _weight(row, cols)
    barcode, barcode_problem = clean_barcode(row.get(cols.gtin))
    problems = [p for p in (compare_problem, stock_problem, barcode_problem) if p]
    return price, compare, stock, weight if weight is not None else fallback_weight, barcode, problems


def _simple_variant(
    row: CsvRow, cols: _Columns, currency: str, weight: int | None
) -> tuple[ImportedVariant, list[str]]:
    price, compare, stock, grams, barcode, problems = _common(row, cols, currency, weight)
    variant = ImportedVariant(
        external_id=row.get(cols.id) or None,
        sku=clean(row.get(cols.sku)),
        title="Default",
        options={},
        price=price,
        compare_at_price=compare,
        stock=stock,
        weight_grams=grams,
        barcode=barcode,
    )
    return variant, problems


def _find_parent(
    ref: str, by_sku: dict[str, _Parent], by_sku_folded: dict[str, _Parent], by_id: dict[str, _Parent]
) -> _Parent:
    if not ref:
        raise RowError("variation has no Parent (it must name the parent's SKU or id:NN)")
    if ref.lower().startswith("id:"):
        parent = by_id.get(ref[3:].strip())
    else:
        parent = by_sku.get(ref) or by_sku_folded.get(ref.casefold())
    if parent is None:
        raise RowError(f"parent '{ref}' of this variation is not in the file")
    if parent.product is None:
        raise RowError(f"parent '{ref}' of this variation (row {parent.row}) was rejected")
    if parent.kind != "variable":
        raise RowError(
            f"parent '{ref}' (row {parent.row}) is a {parent.kind} product, not a variable product"
        )
    return parent


def _variation(
    row: CsvRow, cols: _Columns, currency: str, parent_weight: int | None
) -> tuple[ImportedVariant, dict[str, str], list[str]]:
    price, compare, stock, grams, barcode, problems = _common(row, cols, currency, parent_weight)
    named = {name: value for name, value in _attributes(row, cols)}
    images = split_list(row.get(cols.images))
    variant = ImportedVariant(
        external_id=row.get(cols.id) or None,
        sku=clean(row.get(cols.sku)),
        title=row.get(cols.name),  # replaced once the option names are known
        options={},
        price=price,
        compare_at_price=compare,
        stock=stock,
        weight_grams=grams,
        barcode=barcode,
        image_url=images[0] if images else None,
    )
    return variant, named, problems


def _finish_variable(parent: _Parent, product: ImportedProduct, rejected: list[RowIssue]) -> None:
    """Option names = the parent's attributes used by its variations (then any others they use)."""
    used = {name.casefold() for _, named, _ in parent.variations for name in named}
    option_names = [name for name, _ in parent.declared if name.casefold() in used]
    known = {name.casefold() for name in option_names}
    for _, named, _ in parent.variations:
        for name in named:
            if name.casefold() not in known:
                known.add(name.casefold())
                option_names.append(name)
    product.option_names = option_names
    product.attributes = {
        **{name: values for name, values in parent.declared if values and name.casefold() not in known},
        **product.attributes,
    }
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    for row_number, named, variant in parent.variations:
        folded = {name.casefold(): value for name, value in named.items()}
        variant.options = {name: folded.get(name.casefold()) or "Any" for name in option_names}
        variant.title = variant_title(variant.options)
        key = option_key(variant.options)
        if key in seen:
            rejected.append(
                RowIssue(
                    row_number,
                    variant.sku or (f"woo:{variant.external_id}" if variant.external_id else None),
                    f"duplicate variation: same options ({variant.title}) as row {seen[key]}",
                )
            )
            continue
        seen[key] = row_number
        product.variants.append(variant)
        product.source_rows.append(row_number)
        if variant.image_url:
            product.image_urls = dedupe([*product.image_urls, variant.image_url])
    product.source_rows.sort()
