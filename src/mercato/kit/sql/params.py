"""Plain SQL text and its parameters, for both drivers: ``IN :ids`` lists, ``:name`` numbered as
asyncpg's ``$n``, values converted the way SQLAlchemy stores them (UTC datetimes and JSON as
text on SQLite)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, bindparam, text

SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a datetime on SQLite (UTC, naive)
_PARAM_RE = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)\b")


_NAMED_RE = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)\b")


@functools.lru_cache(maxsize=1024)
def numbered(sql: str, given: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """The ``:name`` parameters among ``given`` as asyncpg's ``$1, $2, …`` (a name used twice
    keeps its number), and the names in number order. Anything else that looks like one (a
    ``::type`` cast, ``':text'`` in a string literal) is left alone."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in given:
            return match.group(0)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED_RE.sub(number, sql), tuple(names)


@functools.lru_cache(maxsize=64)
def positional(sql: str) -> tuple[str, str]:
    """A statement written with ``?`` placeholders as asyncpg's ``$1, $2, …`` and as named
    ``:p0, :p1, …`` (for ``AsyncSession.execute``). The statement has no ``?`` of its own."""
    parts = sql.split("?")
    dollars = parts[0] + "".join(f"${i + 1}{part}" for i, part in enumerate(parts[1:]))
    named = parts[0] + "".join(f":p{i}{part}" for i, part in enumerate(parts[1:]))
    return dollars, named


def sqlite_stamp(value: datetime) -> str:
    """A datetime as SQLAlchemy stores it on SQLite (for plain SQL on the driver): the format
    ``SQLITE_STAMP``, written by ``isoformat`` (cheaper than ``strftime``) without its offset."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


_SEQUENCES = (list, tuple, set, frozenset)  # a tuple: ``isinstance`` with ``A | B`` builds the union each time


def expand_lists(sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``IN :ids`` with a list value → ``IN (:ids_0, :ids_1, …)`` (``(NULL)`` when empty), for both
    drivers; every other parameter is passed through."""
    for value in params.values():
        if isinstance(value, _SEQUENCES):
            break
    else:  # the usual case: nothing to expand
        return sql, dict(params)
    lists = {k: list(v) for k, v in params.items() if isinstance(v, _SEQUENCES)}
    out = {k: v for k, v in params.items() if k not in lists}

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in lists:
            return match.group(0)
        values = lists[name]
        for i, value in enumerate(values):
            out[f"{name}_{i}"] = value
        return "(" + ", ".join(f":{name}_{i}" for i in range(len(values))) + ")" if values else "(NULL)"

    return _PARAM_RE.sub(placeholder, sql), out


_JSON_VALUES = (dict, list)


def sqlite_values(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters as SQLAlchemy stores them on SQLite: UTC datetimes and JSON as text (in place)."""
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = sqlite_stamp(value)
        elif isinstance(value, _JSON_VALUES):
            values[key] = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return values


def asyncpg_value(value: Any) -> Any:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode() if isinstance(value, dict | list) else value


def typed_text(sql: str, sample: Mapping[str, Any]) -> Any:
    """``text(sql)`` with JSON-typed parameters for the dict / list values of ``sample``."""
    statement = text(sql)
    typed = [bindparam(key, type_=JSON()) for key, value in sample.items() if isinstance(value, dict | list)]
    return statement.bindparams(*typed) if typed else statement


def as_datetime(value: Any) -> datetime | None:
    """A datetime column read by a plain statement (text on SQLite) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
