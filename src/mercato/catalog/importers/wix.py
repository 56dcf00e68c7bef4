"""Wix Stores product CSV (``catalog_products.csv``: Store Products > More Actions > Export).

A ``Product`` row carries the product and its option *choices* (``;``-separated,
COLOR choices as ``#000000:Natural`` or ``rgb(255, 255, 255):White``); the ``Variant``
rows that follow repeat only ``handleId`` and carry one choice per option plus the
variant's ``surcharge``, ``inventory``, ``visible`` and ``sku``. A product with
options but no variant rows sells every combination of its choices at its own price.

:func:`product_record` maps one product (its row and its variant rows, as plain
dicts of Wix's column names) to a record; the CSV parser only groups the rows, and
:func:`parse_v1_products` turns Catalog V1 API products into the same rows first;
:func:`parse_v3_products` maps Catalog V3 ``getProduct`` results.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mercato.kit.money import exponent

from .records import (
    CsvRow,
    ImportedProduct,
    ImportedVariant,
    ParsedCatalog,
    RowError,
    RowIssue,
    clean_sku,
    dedupe,
    option_key,
    parse_decimal,
    parse_flag,
    parse_price,
    parse_stock,
    ragged_warnings,
    read_csv,
    variant_title,
)

MEDIA_URL = "https://static.wixstatic.com/media/"
OPTION_SLOTS = 6
INFO_SLOTS = 6

Row = Mapping[str, str]


def choice_label(text: str, kind: str) -> str:
    """``#000000:Natural`` / ``rgb(255, 255, 255):White`` -> the name after the colour value."""
    value = text.strip()
    if kind.strip().upper() == "COLOR":
        match = re.fullmatch(r"(?:#[0-9A-Fa-f]{3,8}|rgba?\([^)]*\)|[^:]*):(.+)", value)
        if match:
            return match.group(1).strip()
    return value


def image_url(media: str) -> str:
    """A Wix media id (``112834_17b2...~mv2.jpg``) -> its public URL; URLs stay as they are."""
    value = media.strip()
    if value.startswith(("http://", "https://")):
        return value
    return MEDIA_URL + value


def _options(row: Row) -> list[tuple[str, str, list[str]]]:
    """``(name, type, choices)`` of a product row, in slot order."""
    out: list[tuple[str, str, list[str]]] = []
    for n in range(1, OPTION_SLOTS + 1):
        name = row.get(f"productOptionName{n}", "").strip()
        if not name:
            continue
        kind = row.get(f"productOptionType{n}", "")
        raw = row.get(f"productOptionDescription{n}", "")
        choices = dedupe(choice_label(c, kind) for c in _split_choices(raw, kind))
        out.append((name, kind, choices))
    return out


def _split_choices(raw: str, kind: str) -> list[str]:
    """``;``-separated choices; a ``;`` inside ``rgb(...)`` never occurs, commas inside it do."""
    return [c for c in raw.split(";") if c.strip()]


def _discounted(amount: int, mode: str, value: str, currency: str) -> int:
    """Wix's product discount applied to a price (``PERCENT`` or ``AMOUNT``), never below 0."""
    number = parse_decimal(value, "discountValue")
    if number is None or number == 0:
        return amount
    if number < 0:
        raise RowError(f"discountValue '{value.strip()}' is negative")
    if mode.strip().upper() == "PERCENT":
        if number > 100:
            raise RowError(f"discountValue '{value.strip()}' is more than 100 percent")
        off = (Decimal(amount) * number / 100).to_integral_value(rounding=ROUND_HALF_UP)
        return max(0, amount - int(off))
    if mode.strip().upper() == "AMOUNT":
        return max(0, amount - parse_price(value, currency, "discountValue"))
    raise RowError(f"discountMode '{mode.strip()}' is not PERCENT or AMOUNT")


def _inventory(text: str) -> tuple[int, str | None]:
    """``InStock``/``OutOfStock`` say nothing about how many: 0 (Mercato never invents stock)."""
    if text.strip().lower() in ("instock", "outofstock", "in stock", "out of stock", ""):
        return 0, None
    return parse_stock(text, "inventory")


