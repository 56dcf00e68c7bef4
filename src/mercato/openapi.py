"""The API's documentation, at the app's level: its page and what the OpenAPI document cannot derive.

- ``/api/v1/docs``: Swagger UI over the document, from the app's own static files (npm's
  ``swagger-ui-dist``, copied by ``make assets``); FastAPI's default page loads it from a CDN, which
  the Content-Security-Policy blocks.
- ``EXTRA_STATUSES``: the failures that only a handler or its service knows, per operation (method
  in lower case, as in the document), on top of what kit/openapi.py derives from the routes'
  dependencies. Keep it true: a status here is one the operation can answer
  (``tests/test_api_contract.py`` runs schemathesis, which fails on any status an operation answers
  without its document listing it).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mercato.kit.ratelimit import RATE_LIMITED
from mercato.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/api/v1/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    return render(request, "api_docs.html", {"openapi_url": request.app.openapi_url})


_STATE = "Conflict with the current state (`error.code` says which: `invalid_status`, `out_of_stock`, …)."
_IDEMPOTENT = {
    409: "The state does not allow it, or a request with the same `Idempotency-Key` is still running "
         "(`idempotency_in_progress`).",
    422: "Invalid input, or an `Idempotency-Key` reused with another body (`idempotency_key_reused`).",
}
_MEMBERS = {403: "Not a member of the shop (`not_shop_member`), or not its owner (`owner_only`)."}
_UNKNOWN_ADDRESS = "No such address in the caller's address book (`address_not_found`)."
_NOT_HOST = "Not the host of the LIVE nor a member of its shop (`not_host`)."
_PROVIDER = {502: "The payment provider did not answer; retrying with the same `Idempotency-Key` is safe."}


_LIVE_STAFF = {403: "Not the host or a moderator of the room (`not_room_staff`).",
               404: "No such LIVE (`live_not_found`)."}
_LIVE_HOST = {404: "No such LIVE, not yours, or no such user (`live_not_found`, `user_not_found`).",
              409: "The host cannot be a moderator (`cannot_moderate`)."}
_LIVE_MODERATION = {403: _LIVE_STAFF[403], 404: "No such LIVE or user (`live_not_found`, `user_not_found`).",
                    409: "The host, yourself, or (for a moderator) another moderator (`cannot_moderate`)."}


def _conflict(code: str) -> Mapping[int, str]:
    return {409: f"Conflict with the current state (`{code}`)."}


EXTRA_STATUSES: Mapping[tuple[str, str], Mapping[int, str]] = {
    # accounts
    ("post", "/api/v1/auth/register"): _conflict("email_taken"),
    ("post", "/api/v1/auth/login"): {
        401: "Email or password is incorrect (`invalid_credentials`).",
        429: "Too many failed log-ins for this email or address: retry after `Retry-After` seconds.",
    },
    ("patch", "/api/v1/me"): _conflict("handle_taken"),
    # catalog
    ("post", "/api/v1/shops"): _conflict("slug_taken"),
    ("post", "/api/v1/shops/{slug}/members"): _conflict("already_member"),
    ("delete", "/api/v1/shops/{slug}/members/{user_id}"): _conflict("owner_cannot_leave"),
    ("post", "/api/v1/shops/{slug}/products"): _conflict("sku_taken"),
    ("post", "/api/v1/products/{product_id}/variants"): _conflict("sku_taken`, `duplicate_options"),
    ("patch", "/api/v1/variants/{variant_id}"): _conflict("sku_taken`, `stock_below_held"),
    ("delete", "/api/v1/variants/{variant_id}"): _conflict("last_variant"),
    ("get", "/api/v1/shops/{slug}/members"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/products"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/imports"): _MEMBERS,
    ("post", "/api/v1/shops/{slug}/imports"): {429: RATE_LIMITED},  # the shop_import rate limit, once a member
    # analytics
    ("get", "/api/v1/shops/{slug}/analytics/summary"): {**_MEMBERS, 404: "No such shop."},
    # connections
    ("get", "/api/v1/shops/{slug}/connections"): _MEMBERS,
    ("post", "/api/v1/shops/{slug}/connections"): _conflict("already_connected"),
    ("get", "/api/v1/shops/{slug}/connections/{connection_id}/history"): _MEMBERS,
    # orders
    ("post", "/api/v1/cart/items"): {404: "No such product or variant for sale (`product_unavailable`).", 409: _STATE},
    ("patch", "/api/v1/cart/items/{item_id}"): {409: _STATE},
    ("post", "/api/v1/checkout/quote"): {404: _UNKNOWN_ADDRESS, 409: _STATE, 429: RATE_LIMITED},
    ("post", "/api/v1/checkouts"): {404: _UNKNOWN_ADDRESS, **_IDEMPOTENT, 429: RATE_LIMITED},
    # shopping credits
    ("post", "/api/v1/admin/credits"): {404: "No user with that id, e-mail or handle (`credits_user_not_found`)."},
    ("post", "/api/v1/checkouts/{checkout_id}/pay"): {**_IDEMPOTENT, **_PROVIDER},
    ("post", "/api/v1/orders/{order_id}/cancel"): {**_IDEMPOTENT, **_PROVIDER},
    ("post", "/api/v1/orders/{order_id}/returns"): {409: _STATE},
    ("post", "/api/v1/orders/{order_id}/lines/{line_id}/review"): _conflict(
        "not_delivered`, `review_window_passed`, `already_reviewed"),
    ("get", "/api/v1/shops/{slug}/orders"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/returns"): _MEMBERS,
    ("post", "/api/v1/seller/orders/{order_id}/ship"): {409: _STATE},
    ("post", "/api/v1/seller/orders/{order_id}/deliver"): {409: _STATE},
    ("post", "/api/v1/seller/orders/{order_id}/cancel"): {**_IDEMPOTENT, **_PROVIDER},
    ("post", "/api/v1/seller/orders/{order_id}/refunds"): {**_IDEMPOTENT, **_PROVIDER},
    ("post", "/api/v1/returns/{return_id}/approve"): {409: _STATE, **_PROVIDER},
    ("post", "/api/v1/returns/{return_id}/refuse"): {409: _STATE},
    # ledger
    ("get", "/api/v1/shops/{slug}/finance"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/finance/statement"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/payouts"): _MEMBERS,
    ("post", "/api/v1/shops/{slug}/payouts"): _IDEMPOTENT,
    ("put", "/api/v1/creators/me/payout-method"): {403: "Under 18 (`age_restricted`)."},
    ("post", "/api/v1/creators/me/payouts"): {
        403: "Under 18 (`age_restricted`).",
        409: "Nothing available (`nothing_to_pay_out`), below `creator_payout_minimum` (`below_payout_minimum`), "
             "or a request with the same `Idempotency-Key` is still running (`idempotency_in_progress`).",
        422: _IDEMPOTENT[422]},
    # promotions
    ("get", "/api/v1/shops/{slug}/coupons"): _MEMBERS,
    ("get", "/api/v1/coupons/{coupon_id}"): {403: "Not a member of the coupon's shop, or a platform coupon."},
    # live: selling in the room
    ("post", "/api/v1/lives/{live_id}/flash-deals"): {
        403: _NOT_HOST, 409: "Conflict (`live_not_on_air`, `deal_already_running`, `deal_units_unavailable`)."},
    ("post", "/api/v1/lives/{live_id}/flash-deals/{deal_id}/cancel"): {403: _NOT_HOST, **_conflict("deal_closed")},
    ("post", "/api/v1/lives/{live_id}/coupons"): {
        403: "Not the host or a member of the LIVE's shop (`not_host`), or not allowed to manage the coupon.",
        **_conflict("live_not_on_air")},
    ("delete", "/api/v1/lives/{live_id}/coupons/{coupon_id}"): {403: _NOT_HOST},
    ("post", "/api/v1/lives/{live_id}/coupons/{coupon_id}/claim"): _conflict(
        "coupon_already_claimed`, `coupon_task_incomplete"),
    ("post", "/api/v1/lives/{live_id}/giveaways"): {403: _NOT_HOST, **_conflict("live_not_on_air")},
    ("post", "/api/v1/lives/{live_id}/giveaways/{giveaway_id}/draw"): {
        403: _NOT_HOST, **_conflict("giveaway_drawn`, `no_eligible_viewers")},
    # videos
    ("post", "/api/v1/videos/{video_id}/reports"): _conflict("already_reported"),
    ("post", "/api/v1/admin/videos/{video_id}/takedown"): _conflict("already_removed"),
    ("post", "/api/v1/admin/videos/{video_id}/restore"): _conflict("not_removed"),
    ("post", "/api/v1/admin/video-reports/{report_id}/dismiss"): _conflict("report_closed"),
    # LIVE room (live/room/api.py)
    ("put", "/api/v1/lives/{live_id}/pin"): {
        **_LIVE_STAFF, 409: "Not a product of the LIVE's bag (`not_in_bag`).",
        403: "Not the host or a moderator of the room (`not_room_staff`), or a product the host may not promote "
             "(`pin_not_allowed`: no shop of theirs, no affiliate plan)."},
    ("delete", "/api/v1/lives/{live_id}/pin"): _LIVE_STAFF,
    ("get", "/api/v1/lives/{live_id}/bag"): {404: "No such LIVE (`live_not_found`)."},
    ("put", "/api/v1/lives/{live_id}/moderators/{user_id}"): _LIVE_HOST,
    ("delete", "/api/v1/lives/{live_id}/moderators/{user_id}"): _LIVE_HOST,
    ("post", "/api/v1/lives/{live_id}/mutes"): _LIVE_MODERATION,
    ("post", "/api/v1/lives/{live_id}/bans"): _LIVE_MODERATION,
    ("patch", "/api/v1/lives/{live_id}/room"): _LIVE_STAFF,
    ("post", "/api/v1/lives/{live_id}/reports"): {404: "No such LIVE (`live_not_found`).",
                                                  409: "Already reported by you (`already_reported`)."},
    # affiliate plans (docs/affiliate.md)
    ("get", "/api/v1/shops/{slug}/affiliate/plans"): _MEMBERS,
    ("post", "/api/v1/shops/{slug}/affiliate/plans"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/affiliate/plans/{plan_id}"): _MEMBERS,
    ("patch", "/api/v1/shops/{slug}/affiliate/plans/{plan_id}"): {**_MEMBERS, **_conflict("plan_ended")},
    ("get", "/api/v1/shops/{slug}/affiliate/members"): _MEMBERS,
    ("post", "/api/v1/shops/{slug}/affiliate/plans/{plan_id}/invitations"): {
        **_MEMBERS, 409: "Already in or invited to the plan, a member of the shop, or the plan is not open "
                         "(`already_in_plan`, `own_shop_plan`, `plan_not_active`)."},
    ("post", "/api/v1/shops/{slug}/affiliate/members/{membership_id}/decision"): {
        **_MEMBERS, 409: "Not a pending request, or the plan is not open (`membership_not_pending`, "
                         "`plan_not_active`)."},
    ("delete", "/api/v1/shops/{slug}/affiliate/members/{membership_id}"): {
        **_MEMBERS, **_conflict("membership_not_pending")},
    ("get", "/api/v1/shops/{slug}/affiliate/creators"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/affiliate/samples"): _MEMBERS,
    ("post", "/api/v1/shops/{slug}/affiliate/samples/{sample_id}/decision"): {
        **_MEMBERS, 409: "Already answered, or the variant is out of stock (`sample_not_requested`, "
                         "`out_of_stock`)."},
    ("post", "/api/v1/affiliate/plans/{plan_id}/join"): {
        403: "A minor (`age_restricted`), too few followers (`not_enough_followers`), or a plan by invitation "
             "(`plan_by_invitation`).",
        409: "Already in the plan or asked, a member of its shop, or the plan is not open (`already_in_plan`, "
             "`own_shop_plan`, `plan_not_active`)."},
    ("post", "/api/v1/affiliate/invitations/{membership_id}/answer"): {
        403: "A minor (`age_restricted`) or too few followers (`not_enough_followers`).",
        409: _conflict("plan_not_active")[409]},
    ("post", "/api/v1/affiliate/samples"): {
        403: "Not in a plan covering the product (`product_not_promotable`).",
        404: "No such plan or address (`plan_not_found`, `address_not_found`).",
        409: "Already requested, or the plan is not open (`sample_already_requested`, `plan_not_active`)."},
    ("post", "/api/v1/affiliate/showcase"): {
        403: "Not a product of the caller's shop nor of a plan they are in (`product_not_promotable`).",
        409: _conflict("showcase_full")[409]},
    # live (core)
    ("post", "/api/v1/lives"): {403: "Not an eligible host (`not_eligible_host`), or not a member of `shop_id` "
                                     "(`not_your_shop`)."},
    ("post", "/api/v1/lives/stream-key"): {403: "Not an eligible host (`not_eligible_host`)."},
    ("get", "/api/v1/lives/{live_id}"): {404: "No such LIVE (`live_not_found`)."},
    ("patch", "/api/v1/lives/{live_id}"): {404: "No such LIVE, or not yours (`live_not_found`).",
                                          409: "Ended, or already on air for a new time (`live_ended`, "
                                               "`live_not_scheduled`)."},
    ("post", "/api/v1/lives/{live_id}/cover"): {404: "No such LIVE, or not yours (`live_not_found`).",
                                               409: _conflict("live_ended")[409], 413: "The image is too large."},
    ("post", "/api/v1/lives/{live_id}/end"): {404: "No such LIVE, or not yours (`live_not_found`)."},
    ("put", "/api/v1/lives/{live_id}/reminder"): {404: "No such LIVE (`live_not_found`).",
                                                 409: _conflict("live_not_scheduled")[409]},
    ("delete", "/api/v1/lives/{live_id}/reminder"): {404: "No such LIVE (`live_not_found`)."},
    ("post", "/api/v1/lives/{live_id}/clips"): {
        404: "No such LIVE, or not yours (`live_not_found`).",
        409: "The LIVE has not ended (`live_not_ended`) or its replay is not ready (`replay_not_ready`).",
        503: "Video processing (ffmpeg) is unavailable; nothing was kept."},
    # Fan Club and community events (live/fanclub/api.py, community/api.py)
    ("get", "/api/v1/creators/me/fans"): {422: "Unknown sort (`invalid_sort`) or a bad cursor."},
    ("get", "/api/v1/creators/{creator_id}/fan-club"): {404: "No such creator (`creator_not_found`)."},
    ("post", "/api/v1/admin/events"): {409: _conflict("event_slug_taken")[409],
                                       422: "Invalid input, the end not after the start (`event_window`), or a "
                                            "reward missing its amount, currency or badge (`mission_reward`)."},
    ("patch", "/api/v1/admin/events/{event_id}"): {404: "No such event (`event_not_found`).",
                                                   422: "Invalid input, or the end not after the start "
                                                        "(`event_window`)."},
    ("get", "/api/v1/events/{slug}"): {404: "No such event (`event_not_found`)."},
    ("get", "/api/v1/events/{slug}/progress"): {404: "No such event (`event_not_found`)."},
    # live gifts (docs/gifts.md)
    ("post", "/api/v1/coins/purchases"): {403: "Under 18 (`age_restricted`).", **_IDEMPOTENT},
    ("post", "/api/v1/coins/purchases/{purchase_id}/refund"): {
        404: "No such coin purchase, or not yours (`coin_purchase_not_found`).",
        409: "Nothing unspent to refund (`coin_purchase_not_refundable`), or the same `Idempotency-Key` is running.",
        **_PROVIDER},
    ("post", "/api/v1/admin/gifts"): _conflict("gift_name_taken"),
    ("patch", "/api/v1/admin/gifts/{gift_id}"): {404: "No such gift (`gift_not_found`).",
                                                 **_conflict("gift_name_taken")},
    ("post", "/api/v1/lives/{live_id}/gifts"): {
        402: "The coin balance does not cover the gift (`insufficient_coins`); nothing changed.",
        403: "The sender or the host is under 18 (`age_restricted`).",
        404: "No such LIVE or gift (`live_not_found`, `gift_not_found`).",
        409: "The LIVE is not on air (`live_not_on_air`), the sender is the host (`cannot_gift_yourself`), or the "
             "same `Idempotency-Key` is running."},
    ("get", "/api/v1/lives/{live_id}/gifts/leaderboard"): {404: "No such LIVE (`live_not_found`)."},
    # affiliate: links and commissions (docs/affiliate.md)
    ("post", "/api/v1/affiliate/links"): {
        403: "Neither of your shops nor in a plan of yours (`product_not_promotable`).",
        404: "No such product for sale (`not_found`)."},
    ("get", "/api/v1/shops/{slug}/affiliate/orders"): {**_MEMBERS, 404: "No such shop (`not_found`)."},
    # analytics dashboards (analytics/dash)
    ("get", "/api/v1/shops/{slug}/analytics/overview"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/analytics/timeseries"): _MEMBERS,
    ("get", "/api/v1/shops/{slug}/analytics/breakdown"): _MEMBERS,
    ("get", "/api/v1/lives/{live_id}/dashboard"): {
        403: "Not the host of the LIVE, a member of its shop or an operator (`not_host`).",
        404: "No such LIVE (`live_not_found`)."},
}
