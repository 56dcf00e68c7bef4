"""What the catalog importers produce, and the small parsing helpers they share.

The dataclasses are the public contract with the service layer that persists an
import. The helpers below them (decoding, CSV reading, prices, stock, weights,
barcodes) are internal to :mod:`mercato.catalog.importers`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from mercato.kit.money import MoneyError, parse_amount

FORMATS = (
    "woocommerce", "shopify_csv", "shopify_json", "generic_csv", "prestashop",
    "square", "wix", "magento", "opencart",
)

STATUSES = ("active", "draft", "archived")


@dataclass
class ImportedVariant:
    external_id: str | None
    sku: str | None
    title: str
    options: dict[str, str]
    price: int
    compare_at_price: int | None
    stock: int
    weight_grams: int | None
    barcode: str | None
    image_url: str | None = None


@dataclass
class ImportedProduct:
    external_id: str
    title: str
    description: str
    status: str
    category_path: list[str]
    brand: str | None
    tags: list[str]
    image_urls: list[str]
    option_names: list[str]
    variants: list[ImportedVariant]
    attributes: dict[str, str]
    source_rows: list[int]


@dataclass
class RowIssue:
    row: int
    external_id: str | None
    reason: str


@dataclass
class ParsedCatalog:
    format: str
    products: list[ImportedProduct]
    rejected: list[RowIssue]
    warnings: list[RowIssue] = field(default_factory=list)


class CatalogFormatError(ValueError):
    """The file as a whole cannot be read; the message says why."""


class RowError(Exception):
    """A single row (or record) is unusable; ``reason`` is a human sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- text


