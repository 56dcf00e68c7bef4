"""Error codes of the LIVE room (HTTP answers and ``error`` frames), documented in docs/api.md.

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class RoomError(StrEnum):
    ALREADY_REPORTED = "already_reported"
    BANNED = "banned"
    CANNOT_MODERATE = "cannot_moderate"
    COMMENTS_OFF = "comments_off"
    FORBIDDEN_ORIGIN = "forbidden_origin"
    INVALID_FRAME = "invalid_frame"
    KEYWORD_BLOCKED = "keyword_blocked"
    MUTED = "muted"
    NOT_IN_BAG = "not_in_bag"
    NOT_ROOM_STAFF = "not_room_staff"
    PIN_NOT_ALLOWED = "pin_not_allowed"
    SLOW_MODE = "slow_mode"
    USER_NOT_FOUND = "user_not_found"
    TEXT_TOO_LONG = "text_too_long"
