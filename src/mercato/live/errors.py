"""Error codes of LIVE (``{"error": {"code": …}}``), documented in docs/api.md, "Error codes".

Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class LiveError(StrEnum):
    CLIP_RANGE_INVALID = "clip_range_invalid"
    COUPON_ALREADY_CLAIMED = "coupon_already_claimed"
    COUPON_NOT_PINNED = "coupon_not_pinned"
    COUPON_NOT_USABLE = "coupon_not_usable"
    COUPON_TASK_INCOMPLETE = "coupon_task_incomplete"
    DEAL_ALREADY_RUNNING = "deal_already_running"
    DEAL_CLOSED = "deal_closed"
    DEAL_LIMIT_REACHED = "deal_limit_reached"
    DEAL_NOT_FOUND = "deal_not_found"
    DEAL_NOT_OPEN = "deal_not_open"
    DEAL_PRICE_TOO_HIGH = "deal_price_too_high"
    DEAL_SOLD_OUT = "deal_sold_out"
    DEAL_UNITS_UNAVAILABLE = "deal_units_unavailable"
    GIVEAWAY_DRAWN = "giveaway_drawn"
    GIVEAWAY_NOT_FOUND = "giveaway_not_found"
    HLS_FILE_NOT_FOUND = "hls_file_not_found"
    INVALID_SCHEDULE = "invalid_schedule"
    ALREADY_ENDED = "live_ended"
    NOT_ENDED = "live_not_ended"
    LIVE_NOT_FOUND = "live_not_found"
    LIVE_NOT_ON_AIR = "live_not_on_air"
    NOT_SCHEDULED = "live_not_scheduled"
    NO_ELIGIBLE_VIEWERS = "no_eligible_viewers"
    NOT_ELIGIBLE_HOST = "not_eligible_host"
    NOT_HOST = "not_host"
    NOT_IN_BAG = "not_in_bag"
    NOT_YOUR_SHOP = "not_your_shop"
    REPLAY_NOT_READY = "replay_not_ready"