def product_record(
    product: Row, variants: Sequence[tuple[int, Row]], currency: str, row: int
) -> tuple[ImportedProduct, list[RowIssue], list[RowIssue]]:
    """One Wix product and its variant rows -> ``(product, rejected variant rows, warnings)``.

    Raises :class:`RowError` when the product itself is unusable (no handleId, name or
    price, or none of its variants survives).
    """
    handle = product.get("handleId", "").strip()
    if not handle:
        raise RowError("missing handleId")
    title = product.get("name", "").strip()
    if not title:
        raise RowError("missing name")
    base = parse_price(product.get("price", ""), currency, "price")
    mode, discount = product.get("discountMode", ""), product.get("discountValue", "")
    _discounted(base, mode, discount, currency)  # a bad discount rejects the product row
    visible = parse_flag(product.get("visible", ""), "visible", True)
    warnings: list[RowIssue] = []
    rejected: list[RowIssue] = []
    options = _options(product)
    option_names = [name for name, _, _ in options]
    attributes: dict[str, str] = {}
    for key in ("ribbon", "weight"):
        value = product.get(key, "").strip()
        if value and not (key == "weight" and parse_decimal(value, key) == 0):
            attributes[key] = value
    for n in range(1, INFO_SLOTS + 1):
        info_title = product.get(f"additionalInfoTitle{n}", "").strip()
        if info_title:
            attributes[info_title] = product.get(f"additionalInfoDescription{n}", "").strip()
    collections = [c.strip() for c in product.get("collection", "").split(";") if c.strip()]
    record = ImportedProduct(
        external_id=handle,
        title=title,
        description=product.get("description", "").strip(),
        status="active" if visible else "draft",
        category_path=[collections[0]] if collections else [],
        brand=product.get("brand", "").strip() or None,
        tags=collections[1:],
        image_urls=dedupe(image_url(m) for m in product.get("productImageUrl", "").split(";") if m.strip()),
        option_names=option_names,
        variants=[],
        attributes=attributes,
        source_rows=[row],
    )

    def priced(surcharge: int) -> tuple[int, int | None]:
        full = base + surcharge
        sale = _discounted(full, mode, discount, currency)
        return sale, (full if sale < full else None)

    if variants:
        seen: dict[tuple[tuple[str, str], ...], int] = {}
        for number, v in variants:
            try:
                chosen = {}
                for slot, name in enumerate(option_names, start=1):
                    kind = options[slot - 1][1]
                    value = choice_label(v.get(f"productOptionDescription{slot}", ""), kind)
                    if not value:
                        raise RowError(f"missing choice for option '{name}'")
                    chosen[name] = value
                surcharge_text = v.get("surcharge", "").strip()
                surcharge = 0
                if surcharge_text:
                    surcharge = -parse_price(surcharge_text[1:], currency, "surcharge") if (
                        surcharge_text.startswith("-")) else parse_price(surcharge_text, currency, "surcharge")
                if base + surcharge < 0:
                    raise RowError(f"price {product.get('price', '').strip()} + surcharge {surcharge_text} is negative")
                stock, stock_problem = _inventory(v.get("inventory", ""))
                sku, sku_problem = clean_sku(v.get("sku", ""))
                shown = parse_flag(v.get("visible", ""), "visible", True)
                choice_key = option_key(chosen)
                if choice_key in seen:
                    raise RowError(
                        f"duplicate variant: same choices ({variant_title(chosen)}) as row {seen[choice_key]}")
            except RowError as exc:
                rejected.append(RowIssue(number, handle, exc.reason))
                continue
            seen[choice_key] = number
            price, compare = priced(surcharge)
            record.variants.append(ImportedVariant(
                external_id=None, sku=sku, title=variant_title(chosen), options=chosen, price=price,
                compare_at_price=compare, stock=stock, weight_grams=None, barcode=None,
            ))
            record.source_rows.append(number)
            warnings.extend(RowIssue(number, handle, p) for p in (stock_problem, sku_problem) if p)
            if not shown:
                warnings.append(RowIssue(number, handle, (
                    "variant is hidden in Wix (visible = FALSE); imported as an ordinary variant")))
        if not record.variants:
            raise RowError("none of the product's variant rows could be imported")
        product_sku, problem = clean_sku(product.get("sku", ""))
        if problem:
            warnings.append(RowIssue(row, handle, problem))
        elif product_sku:
            attributes["sku"] = product_sku
        return record, rejected, warnings

    stock, stock_problem = _inventory(product.get("inventory", ""))
    sku, sku_problem = clean_sku(product.get("sku", ""))
    warnings.extend(RowIssue(row, handle, p) for p in (stock_problem, sku_problem) if p)
    combos = list(itertools.product(*[choices for _, _, choices in options])) if options else [()]
    if options and not combos:
        raise RowError("an option has no choices")
    if len(combos) > 1:
        if stock:
            warnings.append(RowIssue(row, handle, (
                f"Wix counts {stock} in stock for the product as a whole, not per choice; its "
                f"{len(combos)} variants were imported with stock 0 (set each variant's stock)"
            )))
            stock = 0
        if sku:
            attributes["sku"] = sku
            sku = None
    price, compare = priced(0)
    for combo in combos:
        chosen = dict(zip(option_names, combo, strict=True))
        record.variants.append(ImportedVariant(
            external_id=None, sku=sku, title=variant_title(chosen), options=chosen, price=price,
            compare_at_price=compare, stock=stock, weight_grams=None, barcode=None,
        ))
    return record, rejected, warnings


