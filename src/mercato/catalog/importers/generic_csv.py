"""Mercato's generic catalog CSV: one row per variant, grouped into products by ``product_id``.

See docs/catalog-import.md for the column reference.
"""

from __future__ import annotations

from collections.abc import Callable

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

REQUIRED_COLUMNS = ("product_id", "title", "price")
PRODUCT_COLUMNS = ("product_id", "title", "description", "status", "category", "brand", "tags", "image_urls")
VARIANT_COLUMNS = (
    "variant_sku",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "option3_name",
    "option3_value",
    "price",
    "compare_at_price",
    "stock",
    "weight_grams",
    "barcode",
    "variant_image_url",
)
COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS

_Getter = Callable[[CsvRow, str], str]


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def parse_generic_csv(text: str, currency: str) -> ParsedCatalog:
    table = read_csv(text)
    col: dict[str, str] = {}
    unknown: list[str] = []
    for header in table.header:
        key = _key(header)
        if key in COLUMNS and key not in col:
            col[key] = header
        elif header:
            unknown.append(header)
    table.require("generic CSV", **{name: col.get(name) for name in REQUIRED_COLUMNS})
    rejected: list[RowIssue] = []
    warnings: list[RowIssue] = ragged_warnings(table)
    if unknown:
        warnings.append(RowIssue(0, None, f"unknown column(s) ignored: {', '.join(unknown)}"))

    def get(row: CsvRow, name: str) -> str:
        return row.get(col.get(name))

    groups: dict[str, list[CsvRow]] = {}
    for row in table.rows:
        product_id = get(row, "product_id")
        if not product_id:
            rejected.append(RowIssue(row.number, None, "missing product_id"))
            continue
        groups.setdefault(product_id, []).append(row)

    products: list[ImportedProduct] = []
    for product_id, rows in groups.items():
        title = first_nonempty([get(r, "title") for r in rows])
        if not title:
            rejected.extend(
                RowIssue(r.number, product_id, f"missing title (no row of product '{product_id}' has one)")
                for r in rows
            )
            continue
        status_row = next((r for r in rows if get(r, "status")), rows[0])
        status, status_problem = status_from(get(status_row, "status"))
        if status_problem:
            warnings.append(RowIssue(status_row.number, product_id, status_problem))
        product = ImportedProduct(
            external_id=product_id,
            title=title,
            description=first_nonempty([get(r, "description") for r in rows]),
            status=status,
            category_path=category_path(first_nonempty([get(r, "category") for r in rows])),
            brand=clean(first_nonempty([get(r, "brand") for r in rows])),
            tags=dedupe(t for r in rows for t in split_list(get(r, "tags"))),
            image_urls=dedupe(u for r in rows for u in split_list(get(r, "image_urls"), " \t\n|")),
            option_names=[],
            variants=[],
            attributes={},
            source_rows=[],
        )
        names_row = next((r for r in rows if any(get(r, f"option{i}_name") for i in (1, 2, 3))), None)
        option_names = [get(names_row, f"option{i}_name") if names_row else "" for i in (1, 2, 3)]
        seen: dict[tuple[tuple[str, str], ...], int] = {}
        for row in rows:
            try:
                options = _options(row, get, option_names, names_row)
                okey = option_key(options)
                if okey in seen:
                    raise RowError(
                        f"duplicate variant: same options ({variant_title(options)}) as row {seen[okey]}"
                    )
                price_text, compare_text = get(row, "price"), get(row, "compare_at_price")
                price = parse_price(price_text, currency, "price")
                compare, compare_problem = compare_at(
                    price,
                    parse_optional_price(compare_text, currency, "compare_at_price"),
                    price_text,
                    compare_text,
                )
                stock, stock_problem = parse_stock(get(row, "stock"), "stock")
                grams = to_grams(parse_decimal(get(row, "weight_grams"), "weight_grams"), "g")
            except RowError as exc:
                rejected.append(RowIssue(row.number, product_id, exc.reason))
                continue
            barcode, barcode_problem = clean_barcode(get(row, "barcode"))
            warnings.extend(
                RowIssue(row.number, product_id, problem)
                for problem in (compare_problem, stock_problem, barcode_problem)
                if problem
            )
            seen[okey] = row.number
            image = clean(get(row, "variant_image_url"))
            product.variants.append(
                ImportedVariant(
                    external_id=None,
                    sku=clean(get(row, "variant_sku")),
                    title=variant_title(options),
                    options=options,
                    price=price,
                    compare_at_price=compare,
                    stock=stock,
                    weight_grams=grams,
                    barcode=barcode,
                    image_url=image,
                )
            )
            if image:
                product.image_urls = dedupe([*product.image_urls, image])
            product.source_rows.append(row.number)
        if not product.variants:
            continue  # every row was rejected, each with its own reason
        product.option_names = list(product.variants[0].options)
        products.append(product)
    return ParsedCatalog(format="generic_csv", products=products, rejected=rejected, warnings=warnings)


def _options(
    row: CsvRow,
    get: _Getter,
    product_names: list[str],
    names_row: CsvRow | None,
) -> dict[str, str]:
    own = [get(row, f"option{i}_name") for i in (1, 2, 3)]
    if any(own) and [n.casefold() for n in own] != [n.casefold() for n in product_names]:
        assert names_row is not None
        raise RowError(
            f"option names ({', '.join(n for n in own if n)}) differ from this product's "
            f"({', '.join(n for n in product_names if n)}, set on row {names_row.number})"
        )
    options: dict[str, str] = {}
    for i, name in enumerate(product_names, start=1):
        value = get(row, f"option{i}_value")
        if value and not name:
            raise RowError(f"option{i}_value '{value}' has no option{i}_name")
        if name and not value:
            raise RowError(f"missing option{i}_value (for option '{name}')")
        if name:
            options[name] = value
    return options
