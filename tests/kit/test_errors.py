"""kit/errors.py: the kit's error codes are one enum, and the strings clients rely on are unchanged."""

from __future__ import annotations

import orjson

from mercato.kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    KitError,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)


def test_the_error_classes_answer_with_the_kit_codes_as_plain_strings() -> None:
    assert [(cls.status, cls.code) for cls in (AppError, ValidationFailed, Unauthorized, Forbidden, NotFound,
                                              Conflict, PayloadTooLarge, TooManyRequests)] == [
        (400, "bad_request"), (422, "validation_error"), (401, "unauthorized"), (403, "forbidden"),
        (404, "not_found"), (409, "conflict"), (413, "payload_too_large"), (429, "too_many_requests")]
    body = NotFound("No such thing.").body()
    assert orjson.loads(orjson.dumps(body)) == {"error": {"code": "not_found", "message": "No such thing.",
                                                          "details": None}}
    assert ValidationFailed("Bad.", code=KitError.INVALID_CURSOR).body()["error"]["code"] == "invalid_cursor"


def test_every_kit_code_is_its_name_in_lower_case() -> None:
    assert all(code.value == code.name.lower() for code in KitError)
    assert len({code.value for code in KitError}) == len(KitError)
