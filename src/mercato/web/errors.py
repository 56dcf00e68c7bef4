"""Error codes of web (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class WebError(StrEnum):
    CSRF_FAILED = "csrf_failed"
