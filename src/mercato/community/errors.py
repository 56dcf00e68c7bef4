"""Error codes of community events, documented in docs/api.md. Never change a value."""

from __future__ import annotations

from enum import StrEnum


class CommunityError(StrEnum):
    EVENT_NOT_FOUND = "event_not_found"
    EVENT_SLUG_TAKEN = "event_slug_taken"
    EVENT_WINDOW = "event_window"
    MISSION_REWARD = "mission_reward"
