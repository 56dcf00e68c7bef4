"""Error codes of content (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class ContentError(StrEnum):
    ALREADY_REMOVED = "already_removed"
    ALREADY_REPORTED = "already_reported"
    ANCHOR_NOT_ALLOWED = "anchor_not_allowed"
    BLOCKED = "blocked"
    CAPTION_TOO_LONG = "caption_too_long"
    COMMENT_EMPTY = "comment_empty"
    COMMENT_TOO_LONG = "comment_too_long"
    CSRF_FAILED = "csrf_failed"
    FILE_MISSING = "file_missing"
    FILE_TOO_LARGE = "file_too_large"
    FORBIDDEN = "forbidden"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_FORM = "invalid_form"
    INVALID_PARENT = "invalid_parent"
    INVALID_PRODUCT_IDS = "invalid_product_ids"
    INVALID_SESSION = "invalid_session"
    INVALID_VIDEO = "invalid_video"
    NOT_ANCHORED = "not_anchored"
    NOT_AUTHENTICATED = "not_authenticated"
    NOT_REMOVED = "not_removed"
    OWN_VIDEO = "own_video"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    REPORT_CLOSED = "report_closed"
    TOO_MANY_ANCHORS = "too_many_anchors"
    TOO_MANY_HASHTAGS = "too_many_hashtags"
    VIDEO_PROCESSING_UNAVAILABLE = "video_processing_unavailable"
    VIDEO_TOO_LONG = "video_too_long"
