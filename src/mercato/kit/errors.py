"""Typed errors with an HTTP status and a stable machine-readable code.

Every failure leaves the API as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class KitError(StrEnum):
    """The error codes the kit itself answers with (docs/api.md, "Error codes"): the generic
    codes of the error classes below, the request-level answers of ``kit/http.py`` and those of
    the kit's shared helpers. Domains have their own enums; a code string never changes."""

    BAD_REQUEST = "bad_request"
    VALIDATION_ERROR = "validation_error"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_REQUESTS = "too_many_requests"
    RATE_LIMITED = "rate_limited"
    HTTP_ERROR = "http_error"
    INTERNAL_ERROR = "internal_error"
    INVALID_CURSOR = "invalid_cursor"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    FILE_TOO_LARGE = "file_too_large"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TOO_LARGE_PIXELS = "image_too_large_pixels"
    INVALID_IMAGE = "invalid_image"
    UNSUPPORTED_IMAGE_FORMAT = "unsupported_image_format"


class AppError(Exception):
    status = 400
    code: str = KitError.BAD_REQUEST

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(AppError):
    status = 422
    code: str = KitError.VALIDATION_ERROR


class Unauthorized(AppError):
    status = 401
    code: str = KitError.UNAUTHORIZED


class Forbidden(AppError):
    status = 403
    code: str = KitError.FORBIDDEN


class NotFound(AppError):
    status = 404
    code: str = KitError.NOT_FOUND


class Conflict(AppError):
    status = 409
    code: str = KitError.CONFLICT


class PayloadTooLarge(AppError):
    status = 413
    code: str = KitError.PAYLOAD_TOO_LARGE


class TooManyRequests(AppError):
    status = 429
    code: str = KitError.TOO_MANY_REQUESTS

    def __init__(self, message: str, *, retry_after: int = 60, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}