def decode(data: bytes, what: str = "the file") -> str:
    """Bytes of an upload -> text. UTF-8 only (a UTF-8 BOM is dropped)."""
    if not data.strip():
        raise CatalogFormatError(f"{what} is empty")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CatalogFormatError(
            f"{what} is a spreadsheet (Excel/ZIP), not a CSV or JSON export: save it as 'CSV UTF-8' and retry"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CatalogFormatError(f"{what} is UTF-16 encoded: save it as UTF-8 and retry")
    if b"\x00" in data[:65536]:
        raise CatalogFormatError(f"{what} is binary data, not a CSV or JSON export")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogFormatError(
            f"{what} is not UTF-8 (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}): "
            "export it again as UTF-8"
        ) from None
    return text


def norm_header(name: str) -> str:
    """Header name -> comparison key: drop '(...)' hints, '*', '#', case and punctuation.

    ``"Categories (x,y,z...)"`` -> ``"categories"``, ``"Name *"`` -> ``"name"``,
    ``"product_id"`` -> ``"productid"``.
    """
    without_hints = re.sub(r"\([^)]*\)", "", name)
    return re.sub(r"[^0-9a-z]", "", without_hints.lower())


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV, judged on its header line: ',' ';' or TAB."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts.values())
    if best == 0:
        return ","
    for d in (",", ";", "\t"):
        if counts[d] == best:
            return d
    return ","  # pragma: no cover - unreachable


@dataclass
class CsvRow:
    number: int  # 1-based data row number (header excluded)
    values: dict[str, str]  # header -> stripped value ('' when absent)
    extra: list[str]  # non-empty values beyond the header's width

    def get(self, column: str | None) -> str:
        if column is None:
            return ""
        return self.values.get(column, "")


@dataclass
class CsvTable:
    header: list[str]
    rows: list[CsvRow]

    def column(self, *names: str) -> str | None:
        """The header matching one of ``names`` (compared with :func:`norm_header`)."""
        wanted = [norm_header(n) for n in names]
        for key in wanted:
            for h in self.header:
                if norm_header(h) == key:
                    return h
        return None

    def require(self, what: str, **columns: str | None) -> None:
        missing = [label for label, col in columns.items() if col is None]
        if missing:
            raise CatalogFormatError(
                f"{what}: required column(s) missing: {', '.join(missing)} "
                f"(found: {', '.join(self.header[:12])}{', ...' if len(self.header) > 12 else ''})"
            )


def read_csv(text: str, delimiter: str | None = None, what: str = "the file") -> CsvTable:
    """Parse CSV text (CRLF/LF, quoted fields with newlines) into a header and rows.

    Rows that are entirely empty are skipped but still counted, so row numbers
    match the spreadsheet (data row N is spreadsheet line N + 1 when no field
    holds a line break). Short rows are padded; values beyond the header's
    width are kept in ``extra`` when non-empty (a trailing empty field, as in
    PrestaShop exports, is ignored).
    """
    delim = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise CatalogFormatError(
            f"{what} is not readable CSV (record {reader.line_num}): {exc}; "
            "an unclosed quote is the usual cause"
        ) from None
    start = next((i for i, record in enumerate(records) if any(f.strip() for f in record)), None)
    if start is None:
        raise CatalogFormatError(f"{what} has no header row")
    header = [h.strip().lstrip("\ufeff") for h in records[start]]
    rows: list[CsvRow] = []
    width = len(header)
    for offset, record in enumerate(records[start + 1 :], start=1):
        if not any(f.strip() for f in record):
            continue
        values: dict[str, str] = {}
        for i, name in enumerate(header):
            if name and name not in values:
                values[name] = record[i].strip() if i < len(record) else ""
        extra = [v.strip() for v in record[width:] if v.strip()]
        rows.append(CsvRow(number=offset, values=values, extra=extra))
    return CsvTable(header=header, rows=rows)


def ragged_warnings(table: CsvTable, external_id: str | None = None) -> list[RowIssue]:
    return [
        RowIssue(
            row.number,
            external_id,
            f"row has more values than the header's {len(table.header)} columns; the extra values "
            f"({', '.join(repr(v) for v in row.extra[:3])}) were ignored",
        )
        for row in table.rows
        if row.extra
    ]


# -------------------------------------------------------------------------- values


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


def _check_commas(text: str, label: str) -> None:
    """A comma is only accepted as a thousands separator (``1,299.00``), never as a decimal point."""
    stripped = text.strip()
    if "," in stripped and not _THOUSANDS.match(stripped):
        raise RowError(
            f"{label} '{stripped}' has a comma that is not a thousands separator; use '.' for decimals"
        )


def _decimal(text: str) -> Decimal | None:
    cleaned = text.strip().replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_price(text: str, currency: str, label: str = "price") -> int:
    """A non-negative decimal string -> minor units (via :func:`parse_amount`)."""
    value = _decimal(text)
    if not text.strip():
        raise RowError(f"missing {label}")
    if value is None:
        raise RowError(f"{label} '{text.strip()}' is not a number")
    _check_commas(text, label)
    if value < 0:
        raise RowError(f"{label} '{text.strip()}' is negative")
    try:
        return parse_amount(text, currency)
    except MoneyError:
        raise RowError(f"{label} '{text.strip()}' has more decimals than {currency.upper()} allows") from None


def parse_optional_price(text: str, currency: str, label: str) -> int | None:
    return parse_price(text, currency, label) if text.strip() else None


def parse_signed_price(text: str, currency: str, label: str) -> int:
    """Like :func:`parse_price` but a leading '-' is allowed (price impacts)."""
    stripped = text.strip()
    if not stripped:
        return 0
    if stripped.startswith("-"):
        return -parse_price(stripped[1:], currency, label)
    return parse_price(stripped.lstrip("+"), currency, label)


def parse_decimal(text: str, label: str) -> Decimal | None:
    """Empty -> None; a decimal (``.5``, ``1,200.5``) -> Decimal; otherwise RowError."""
    if not text.strip():
        return None
    value = _decimal(text)
    if value is None:
        raise RowError(f"{label} '{text.strip()}' is not a number")
    _check_commas(text, label)
    return value


def parse_stock(text: str, label: str = "stock") -> tuple[int, str | None]:
    """``(units on hand, problem)``. Empty -> 0; ``"12.0"`` (spreadsheet float) -> 12.

    A negative quantity (oversold) becomes 0 with a problem to report as a warning;
    a non-integer raises :class:`RowError`.
    """
    value = parse_decimal(text, label)
    if value is None:
        return 0, None
    if value != value.to_integral_value():
        raise RowError(f"{label} '{text.strip()}' is not a whole number")
    if value < 0:
        return 0, f"{label} '{text.strip()}' is negative; imported as 0"
    return int(value), None


_GRAMS_PER_UNIT: dict[str, Decimal] = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "lb": Decimal("453.59237"),
    "lbs": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}


