"""Square Item Library CSV (Items > Export library), the classic one-row-per-variation layout.

Square writes one row per *variation*; the rows of one item share its ``Item Name``
(the classic layout has no item id), so the item name is the product's external id.
``Token`` is the variation's Square id. Quantities, taxes and stock alerts come in
columns named after the seller's location or tax (``Current Quantity Femmebot
Fashion``), so those columns are found by prefix.

:func:`variation_record` maps one variation, whatever it was read from (a CSV row here,
a Catalog API ``ITEM_VARIATION`` elsewhere), to a record; :func:`group_items` turns
records into products. Both are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mercato.kit.money import exponent, to_decimal

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
    clean_sku,
    option_key,
    parse_decimal,
    parse_flag,
    parse_price,
    parse_stock,
    ragged_warnings,
    read_csv,
    to_grams,
    variant_title,
)

OPTION_SLOTS = 3


@dataclass
class SquareVariation:
    """One Square variation, as the CSV row or an API object gives it (texts as Square spells them)."""

    row: int
    item_key: str
    item_name: str
    token: str | None
    variation_name: str
    sku: str
    description: str
    category: str
    gtin: str
    visibility: str
    weight_lb: str
    price: str
    sellable: str
    stockable: str
    archived: str
    options: list[tuple[str, str]]  # (option name, value), in slot order
    quantities: list[str]  # one per location
    unit: str = "lb"
    image_urls: list[str] = field(default_factory=list)


@dataclass
class _Item:
    key: str
    first_row: int
    product: ImportedProduct
    seen: dict[tuple[tuple[str, str], ...], int] = field(default_factory=dict)


def _status(visibility: str, archived: bool) -> str:
    """Square Online visibility -> status: ``visible`` -> active, ``hidden``/``unavailable`` -> draft."""
    if archived:
        return "archived"
    value = visibility.strip().lower()
    return "draft" if value in ("hidden", "unavailable", "unlisted") else "active"


def variation_record(v: SquareVariation, currency: str, named: bool = False) -> tuple[ImportedVariant, list[str]]:
    """One variation -> ``(variant, warnings)``; :class:`RowError` when it cannot be sold here.

    Options are Square's item options (``Option Name N`` / ``Option Value N``). Without item
    options, the variations of an item with several of them (``named``) are told apart by
    their names: ``{"Variation": "Large"}``; a lone variation (Square calls it ``Regular``) is
    the product's ``Default`` variant.
    Stock is the sum of the location quantities; a variation Square does not track
    (``Stockable`` = N) gets 0, as Mercato never invents stock.
    """
    if not parse_flag(v.sellable, "Sellable", True):
        raise RowError("variation is not sellable in Square (Sellable = N)")
    if not v.price.strip():
        raise RowError("missing Price (a variable-price variation has no price to sell at)")
    if v.price.strip().lower() == "variable":
        raise RowError("Price is 'variable': a variable-price variation has no price to sell at")
    problems: list[str] = []
    price = parse_price(v.price.lstrip("$"), currency, "Price")
    stock = 0
    if parse_flag(v.stockable, "Stockable", True):
        for text in v.quantities:
            units, problem = parse_stock(text, "Current Quantity")
            stock += units
            if problem:
                problems.append(problem)
    sku, sku_problem = clean_sku(v.sku)
    barcode, barcode_problem = clean_barcode(v.gtin)
    problems += [p for p in (sku_problem, barcode_problem) if p]
    options: dict[str, str] = {}
    for name, value in v.options:
        if not name and not value:
            continue
        if not value:
            raise RowError(f"option '{name}' has no value")
        label = name or f"Option {len(options) + 1}"
        while label in options:  # two option sets with one name: keep both
            label += " (2)"
        options[label] = value
    if not options and named:
        options = {"Variation": v.variation_name.strip() or "Regular"}
    variant = ImportedVariant(
        external_id=clean(v.token or ""),
        sku=sku,
        title=variant_title(options),
        options=options,
        price=price,
        compare_at_price=None,
        stock=stock,
        weight_grams=to_grams(parse_decimal(v.weight_lb, f"Weight ({v.unit})"), v.unit),
        barcode=barcode,
    )
    return variant, problems


def group_items(variations: list[SquareVariation], currency: str) -> ParsedCatalog:
    """Variations -> one product per item (file order kept); every refused row is reported."""
    items: dict[str, _Item] = {}
    rejected: list[RowIssue] = []
    warnings: list[RowIssue] = []
    per_item: dict[str, int] = {}
    for v in variations:
        per_item[v.item_key.strip()] = per_item.get(v.item_key.strip(), 0) + 1
    for v in variations:
        key = v.item_key.strip()
        if not key or not v.item_name.strip():
            rejected.append(RowIssue(v.row, clean(v.token or ""), "missing Item Name"))
            continue
        try:
            variant, problems = variation_record(v, currency, named=per_item[key] > 1)
            status = _status(v.visibility, parse_flag(v.archived, "Archived", False))
        except RowError as exc:
            rejected.append(RowIssue(v.row, key, exc.reason))
            continue
        item = items.get(key)
        if item is None:
            item = _Item(key, v.row, ImportedProduct(
                external_id=key, title=v.item_name.strip(), description="",
                status=status,
                category_path=category_path(v.category), brand=None, tags=[], image_urls=list(v.image_urls),
                option_names=list(variant.options), variants=[], attributes={}, source_rows=[],
            ))
            items[key] = item
        product = item.product
        if list(variant.options) != product.option_names:
            rejected.append(RowIssue(v.row, key, (
                f"options ({', '.join(variant.options) or 'none'}) differ from this item's "
                f"({', '.join(product.option_names) or 'none'}, set on row {item.first_row})"
            )))
            continue
        opt = option_key(variant.options)
        if opt in item.seen:
            rejected.append(RowIssue(v.row, key, (
                f"duplicate variation: same options ({variant.title}) as row {item.seen[opt]}"
            )))
            continue
        item.seen[opt] = v.row
        if not product.description and v.description.strip():
            product.description = v.description.strip()
        if not product.category_path and v.category.strip():
            product.category_path = category_path(v.category)
        product.variants.append(variant)
        product.source_rows.append(v.row)
        warnings.extend(RowIssue(v.row, key, p) for p in problems)
    products = [item.product for item in items.values() if item.product.variants]
    return ParsedCatalog(format="square", products=products, rejected=rejected, warnings=warnings)


def _prefixed(table: CsvTable, prefix: str) -> list[str]:
    return [h for h in table.header if h.strip().lower().startswith(prefix.lower())]


def _variation(row: CsvRow, table: CsvTable, quantity_columns: list[str]) -> SquareVariation:
    col = table.column
    handle = row.get(col("Reference Handle"))
    options = [
        (row.get(col(f"Option Name {n}")), row.get(col(f"Option Value {n}"))) for n in range(1, OPTION_SLOTS + 1)
    ]
    weight_col = next((h for h in table.header if h.strip().lower().startswith("weight")), None)
    unit = "lb"
    if weight_col and "(" in weight_col:
        unit = weight_col.split("(", 1)[1].rstrip(") ").strip() or "lb"
    return SquareVariation(
        row=row.number,
        item_key=handle or row.get(col("Item Name")),
        item_name=row.get(col("Item Name")),
        token=row.get(col("Token")),
        variation_name=row.get(col("Variation Name")),
        sku=row.get(col("SKU")),
        description=row.get(col("Description")),
        category=row.get(col("Category", "Categories", "Reporting Category")).split(",")[0],
        gtin=row.get(col("GTIN")),
        visibility=row.get(col("Square Online Item Visibility")),
        weight_lb=row.get(weight_col),
        price=row.get(col("Price")),
        sellable=row.get(col("Sellable")),
        stockable=row.get(col("Stockable")),
        archived=row.get(col("Archived")),
        options=options,
        quantities=[row.get(c) for c in quantity_columns],
        unit=unit,
    )


def parse_square(text: str, currency: str) -> ParsedCatalog:
    """The Item Library CSV -> products (one per item name), rejected rows and warnings."""
    table = read_csv(text, ",")
    table.require("Square Item Library CSV", **{
        "Item Name": table.column("Item Name"), "Variation Name": table.column("Variation Name"),
        "Price": table.column("Price"),
    })
    quantity_columns = _prefixed(table, "Current Quantity")
    variations = [_variation(row, table, quantity_columns) for row in table.rows]
    parsed = group_items(variations, currency)
    parsed.warnings = ragged_warnings(table) + parsed.warnings
    return parsed


# ------------------------------------------------------------------ Catalog API objects


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()


def _price_text(money: dict[str, Any], currency: str) -> str:
    """``price_money {amount, currency}`` (minor units) -> the decimal text :func:`variation_record` reads."""
    if not money:
        return ""
    amount, code = money.get("amount"), _str(money.get("currency")).upper()
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise RowError(f"price_money amount {amount!r} is not a whole number of minor units")
    if code and code != currency.upper():
        raise RowError(f"price is in {code} but this shop sells in {currency.upper()}")
    return str(to_decimal(amount, currency))


def parse_catalog_objects(
    objects: Sequence[object], currency: str, *, related: Sequence[object] = (), counts: Sequence[object] = ()
) -> ParsedCatalog:
    """Square Catalog API objects -> products, the same way the Item Library CSV is read.

    ``objects`` are what ListCatalog / SearchCatalogObjects / BatchRetrieveCatalogObjects return
    (``ITEM`` objects with their ``variations``; stand-alone ``ITEM_VARIATION`` objects are joined
    to their item by ``item_id``; other types are context). ``related`` are ``related_objects``
    (categories, images, item options). ``counts`` are BatchRetrieveInventoryCounts ``counts``:
    ``IN_STOCK`` quantities (decimal strings) are summed per variation across locations; a count
    filed under the *item* id (Square's own example does that) counts for the item's only variation.
    Prices are ``price_money`` in minor units; a ``VARIABLE_PRICING`` variation has none and is
    rejected. The "row" of an issue is the item's 1-based position among ``objects``.
    """
    exponent(currency)
    everything = [_dict(o) for o in [*objects, *related]]
    by_id = {_str(o.get("id")): o for o in everything if _str(o.get("id"))}
    quantities: dict[str, list[str]] = {}
    for count in (_dict(c) for c in counts):
        if _str(count.get("state")) in ("", "IN_STOCK"):
            quantities.setdefault(_str(count.get("catalog_object_id")), []).append(_str(count.get("quantity")))
    loose: dict[str, list[dict[str, Any]]] = {}
    for obj in everything:
        if obj.get("type") == "ITEM_VARIATION" and not obj.get("is_deleted"):
            loose.setdefault(_str(_dict(obj.get("item_variation_data")).get("item_id")), []).append(obj)
    variations: list[SquareVariation] = []
    rejected: list[RowIssue] = []
    for position, obj in enumerate((_dict(o) for o in objects), start=1):
        if obj.get("type") != "ITEM" or obj.get("is_deleted"):
            continue
        item_id, data = _str(obj.get("id")), _dict(obj.get("item_data"))
        category_ids = [_str(c.get("id")) for c in _list(data.get("categories"))]
        category_ids += [_str(data.get("category_id")), _str(_dict(data.get("reporting_category")).get("id"))]
        category = next((_str(_dict(by_id.get(c, {}).get("category_data")).get("name")) for c in category_ids
                         if c in by_id), "")
        images = [_str(_dict(by_id[i].get("image_data")).get("url")) for i in data.get("image_ids") or []
                  if isinstance(i, str) and i in by_id]
        own = _list(data.get("variations"))
        seen = {_str(v.get("id")) for v in own}
        own += [v for v in loose.get(item_id, []) if _str(v.get("id")) not in seen]
        if not own:
            rejected.append(RowIssue(position, item_id, "item has no variations"))
        visibility = _str(data.get("ecom_visibility")).lower()
        live = [v for v in own if not v.get("is_deleted")]
        for variation in live:
            vd = _dict(variation.get("item_variation_data"))
            try:
                price = _price_text(_dict(vd.get("price_money")), currency)
            except RowError as exc:
                rejected.append(RowIssue(position, item_id, exc.reason))
                continue
            options: list[tuple[str, str]] = []
            for ref in _list(vd.get("item_option_values")):
                option = _dict(by_id.get(_str(ref.get("item_option_id")), {}).get("item_option_data"))
                value_name = next((_str(_dict(v.get("item_option_value_data")).get("name"))
                                   for v in _list(option.get("values"))
                                   if _str(v.get("id")) == _str(ref.get("item_option_value_id"))), "")
                name = _str(option.get("display_name")) or _str(option.get("name"))
                options.append((name or _str(ref.get("item_option_id")), value_name or
                                _str(ref.get("item_option_value_id"))))
            variations.append(SquareVariation(
                row=position, item_key=item_id, item_name=_str(data.get("name")), token=_str(variation.get("id")),
                variation_name=_str(vd.get("name")), sku=_str(vd.get("sku")),
                description=_str(data.get("description_html")) or _str(data.get("description")),
                category=category, gtin=_str(vd.get("upc")),
                visibility="hidden" if visibility in ("hidden", "unavailable") else "visible",
                weight_lb="", price=price, sellable="N" if vd.get("sellable") is False else "",
                stockable="N" if vd.get("stockable") is False else "",
                archived="Y" if data.get("is_archived") is True else "", options=options,
                quantities=quantities.get(_str(variation.get("id")))
                or (quantities.get(item_id, []) if len(live) == 1 else []),  # a count filed under the item
                image_urls=images,
            ))
    parsed = group_items(variations, currency)
    parsed.rejected = rejected + parsed.rejected
    return parsed
