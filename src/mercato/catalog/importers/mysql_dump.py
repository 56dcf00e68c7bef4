"""Read the rows of a MySQL dump's ``INSERT`` statements without a MySQL server.

A small tokenizer for the SQL that ``mysqldump``, phpMyAdmin and installers such as
OpenCart's write: quoted strings with MySQL's backslash escapes *and* doubled quotes
(``'Canon''s'``, ``'\\r\\n'``), backquoted names, unquoted numbers, ``NULL``, comments
(``--``, ``#``, ``/* */`` including ``/*!40101 … */``), multi-row ``VALUES`` lists, and
``INSERT`` without a column list (the columns then come from the table's ``CREATE TABLE``).
Statements end at a ``;`` outside quotes, so a ``;`` or ``INSERT INTO`` inside a value is
just text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import CatalogFormatError

Value = str | None

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<ident>`(?:[^`]|``)*`)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<punct>[(),;=.+\-*])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}


@dataclass
class Token:
    kind: str  # str | ident | num | word | punct
    text: str  # unquoted, unescaped value for str / ident; as written otherwise
    pos: int


def unquote(literal: str) -> str:
    """A quoted MySQL string literal -> its value (``\\n``, ``\\'``, ``''``, ``\\\\`` … resolved)."""
    quote, body = literal[0], literal[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == quote and i + 1 < len(body) and body[i + 1] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def statements(text: str) -> list[list[Token]]:
    """The dump as a list of statements, each a list of tokens (comments and spaces dropped)."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        raw = match.group()
        if kind == "other":
            if raw in ("'", '"', "`"):
                raise CatalogFormatError(
                    f"the SQL dump has an unterminated {raw} quote on line {_line(text, match.start())}"
                )
            current.append(Token("punct", raw, match.start()))
            continue
        if kind == "punct" and raw == ";":
            if current:
                out.append(current)
            current = []
            continue
        if kind == "str":
            current.append(Token("str", unquote(raw), match.start()))
        elif kind == "ident":
            current.append(Token("ident", raw[1:-1].replace("``", "`"), match.start()))
        else:
            current.append(Token(kind, raw, match.start()))
    if current:
        out.append(current)
    return out


def _name(token: Token) -> str | None:
    return token.text if token.kind in ("ident", "word") else None


def _table_name(tokens: list[Token], i: int) -> tuple[str, int]:
    """``db`.`table`` or ``table`` at ``i`` -> (table, index after it)."""
    name = _name(tokens[i]) if i < len(tokens) else None
    if name is None:
        raise ValueError("table name expected")
    i += 1
    while i + 1 < len(tokens) and tokens[i].text == "." and _name(tokens[i + 1]) is not None:
        name = _name(tokens[i + 1]) or name
        i += 2
    return name, i


def _create_columns(tokens: list[Token]) -> tuple[str, list[str]] | None:
    """``CREATE TABLE t (`a` int, `b` text, PRIMARY KEY …)`` -> (t, [a, b])."""
    words = [t.text.lower() for t in tokens[:6]]  # keywords compared in lower case: any case is valid SQL
    if words[:2] != ["create", "table"] and words[:3] != ["create", "temporary", "table"]:
        return None
    i = 2 if words[1] == "table" else 3
    if words[i:i + 3] == ["if", "not", "exists"]:
        i += 3
    table, i = _table_name(tokens, i)
    if i >= len(tokens) or tokens[i].text != "(":
        return None
    columns: list[str] = []
    depth, expect_name = 0, True
    for token in tokens[i:]:
        if token.text == "(":
            depth += 1
            continue
        if token.text == ")":
            depth -= 1
            if depth == 0:
                break
            continue
        if depth == 1 and token.text == ",":
            expect_name = True
            continue
        if depth == 1 and expect_name:
            expect_name = False
            keyword = token.text.lower() if token.kind == "word" else ""
            if keyword not in ("primary", "key", "unique", "index", "constraint", "foreign", "fulltext",
                               "spatial", "check"):
                columns.append(token.text)
    return table, columns


def _values(tokens: list[Token], i: int, text: str) -> list[list[Value]]:
    """``(v, v), (v, v)`` from ``i`` -> rows of values (texts; ``None`` for NULL)."""
    rows: list[list[Value]] = []
    n = len(tokens)
    expect_tuple = True
    while i < n:
        if tokens[i].text != "(" or not expect_tuple:
            if tokens[i].text == "," and rows and not expect_tuple:
                expect_tuple = True
                i += 1
                continue
            if tokens[i].kind == "word" and tokens[i].text.lower() in ("on", "as"):
                break  # ON DUPLICATE KEY UPDATE … / AS alias
            raise CatalogFormatError(
                f"the SQL dump has an unexpected '{tokens[i].text}' in a VALUES list on line "
                f"{_line(text, tokens[i].pos)}"
            )
        i += 1
        row: list[Value] = []
        parts: list[Token] = []
        depth = 0
        while i < n:
            token = tokens[i]
            if depth == 0 and token.text in (",", ")"):
                row.append(_value(parts))
                parts = []
                i += 1
                if token.text == ")":
                    break
                continue
            if token.text == "(":
                depth += 1
            elif token.text == ")":
                depth -= 1
            parts.append(token)
            i += 1
        else:
            raise CatalogFormatError("the SQL dump ends inside a VALUES tuple")
        rows.append(row)
        expect_tuple = False
    return rows


def _value(parts: list[Token]) -> Value:
    """One value: a literal (``'x'``, ``12.5``, ``-3``, ``NULL``, ``_utf8mb4'x'``) or an expression's text."""
    if len(parts) == 1:
        token = parts[0]
        if token.kind == "word":
            word = token.text.lower()
            if word == "null":
                return None
            if word in ("true", "false"):
                return "1" if word == "true" else "0"
        return token.text
    if len(parts) == 2 and parts[0].text in ("-", "+") and parts[1].kind == "num":
        return (parts[0].text if parts[0].text == "-" else "") + parts[1].text
    if len(parts) == 2 and parts[0].kind == "word" and parts[0].text.startswith("_") and parts[1].kind == "str":
        return parts[1].text  # charset introducer
    return " ".join(p.text for p in parts)


def read_tables(text: str, wanted: set[str] | None = None) -> dict[str, list[dict[str, Value]]]:
    """The rows of every ``INSERT`` (or ``REPLACE``) into the ``wanted`` tables, as column -> value.

    Tables are keyed by their name as written (prefix included). Rows keep dump order;
    a table inserted into by several statements gets all their rows.
    """
    columns_of: dict[str, list[str]] = {}
    tables: dict[str, list[dict[str, Value]]] = {}
    for tokens in statements(text):
        first = tokens[0].text.lower() if tokens[0].kind == "word" else ""
        if first == "create":
            created = _create_columns(tokens)
            if created:
                columns_of[created[0]] = created[1]
            continue
        if first not in ("insert", "replace"):
            continue
        i = 1
        while i < len(tokens) and tokens[i].kind == "word" and tokens[i].text.lower() in (
                "ignore", "low_priority", "delayed", "high_priority", "into"):
            i += 1
        try:
            table, i = _table_name(tokens, i)
        except ValueError:
            raise CatalogFormatError(
                f"the SQL dump has an INSERT without a table name on line {_line(text, tokens[0].pos)}"
            ) from None
        if wanted is not None and table not in wanted:
            continue
        columns: list[str] | None = None
        if i < len(tokens) and tokens[i].text == "(":
            columns = []
            i += 1
            while i < len(tokens) and tokens[i].text != ")":
                if tokens[i].text != ",":
                    columns.append(tokens[i].text)
                i += 1
            i += 1
        if i >= len(tokens) or tokens[i].text.lower() not in ("values", "value"):
            continue  # INSERT … SELECT / SET: nothing literal to read
        if columns is None:
            columns = columns_of.get(table)
            if columns is None:
                raise CatalogFormatError(
                    f"the SQL dump inserts into `{table}` without naming its columns, and has no CREATE TABLE "
                    "for it: dump with complete inserts (mysqldump --complete-insert) or include the schema"
                )
        rows = _values(tokens, i + 1, text)
        bucket = tables.setdefault(table, [])
        for row in rows:
            if len(row) != len(columns):
                raise CatalogFormatError(
                    f"the SQL dump has a row of {len(row)} values for the {len(columns)} columns of `{table}`"
                )
            bucket.append(dict(zip(columns, row, strict=True)))
    return tables
