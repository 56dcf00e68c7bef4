"""Error codes of analytics (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class AnalyticsError(StrEnum):
    BEACON_TARGET_MISSING = "beacon_target_missing"
    UNKNOWN_TARGET = "unknown_target"
    INVALID_PERIOD = "invalid_period"
