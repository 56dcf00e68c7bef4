"""Error codes of the Fan Club, documented in docs/api.md. Never change a value."""

from __future__ import annotations

from enum import StrEnum


class FanClubError(StrEnum):
    CREATOR_NOT_FOUND = "creator_not_found"
    INVALID_SORT = "invalid_sort"
