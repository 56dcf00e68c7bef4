"""Keyset cursors: what ``time_id_cursor`` accepts and the clear error for anything else."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import decode_cursor, encode_cursor, time_id_cursor


def test_a_time_and_id_cursor_round_trips() -> None:
    at = datetime(2026, 11, 30, 12, 0, 1, 5, tzinfo=UTC)
    assert time_id_cursor(None) is None
    assert time_id_cursor(encode_cursor([at.isoformat(), 42])) == (at, 42)


@pytest.mark.parametrize("values", [
    ["2026-11-30T12:00:00+00:00"],  # too short
    ["2026-11-30T12:00:00+00:00", 1, 2],  # too long
    ["2026-11-30T12:00:00", 1],  # no time zone
    ["yesterday", 1],
    ["2026-11-30T12:00:00+00:00", -1],
    ["2026-11-30T12:00:00+00:00", True],
    [1, 1],
])
def test_anything_else_is_invalid_cursor(values: list[object]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        time_id_cursor(encode_cursor(values))
    assert caught.value.code == "invalid_cursor"


def test_garbage_is_invalid_cursor() -> None:
    with pytest.raises(ValidationFailed):
        time_id_cursor("%%%not-base64%%%")


# --- the one codec: decode_cursor with the shape the caller expects -----------------------------


def test_a_shaped_cursor_round_trips_with_typed_values() -> None:
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor([41]), (int,)) == [41]
    assert decode_cursor(encode_cursor(["top", at.isoformat(), 7]), (str, datetime, int)) == ["top", at, 7]
    assert decode_cursor(None, (int,)) is None and decode_cursor("", (int,)) is None


@pytest.mark.parametrize("cursor", [
    "WyJ4Il0",  # ["x"]
    base64.urlsafe_b64encode(b"[1e30]").decode(),
    base64.urlsafe_b64encode(b"[null]").decode(),
    base64.urlsafe_b64encode(b"[9223372036854775808]").decode(),
    base64.urlsafe_b64encode(b"[true]").decode(),
    base64.urlsafe_b64encode(b"[1.0]").decode(),
    base64.urlsafe_b64encode(b"[1, 2]").decode(),  # wrong length
    base64.urlsafe_b64encode(b"[]").decode(),
    base64.urlsafe_b64encode(b'{"id": 1}').decode(),  # not an array
    base64.urlsafe_b64encode(b"[1").decode(),  # not JSON
    base64.urlsafe_b64encode(b"[\xff]").decode(),  # not UTF-8
    "%%%not-base64%%%",
    "é",
    "A",  # one base64 character: no byte at all
])
def test_a_crafted_cursor_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor, (int,))
    assert caught.value.code == "invalid_cursor" and caught.value.status == 422
