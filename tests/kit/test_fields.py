"""kit/fields.py: the id range, ISO-only dates and moments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from mercato.kit.errors import ValidationFailed
from mercato.kit.fields import MAX_ID, BodyId, IsoDate, IsoDateTime, parse_id


def test_parse_id_takes_decimal_ids_in_range() -> None:
    assert parse_id("1") == 1 and parse_id(str(MAX_ID)) == MAX_ID


@pytest.mark.parametrize("text", ["0", str(MAX_ID + 1), "²", "١٢", "-1", "1e3", ""])
def test_parse_id_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_id(text)
    assert caught.value.status == 422 and caught.value.code == "validation_error"


@pytest.mark.parametrize("value", [0, MAX_ID + 1, True, "1", 1.0])
def test_a_body_id_is_a_json_integer_in_range(value: Any) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(BodyId).validate_python(value)
    assert TypeAdapter(BodyId).validate_python(MAX_ID) == MAX_ID


@pytest.mark.parametrize("value", [0, 86400, 1.5, "86400", " 1e9 ", "-5"])
def test_dates_and_moments_are_never_numbers(value: Any) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(IsoDate).validate_python(value)
    with pytest.raises(ValidationError):
        TypeAdapter(IsoDateTime).validate_python(value)


def test_iso_text_is_a_date_or_a_moment() -> None:
    assert TypeAdapter(IsoDate).validate_python("2001-02-03") == date(2001, 2, 3)
    assert TypeAdapter(IsoDateTime).validate_python("2026-12-01T09:00:00Z") == datetime(2026, 12, 1, 9, tzinfo=UTC)
