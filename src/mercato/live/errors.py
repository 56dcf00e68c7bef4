"""Error codes of LIVE (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class LiveError(StrEnum):
    ALREADY_ENDED = "live_ended"
    CLIP_RANGE_INVALID = "clip_range_invalid"
    HLS_FILE_NOT_FOUND = "hls_file_not_found"
    LIVE_NOT_FOUND = "live_not_found"
    NOT_ELIGIBLE_HOST = "not_eligible_host"
    NOT_HOST = "not_host"
