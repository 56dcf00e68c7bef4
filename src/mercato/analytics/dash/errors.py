"""Error codes of the dashboards (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class DashboardError(StrEnum):
    INVALID_PERIOD = "invalid_period"
    INVALID_SORT = "invalid_sort"
    INVALID_BREAKDOWN = "invalid_breakdown"
