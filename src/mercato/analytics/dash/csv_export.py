"""CSV export of dashboard tables, safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or a
carriage return) as a formula: a product title or a traffic source name typed by someone else could
then run on the seller's machine. Such text cells get a leading ``'``, which spreadsheets show as
text. Numbers are written as numbers (a negative figure such as a refund stays a number)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text: ``None`` is empty, ints and floats as they are, other text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """One header line, then a line per row, every cell through :func:`safe_cell` (CRLF, RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
