"""Opaque cursors for keyset pagination: one codec for every list.

A cursor is URL-safe base64 of a JSON array the server wrote. It comes back from the client,
so decoding checks everything a crafted one could get wrong — base64, JSON, an array, its
length and each element's type and range against the shape the caller expects — and answers
``422 invalid_cursor`` for anything else, never a 500 from the query it would have fed.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from mercato.kit.errors import KitError, ValidationFailed

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


#: What a cursor element may be: ``int`` (a 64-bit integer, e.g. an id), ``datetime`` (ISO text
#: with a time zone) or ``str``.
CursorElement = type[int] | type[datetime] | type[str]


def decode_cursor(cursor: str | None, shape: tuple[CursorElement, ...] | None = None) -> list[Any] | None:
    """The values of ``cursor`` (None for the first page).

    With ``shape`` the array must have exactly that many elements, each of that type (datetimes
    are returned parsed); without it the caller checks the elements (``cursor_int``, …).
    """
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise _invalid() from exc
    if not isinstance(value, list):
        raise _invalid()
    if shape is None:
        return value
    if len(value) != len(shape):
        raise _invalid()
    return [_element(kind, item) for kind, item in zip(shape, value, strict=True)]


def _element(kind: CursorElement, value: Any) -> Any:
    if kind is datetime:
        return cursor_datetime(value)
    if kind is int:
        return cursor_int(value)
    if not isinstance(value, str) or len(value) > 200:
        raise _invalid()
    return value


# Cursor values are client-supplied: anything that is not what the server wrote is a 422, never a 500.
_INT_MAX = 2**63 - 1


def _invalid() -> ValidationFailed:
    return ValidationFailed("The cursor is not valid.", code=KitError.INVALID_CURSOR)


def cursor_int(value: Any, *, minimum: int = 0, maximum: int = _INT_MAX) -> int:
    """An integer read from a decoded cursor, within a 64-bit range."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _invalid()
    return value


def cursor_datetime(value: Any) -> datetime:
    """A timezone-aware datetime read (as ISO text) from a decoded cursor."""
    if not isinstance(value, str):
        raise _invalid()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _invalid() from exc
    if parsed.tzinfo is None:
        raise _invalid()
    return parsed


def time_id_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The ``(created_at, id)`` position of a newest-first keyset cursor (None: the first page)."""
    values = decode_cursor(cursor, (datetime, int))
    if values is None:
        return None
    return values[0], values[1]


def clamp_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    return max(1, min(limit, maximum))
