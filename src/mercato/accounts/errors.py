"""Error codes of accounts (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class AccountsError(StrEnum):
    ADMIN_ONLY = "admin_only"
    AGE_RESTRICTED = "age_restricted"
    BLOCKED = "blocked"
    CSRF_FAILED = "csrf_failed"
    EMAIL_TAKEN = "email_taken"
    HANDLE_REQUIRED = "handle_required"
    HANDLE_TAKEN = "handle_taken"
    IMAGE_TOO_LARGE = "image_too_large"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_DATE_OF_BIRTH = "invalid_date_of_birth"
    INVALID_SESSION = "invalid_session"
    LOGIN_THROTTLED = "login_throttled"
    NOT_AUTHENTICATED = "not_authenticated"
    SAME_PASSWORD = "same_password"
    SELF_BLOCK = "self_block"
    SELF_FOLLOW = "self_follow"
    TOO_YOUNG = "too_young"
    WRONG_PASSWORD = "wrong_password"
