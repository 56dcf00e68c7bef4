"""Shopify product CSV (Admin > Products > Export / the Help Center template)."""

from __future__ import annotations

from .records import (
    CsvRow,
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
    first_nonempty,
    option_key,
    parse_decimal,
    parse_optional_price,
    parse_price,
    parse_stock,
    ragged_warnings,
    read_csv,
    split_list,
    status_from,
    to_grams,
    variant_title,
)

_NO_POSITION = 1_000_000


def parse_shopify_csv(text: str, currency: str) -> ParsedCatalog:
    table = read_csv(text, ",")
    c_handle, c_title, c_price = table.column("Handle"), table.column("Title"), table.column("Variant Price")
    table.require("Shopify CSV", Handle=c_handle, Title=c_title, **{"Variant Price": c_price})
    c_option_names = [table.column(f"Option{i} Name") for i in (1, 2, 3)]
    c_option_values = [table.column(f"Option{i} Value") for i in (1, 2, 3)]
    c = {
        "body": table.column("Body (HTML)", "Body"),
        "vendor": table.column("Vendor"),
        "category": table.column("Product Category"),
        "type": table.column("Type"),
        "tags": table.column("Tags"),
        "published": table.column("Published"),
        "status": table.column("Status"),
        "sku": table.column("Variant SKU"),
        "grams": table.column("Variant Grams"),
        "qty": table.column("Variant Inventory Qty"),
        "compare": table.column("Variant Compare At Price"),
        "barcode": table.column("Variant Barcode"),
        "image": table.column("Image Src"),
        "image_position": table.column("Image Position"),
        "variant_image": table.column("Variant Image"),
        "seo_title": table.column("SEO Title"),
        "seo_description": table.column("SEO Description"),
        "gift_card": table.column("Gift Card"),
    }
    rejected: list[RowIssue] = []
    warnings: list[RowIssue] = ragged_warnings(table)
    groups: dict[str, list[CsvRow]] = {}
    for row in table.rows:
        handle = row.get(c_handle)
        if not handle:
            rejected.append(RowIssue(row.number, None, "missing Handle"))
            continue
        groups.setdefault(handle, []).append(row)

    products: list[ImportedProduct] = []
    for handle, rows in groups.items():
        first = rows[0]
        title = first_nonempty([r.get(c_title) for r in rows])
        if not title:
            rejected.extend(
                RowIssue(r.number, handle, f"missing Title: no row of handle '{handle}' has a Title")
                for r in rows
            )
            continue
        option_names = [first.get(col) for col in c_option_names]
        status, status_problem = status_from(row_status(first, c["status"], c["published"]))
        if status_problem:
            warnings.append(RowIssue(first.number, handle, status_problem))
        product_type = first.get(c["type"])
        attributes: dict[str, str] = {}
        for key, col in (("product_type", c["type"]), ("seo_title", c["seo_title"])):
            if first.get(col):
                attributes[key] = first.get(col)
        if first.get(c["seo_description"]):
            attributes["seo_description"] = first.get(c["seo_description"])
        if first.get(c["gift_card"]).upper() == "TRUE":
            attributes["gift_card"] = "yes"
        product = ImportedProduct(
            external_id=handle,
            title=title,
            description=first.get(c["body"]),
            status=status,
            category_path=category_path(first.get(c["category"])) or ([product_type] if product_type else []),
            brand=clean(first.get(c["vendor"])),
            tags=split_list(first.get(c["tags"])),
            image_urls=[],
            option_names=[],
            variants=[],
            attributes=attributes,
            source_rows=[],
        )
        images: list[tuple[int, int, str]] = []
        variant_images: list[str] = []
        seen: dict[tuple[tuple[str, str], ...], int] = {}
        for row in rows:
            values = [row.get(col) for col in c_option_values]
            is_variant = any(values) or bool(row.get(c["sku"])) or bool(row.get(c_price))
            image = row.get(c["image"])
            if not is_variant:
                if image or row is first:
                    product.source_rows.append(row.number)
                    if image:
                        images.append((_position(row.get(c["image_position"])), row.number, image))
                else:
                    rejected.append(RowIssue(row.number, handle, "row has neither variant data nor an image"))
                continue
            sku = clean(row.get(c["sku"]))
            try:
                options = _options(option_names, values)
                okey = option_key(options)
                if okey in seen:
                    raise RowError(
                        f"duplicate variant: same options ({variant_title(options)}) as row {seen[okey]}"
                    )
                price_text, compare_text = row.get(c_price), row.get(c["compare"])
                price = parse_price(price_text, currency, "Variant Price")
                compare, compare_problem = compare_at(
                    price,
                    parse_optional_price(compare_text, currency, "Variant Compare At Price"),
                    price_text,
                    compare_text,
                )
                stock, stock_problem = parse_stock(row.get(c["qty"]), "Variant Inventory Qty")
                grams = to_grams(parse_decimal(row.get(c["grams"]), "Variant Grams"), "g")
            except RowError as exc:
                rejected.append(RowIssue(row.number, handle, exc.reason))
                continue
            barcode, barcode_problem = clean_barcode(row.get(c["barcode"]))
            for problem in (compare_problem, stock_problem, barcode_problem):
                if problem:
                    warnings.append(RowIssue(row.number, handle, f"SKU {sku}: {problem}" if sku else problem))
            seen[okey] = row.number
            variant_image = clean(row.get(c["variant_image"]))
            product.variants.append(
                ImportedVariant(
                    external_id=None,
                    sku=sku,
                    title=variant_title(options),
                    options=options,
                    price=price,
                    compare_at_price=compare,
                    stock=stock,
                    weight_grams=grams,
                    barcode=barcode,
                    image_url=variant_image,
                )
            )
            if variant_image:
                variant_images.append(variant_image)
            if image:
                images.append((_position(row.get(c["image_position"])), row.number, image))
            product.source_rows.append(row.number)
        if not product.variants:
            rejected.extend(
                RowIssue(n, handle, f"product '{handle}' has no importable variant")
                for n in product.source_rows
            )
            continue
        product.option_names = list(product.variants[0].options)
        product.image_urls = dedupe([url for _, _, url in sorted(images)] + variant_images)
        products.append(product)
    return ParsedCatalog(format="shopify_csv", products=products, rejected=rejected, warnings=warnings)


def row_status(row: CsvRow, status_col: str | None, published_col: str | None) -> str:
    """The Status column when present, else derived from Published (TRUE -> active, FALSE -> draft)."""
    status = row.get(status_col)
    if status:
        return status
    published = row.get(published_col).upper()
    if published == "FALSE":
        return "draft"
    return "active"


def _position(text: str) -> int:
    return int(text) if text.isdigit() else _NO_POSITION


def _options(names: list[str], values: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for i, (name, value) in enumerate(zip(names, values, strict=True), start=1):
        if value and not name:
            raise RowError(f"Option{i} Value '{value}' has no Option{i} Name on the product's first row")
        if name and not value:
            raise RowError(f"missing Option{i} Value (for option '{name}')")
        if name:
            options[name] = value
    if list(options.items()) == [("Title", "Default Title")]:
        return {}
    return options