def to_grams(value: Decimal | None, unit: str) -> int | None:
    """A weight in ``unit`` (g, kg, lb(s), oz) -> whole grams, rounded half up."""
    if value is None:
        return None
    factor = _GRAMS_PER_UNIT.get(unit.strip().lower())
    if factor is None:
        raise RowError(f"unknown weight unit '{unit}'")
    if value < 0:
        raise RowError(f"weight '{value}' is negative")
    return int((value * factor).to_integral_value(rounding=ROUND_HALF_UP))


_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")


def clean_barcode(text: str) -> tuple[str | None, str | None]:
    """``(barcode, problem)``. Excel's ``1.23457E+11`` lost digits for good: ``(None, reason)``."""
    value = text.strip().lstrip("'")
    if not value:
        return None, None
    if _SCIENTIFIC.match(value):
        return None, (
            f"barcode '{value}' is in spreadsheet scientific notation and its digits are lost; "
            "it was not imported (re-export the file without opening it in Excel to keep barcodes)"
        )
    return value, None


_TRUE = frozenset({"y", "yes", "true", "1", "on", "t"})
_FALSE = frozenset({"n", "no", "false", "0", "off", "f"})


def parse_flag(text: str, label: str, default: bool) -> bool:
    """A yes/no cell as spreadsheets leave it: ``Y``/``N``, ``TRUE``/``FALSE`` (Excel), ``1``/``0``.

    Empty -> ``default``; anything else raises :class:`RowError` rather than guess.
    """
    value = text.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(f"{label} '{text.strip()}' is not yes/no (Y/N, TRUE/FALSE or 1/0)")


def clean_sku(text: str) -> tuple[str | None, str | None]:
    """``(sku, problem)``. A SKU that a spreadsheet turned into ``6.71253E+11`` lost its digits:
    ``(None, reason)``, so a wrong SKU never lands (and never collides with a real one)."""
    value = text.strip().lstrip("'")
    if not value:
        return None, None
    if _SCIENTIFIC.match(value):
        return None, (
            f"SKU '{value}' is in spreadsheet scientific notation and its digits are lost; "
            "it was imported without a SKU (re-export the file without opening it in Excel)"
        )
    return value, None


def clean(text: str) -> str | None:
    """Stripped text, or None when empty."""
    stripped = text.strip()
    return stripped or None


def split_list(text: str, separators: str = ",") -> list[str]:
    """Split on any of ``separators``; strip; drop empties and duplicates (order kept)."""
    if not text.strip():
        return []
    parts = re.split("[" + re.escape(separators) + "]", text)
    return dedupe(p.strip() for p in parts)


def dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def category_path(text: str) -> list[str]:
    """``"Clothing > Tshirts"`` -> ``["Clothing", "Tshirts"]``."""
    return [part.strip() for part in text.split(">") if part.strip()]


def variant_title(options: dict[str, str]) -> str:
    return " / ".join(options.values()) if options else "Default"


def compare_at(
    price: int, other: int | None, price_text: str, other_text: str
) -> tuple[int | None, str | None]:
    """``(compare_at_price, problem)``: kept only when above the price; lower -> dropped with a problem."""
    if other is None or other == price:
        return None, None
    if other < price:
        return None, (
            f"compare-at price '{other_text.strip()}' is lower than the price '{price_text.strip()}'; "
            "it was dropped"
        )
    return other, None


def status_from(text: str, default: str = "active") -> tuple[str, str | None]:
    """``(status, problem)`` for an active/draft/archived column; unknown -> draft."""
    value = text.strip().lower()
    if not value:
        return default, None
    if value in STATUSES:
        return value, None
    return "draft", f"status '{text.strip()}' is not one of active, draft, archived; imported as draft"


def option_key(options: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((k.casefold(), v.casefold()) for k, v in options.items())


def first_nonempty(values: Sequence[str]) -> str:
    for value in values:
        if value:
            return value
    return ""