def _values(row: CsvRow) -> dict[str, str]:
    return dict(row.values)


def parse_wix(text: str, currency: str) -> ParsedCatalog:
    """``catalog_products.csv`` -> products (a Product row and the Variant rows under its handleId)."""
    exponent(currency)
    table = read_csv(text, ",")
    table.require("Wix Stores CSV", handleId=table.column("handleId"), fieldType=table.column("fieldType"),
                  name=table.column("name"), price=table.column("price"))
    products: list[ImportedProduct] = []
    rejected: list[RowIssue] = []
    warnings = ragged_warnings(table)
    heads: dict[str, tuple[int, dict[str, str]]] = {}
    order: list[str] = []
    variant_rows: dict[str, list[tuple[int, Row]]] = {}
    for row in table.rows:
        values = _values(row)
        kind = values.get("fieldType", "").strip().lower()
        handle = values.get("handleId", "").strip()
        if kind == "product":
            if handle in heads:
                rejected.append(RowIssue(row.number, handle, (
                    f"duplicate product '{handle}': already defined on row {heads[handle][0]}")))
                continue
            heads[handle] = (row.number, values)
            order.append(handle)
        elif kind == "variant":
            variant_rows.setdefault(handle, []).append((row.number, values))
        else:
            rejected.append(RowIssue(row.number, handle or None, (
                f"fieldType '{values.get('fieldType', '').strip()}' is not Product or Variant")))
    for handle, rows in variant_rows.items():
        if handle not in heads:
            rejected.extend(RowIssue(n, handle or None, "variant row without its Product row") for n, _ in rows)
    for handle in order:
        number, values = heads[handle]
        own_variants = variant_rows.get(handle, [])
        try:
            record, bad, notes = product_record(values, own_variants, currency, number)
        except RowError as exc:
            rejected.append(RowIssue(number, handle or None, exc.reason))
            rejected.extend(RowIssue(n, handle, f"its product (row {number}) was rejected") for n, _ in own_variants)
            continue
        products.append(record)
        rejected.extend(bad)
        warnings.extend(notes)
    return ParsedCatalog(format="wix", products=products, rejected=rejected, warnings=warnings)


# ------------------------------------------------------------ Catalog V1 API products


