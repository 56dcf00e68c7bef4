"""Error codes of the affiliate plans (``{"error": {"code": …}}``), documented in docs/api.md,
"Error codes". Clients rely on the strings: never change a value; add a member for a new failure.
"""

from __future__ import annotations

from enum import StrEnum


class AffiliateError(StrEnum):
    PLAN_NOT_FOUND = "plan_not_found"
    PLAN_NOT_ACTIVE = "plan_not_active"
    PLAN_ENDED = "plan_ended"
    INVALID_COMMISSION = "invalid_commission"
    INVALID_PLAN_PRODUCTS = "invalid_plan_products"
    INVALID_END_DATE = "invalid_end_date"
    NOT_ENOUGH_FOLLOWERS = "not_enough_followers"
    PLAN_BY_INVITATION = "plan_by_invitation"
    ALREADY_IN_PLAN = "already_in_plan"
    OWN_SHOP_PLAN = "own_shop_plan"
    INVITATION_NOT_FOUND = "invitation_not_found"
    MEMBERSHIP_NOT_FOUND = "membership_not_found"
    MEMBERSHIP_NOT_PENDING = "membership_not_pending"
    NOT_PROMOTABLE = "product_not_promotable"
    SAMPLE_NOT_FOUND = "sample_not_found"
    SAMPLE_ALREADY_REQUESTED = "sample_already_requested"
    SAMPLE_NOT_REQUESTED = "sample_not_requested"
    SHOWCASE_FULL = "showcase_full"
    NOT_ON_SHOWCASE = "not_on_showcase"
    CREATOR_NOT_FOUND = "creator_not_found"
