"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from mercato.kit.errors import ValidationFailed

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed("The cursor is not valid.", code="invalid_cursor") from exc
    if not isinstance(value, list):
        raise ValidationFailed("The cursor is not valid.", code="invalid_cursor")
    return value


# Cursor values are client-supplied: anything that is not what the server wrote is a 422, never a 500.
_INT_MAX = 2**63 - 1


def _invalid() -> ValidationFailed:
    return ValidationFailed("The cursor is not valid.", code="invalid_cursor")


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
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != 2:
        raise _invalid()
    return cursor_datetime(values[0]), cursor_int(values[1])


def clamp_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    return max(1, min(limit, maximum))
