"""Keyset cursors: what ``time_id_cursor`` accepts and the clear error for anything else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import encode_cursor, time_id_cursor


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