def _number(value: object) -> str:
    """A JSON number as exact decimal text (``289`` -> ``"289"``, ``19.9`` -> ``"19.9"``)."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value).strip()


def _flag(value: object) -> str:
    return "FALSE" if value is False else "TRUE"


def _stock_text(stock: dict[str, Any]) -> str:
    if stock.get("trackInventory") or stock.get("trackQuantity"):
        return _number(stock.get("quantity"))
    return "InStock" if stock.get("inStock", True) else "OutOfStock"


def product_rows(product: Mapping[str, Any], currency: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A Catalog V1 product (REST ``id`` or the JS SDK's ``_id``) -> the CSV's Product row and Variant rows.

    So that an API body and an export go through one mapping (:func:`product_record`).
    Variant rows are made only when the product manages variants (``manageVariants``);
    otherwise every combination of choices sells at the product's price, as in the CSV.
    """
    price = product.get("priceData") or product.get("price") or {}
    code = str(price.get("currency") or "").upper() if isinstance(price, dict) else ""
    if code and code != currency.upper():
        raise RowError(f"price is in {code} but this shop sells in {currency.upper()}")
    base = Decimal(_number(price.get("price")) or "0") if isinstance(price, dict) else Decimal(0)
    discount = product.get("discount") or {}
    mode = str(discount.get("type") or "").upper()
    media = (product.get("media") or {}).get("items") or []
    row: dict[str, str] = {
        "handleId": str(product.get("id") or product.get("_id") or ""),
        "name": str(product.get("name") or ""),
        "description": str(product.get("description") or ""),
        "productImageUrl": ";".join(str((m.get("image") or {}).get("url") or "") for m in media
                                    if isinstance(m, dict) and (m.get("image") or {}).get("url")),
        "sku": str(product.get("sku") or ""),
        "ribbon": str(product.get("ribbon") or ""),
        "price": _number(price.get("price")) if isinstance(price, dict) else "",
        "visible": _flag(product.get("visible")),
        "discountMode": mode if mode in ("PERCENT", "AMOUNT") else "",
        "discountValue": _number(discount.get("value")) if mode in ("PERCENT", "AMOUNT") else "",
        "inventory": _stock_text(product.get("stock") or {}),
        "brand": str(product.get("brand") or ""),
    }
    options = [o for o in product.get("productOptions") or [] if isinstance(o, dict)]
    for n, option in enumerate(options[:OPTION_SLOTS], start=1):
        row[f"productOptionName{n}"] = str(option.get("name") or "")
        row[f"productOptionType{n}"] = "COLOR" if str(option.get("optionType")).lower() == "color" else "DROP_DOWN"
        row[f"productOptionDescription{n}"] = ";".join(
            str(c.get("description") or "") for c in option.get("choices") or [] if isinstance(c, dict))
    for n, section in enumerate((product.get("additionalInfoSections") or [])[:INFO_SLOTS], start=1):
        if isinstance(section, dict):
            row[f"additionalInfoTitle{n}"] = str(section.get("title") or "")
            row[f"additionalInfoDescription{n}"] = str(section.get("description") or "")
    variant_rows: list[dict[str, str]] = []
    if product.get("manageVariants"):
        for entry in product.get("variants") or []:
            if not isinstance(entry, dict):
                continue
            data = entry.get("variant") or {}
            choices = entry.get("choices") or {}
            variant_price = Decimal(_number((data.get("priceData") or {}).get("price")) or str(base))
            variant_row = {
                "handleId": row["handleId"], "fieldType": "Variant", "sku": str(data.get("sku") or ""),
                "surcharge": format(variant_price - base, "f"), "visible": _flag(data.get("visible")),
                "inventory": _stock_text(entry.get("stock") or {}),
            }
            for n, option in enumerate(options[:OPTION_SLOTS], start=1):
                variant_row[f"productOptionDescription{n}"] = str(choices.get(str(option.get("name")), ""))
            variant_rows.append(variant_row)
    return row, variant_rows


def parse_v1_products(products: Sequence[object], currency: str) -> ParsedCatalog:
    """Wix Stores Catalog V1 ``queryProducts`` results -> products; the "row" is the 1-based position."""
    exponent(currency)
    parsed = ParsedCatalog(format="wix", products=[], rejected=[], warnings=[])
    for position, product in enumerate(products, start=1):
        if not isinstance(product, dict):
            parsed.rejected.append(RowIssue(position, None, f"product {position} is not a JSON object"))
            continue
        ident = str(product.get("id") or product.get("_id") or "") or None
        try:
            row, variant_rows = product_rows(product, currency)
            record, bad, notes = product_record(row, [(position, v) for v in variant_rows], currency, position)
        except RowError as exc:
            parsed.rejected.append(RowIssue(position, ident, exc.reason))
            continue
        record.source_rows = [position]
        parsed.products.append(record)
        parsed.rejected.extend(bad)
        parsed.warnings.extend(notes)
    return parsed


# ------------------------------------------------------------ Catalog V3 API products


def _amount(value: object) -> str:
    return str(value.get("amount") or "").strip() if isinstance(value, dict) else ""


def _media_url(media: object) -> str:
    """A V3 media entry -> its public URL (by its Wix media id; ``wix:image://`` is not a URL)."""
    if not isinstance(media, dict):
        return ""
    ident = str(media.get("_id") or media.get("id") or media.get("uploadId") or "").strip()
    if ident:
        return image_url(ident)
    url = str(media.get("url") or "").strip()
    return url if url.startswith(("http://", "https://")) else ""


