"""Shopify Admin REST ``products.json`` (an array of ``product`` objects, or ``{"products": [...]}``)."""

from __future__ import annotations

import json

from .records import (
    CatalogFormatError,
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
    parse_price,
    parse_stock,
    split_list,
    status_from,
    to_grams,
    variant_title,
)


def load_products(text: str) -> list[object]:
    """The list of product objects in a Shopify JSON document, or CatalogFormatError."""
    try:
        document: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogFormatError(
            f"the file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if isinstance(document, dict):
        if isinstance(document.get("products"), list):
            products: list[object] = document["products"]
            return products
        if isinstance(document.get("product"), dict):
            return [document["product"]]
    if isinstance(document, list):
        return list(document)
    raise CatalogFormatError(
        "the JSON is not a Shopify product export: expected an array of products or an object with a "
        "'products' array"
    )


def _text(value: object) -> str:
    """A JSON scalar as text ('' for null); numbers keep their JSON spelling."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    return ""


def _id(value: object) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


def _dicts(value: object) -> list[dict[str, object]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _option_names(product: dict[str, object]) -> list[str]:
    raw = product.get("options")
    entries: list[tuple[int, int, str]] = []
    if isinstance(raw, list):
        for i, option in enumerate(raw):
            if isinstance(option, dict):
                position = option.get("position")
                pos = position if isinstance(position, int) and not isinstance(position, bool) else i + 1
                entries.append((pos, i, _text(option.get("name"))))
            elif isinstance(option, str):
                entries.append((i + 1, i, option.strip()))
    return [name or f"Option {i + 1}" for i, (_, _, name) in enumerate(sorted(entries))]


def _tags(value: object) -> list[str]:
    if isinstance(value, list):
        return dedupe(_text(v) for v in value)
    return split_list(_text(value))


def parse_shopify_json(text: str, currency: str) -> ParsedCatalog:
    items = load_products(text)
    products: list[ImportedProduct] = []
    rejected: list[RowIssue] = []
    warnings: list[RowIssue] = []
    variant_owner: dict[str, tuple[int, str]] = {}  # variant id -> (row, product id) first seen

    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            rejected.append(RowIssue(row, None, f"product {row} is not a JSON object"))
            continue
        product_id = _id(item.get("id"))
        if not product_id:
            rejected.append(RowIssue(row, None, "missing product id"))
            continue
        title = _text(item.get("title"))
        if not title:
            rejected.append(RowIssue(row, product_id, "missing title"))
            continue

        def warn(reason: str, pid: str = product_id, row_number: int = row) -> None:
            warnings.append(RowIssue(row_number, pid, reason))

        status_text = _text(item.get("status"))
        if not status_text:
            status_text = "active" if item.get("published_at") else "draft"
        status, status_problem = status_from(status_text)
        if status_problem:
            warn(status_problem)

        images = sorted(
            enumerate(_dicts(item.get("images"))),
            key=lambda pair: (_position(pair[1].get("position")), pair[0]),
        )
        image_by_id: dict[str, str] = {}
        image_urls: list[str] = []
        for _, image in images:
            src = _text(image.get("src"))
            if not src:
                continue
            image_urls.append(src)
            if _id(image.get("id")):
                image_by_id.setdefault(_id(image.get("id")), src)
            owner = _id(image.get("product_id"))
            if owner and owner != product_id:
                warn(
                    f"image {src} says it belongs to product {owner}; "
                    f"kept on product {product_id}, where it is listed"
                )

        option_names = _option_names(item)
        variants: list[ImportedVariant] = []
        seen_options: dict[tuple[tuple[str, str], ...], str] = {}
        seen_ids: set[str] = set()
        raw_variants = item.get("variants")
        for index, variant in enumerate(_dicts(raw_variants), start=1):
            variant_id = _id(variant.get("id"))
            label = f"variant {variant_id or index}"
            try:
                options = _variant_options(variant, option_names)
                key = option_key(options)
                if key in seen_options:
                    raise RowError(
                        f"{label}: duplicate variant, same options ({variant_title(options)}) "
                        f"as {seen_options[key]}"
                    )
                price_text, compare_text = _text(variant.get("price")), _text(variant.get("compare_at_price"))
                price = parse_price(price_text, currency, "price")
                compare, compare_problem = compare_at(
                    price,
                    parse_optional_price(compare_text, currency, "compare_at_price"),
                    price_text,
                    compare_text,
                )
                quantity = _text(variant.get("inventory_quantity"))
                stock, stock_problem = parse_stock(quantity, "inventory_quantity")
                grams = _grams(variant)
            except RowError as exc:
                reason = exc.reason if exc.reason.startswith(label) else f"{label}: {exc.reason}"
                rejected.append(RowIssue(row, product_id, reason))
                continue
            barcode, barcode_problem = clean_barcode(_text(variant.get("barcode")))
            for problem in (compare_problem, stock_problem, barcode_problem):
                if problem:
                    warn(f"{label}: {problem}")
            owner = _id(variant.get("product_id"))
            if owner and owner != product_id:
                warn(
                    f"{label} says it belongs to product {owner}; "
                    f"kept on product {product_id}, where it is listed"
                )
            external_id: str | None = variant_id or None
            if variant_id and variant_id in seen_ids:
                position = _id(variant.get("position")) or str(index)
                external_id = f"{variant_id}:{position}"
                if external_id in seen_ids:
                    external_id = f"{variant_id}:#{index}"
                warn(
                    f"{label} shares its id with another variant of this product; "
                    f"its external id was made unique as '{external_id}'"
                )
            elif variant_id and variant_id in variant_owner and variant_owner[variant_id][1] != product_id:
                first_row, first_product = variant_owner[variant_id]
                warn(
                    f"variant id {variant_id} is also used by product {first_product} (entry {first_row} of "
                    "the file); variant external ids are only unique within their product"
                )
            if variant_id:
                variant_owner.setdefault(variant_id, (row, product_id))
            if external_id:
                seen_ids.add(external_id)
            seen_ids.add(variant_id)
            seen_options[key] = label
            image_id = _id(variant.get("image_id"))
            image_url = image_by_id.get(image_id) if image_id else None
            if image_id and image_url is None:
                warn(f"{label} refers to image {image_id}, which is not among the product's images")
            variants.append(
                ImportedVariant(
                    external_id=external_id,
                    sku=clean(_text(variant.get("sku"))),
                    title=variant_title(options),
                    options=options,
                    price=price,
                    compare_at_price=compare,
                    stock=stock,
                    weight_grams=grams,
                    barcode=barcode,
                    image_url=image_url,
                )
            )
        if not variants:
            if not _dicts(raw_variants):
                rejected.append(RowIssue(row, product_id, "product has no variants"))
            else:
                rejected.append(RowIssue(row, product_id, "product has no importable variant"))
            continue

        product_type = _text(item.get("product_type"))
        attributes: dict[str, str] = {}
        if product_type:
            attributes["product_type"] = product_type
        handle = _text(item.get("handle"))
        if handle:
            attributes["handle"] = handle
        category = item.get("category")
        category_name = _text(category.get("full_name")) if isinstance(category, dict) else ""
        products.append(
            ImportedProduct(
                external_id=product_id,
                title=title,
                description=_text(item.get("body_html")),
                status=status,
                category_path=category_path(category_name) or ([product_type] if product_type else []),
                brand=clean(_text(item.get("vendor"))),
                tags=_tags(item.get("tags")),
                image_urls=dedupe(image_urls),
                option_names=list(variants[0].options),
                variants=variants,
                attributes=attributes,
                source_rows=[row],
            )
        )
    return ParsedCatalog(format="shopify_json", products=products, rejected=rejected, warnings=warnings)


def _position(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return 1_000_000


def _variant_options(variant: dict[str, object], names: list[str]) -> dict[str, str]:
    values = [_text(variant.get(f"option{i}")) for i in (1, 2, 3)]
    options: dict[str, str] = {}
    for i, value in enumerate(values):
        if not value:
            continue
        name = names[i] if i < len(names) else f"Option {i + 1}"
        options[name] = value
    missing = [names[i] for i in range(min(len(names), 3)) if not values[i]]
    if missing and options:
        raise RowError(f"missing value for option '{missing[0]}'")
    if list(options.items()) == [("Title", "Default Title")]:
        return {}
    return options


def _grams(variant: dict[str, object]) -> int | None:
    grams = _text(variant.get("grams"))
    if grams:
        return to_grams(parse_decimal(grams, "grams"), "g")
    weight = parse_decimal(_text(variant.get("weight")), "weight")
    if weight is None:
        return None
    unit = _text(variant.get("weight_unit")) or "kg"
    return to_grams(weight, unit)
