"""Error codes of feed (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class FeedError(StrEnum):
    EMPTY_QUERY = "empty_query"
    INVALID_CURSOR = "invalid_cursor"
    UNKNOWN_VIDEO = "unknown_video"