def v3_product_record(product: Mapping[str, Any], currency: str, row: int) -> tuple[ImportedProduct, list[RowIssue]]:
    """A Catalog V3 product *with* ``variantsInfo`` (what ``getProduct`` returns) -> ``(product, rejected variants)``.

    V3 bodies carry no currency (it is the site's): amounts (decimal strings) are read in
    ``currency``. Variants name their choices by ``optionChoiceIds``; the names come from the
    product's ``options``. V3 variants carry no stock quantity (inventory is another API):
    stock is 0 until the inventory is read. Raises :class:`RowError` for an unusable product.
    """
    handle = str(product.get("id") or product.get("_id") or "").strip()
    if not handle:
        raise RowError("missing id")
    title = str(product.get("name") or "").strip()
    if not title:
        raise RowError("missing name")
    info = product.get("variantsInfo")
    variants = info.get("variants") if isinstance(info, dict) else None
    if not isinstance(variants, list):
        raise RowError("no variantsInfo: read the product with getProduct (a query returns only a summary)")
    options: list[tuple[str, str, dict[str, str]]] = []  # (option id, name, choice id -> name)
    for option in product.get("options") or []:
        if isinstance(option, dict):
            choices = (option.get("choicesSettings") or {}).get("choices") or []
            options.append((str(option.get("_id") or option.get("id") or ""), str(option.get("name") or ""),
                            {str(c.get("choiceId")): str(c.get("name") or c.get("key") or "")
                             for c in choices if isinstance(c, dict)}))
    media = product.get("media") or {}
    items = (media.get("itemsInfo") or {}).get("items") or [] if isinstance(media, dict) else []
    ribbon, brand = product.get("ribbon") or {}, product.get("brand") or {}
    record = ImportedProduct(
        external_id=handle, title=title, description=str(product.get("plainDescription") or "").strip(),
        status="active" if product.get("visible", True) is not False else "draft", category_path=[],
        brand=str(brand.get("name") or "").strip() or None if isinstance(brand, dict) else None, tags=[],
        image_urls=dedupe(u for u in [_media_url(media.get("main") if isinstance(media, dict) else None),
                                      *(_media_url(i) for i in items)] if u),
        option_names=[name for _, name, _ in options], variants=[],
        attributes={"ribbon": str(ribbon.get("name"))} if isinstance(ribbon, dict) and ribbon.get("name") else {},
        source_rows=[row],
    )
    rejected: list[RowIssue] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for variant in variants:
        if not isinstance(variant, dict):
            continue
        try:
            chosen: dict[str, str] = {}
            for choice in variant.get("choices") or []:
                ids = choice.get("optionChoiceIds") or {} if isinstance(choice, dict) else {}
                option = next((o for o in options if o[0] == str(ids.get("optionId"))), None)
                if option is None or str(ids.get("choiceId")) not in option[2]:
                    raise RowError(f"variant {variant.get('_id') or variant.get('id')} names an unknown choice")
                chosen[option[1]] = option[2][str(ids.get("choiceId"))]
            if list(chosen) != record.option_names:
                raise RowError(f"variant {variant.get('_id') or variant.get('id')} does not choose every option")
            price_data = variant.get("price") or {}
            price = parse_price(_amount(price_data.get("actualPrice")), currency, "price")
            compare_text = _amount(price_data.get("compareAtPrice"))
            compare = parse_price(compare_text, currency, "compare-at price") if compare_text else None
            if option_key(chosen) in seen:
                raise RowError(f"duplicate variant: same choices ({variant_title(chosen)})")
        except RowError as exc:
            rejected.append(RowIssue(row, handle, exc.reason))
            continue
        seen.add(option_key(chosen))
        sku, _ = clean_sku(str(variant.get("sku") or ""))
        record.variants.append(ImportedVariant(
            external_id=str(variant.get("_id") or variant.get("id") or "") or None, sku=sku,
            title=variant_title(chosen), options=chosen, price=price,
            compare_at_price=compare if compare is not None and compare > price else None, stock=0,
            weight_grams=None, barcode=None, image_url=_media_url(variant.get("media")) or None,
        ))
    if not record.variants:
        raise RowError("none of the product's variants could be imported")
    return record, rejected


def parse_v3_products(products: Sequence[object], currency: str) -> ParsedCatalog:
    """Wix Stores Catalog V3 ``getProduct`` results -> products; the "row" is the 1-based position."""
    exponent(currency)
    parsed = ParsedCatalog(format="wix", products=[], rejected=[], warnings=[])
    for position, item in enumerate(products, start=1):
        product = item.get("product", item) if isinstance(item, dict) else item
        if not isinstance(product, dict):
            parsed.rejected.append(RowIssue(position, None, f"product {position} is not a JSON object"))
            continue
        try:
            record, bad = v3_product_record(product, currency, position)
        except RowError as exc:
            parsed.rejected.append(RowIssue(position, str(product.get("id") or product.get("_id") or "") or None,
                                            exc.reason))
            continue
        parsed.products.append(record)
        parsed.rejected.extend(bad)
    return parsed
