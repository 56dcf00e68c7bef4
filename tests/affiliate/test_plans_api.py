"""Plans over the API: create, validate (nothing written on a refusal), edit, pause, end; the
eligibility rules of joining; approvals and invitations; the product sheet's terms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Notification
from mercato.affiliate.models import AffiliateMembership, AffiliatePlan, AffiliateRateChange

Factory = Callable[..., dict[str, Any]]


def _plans_url(shop: dict[str, Any]) -> str:
    return f"/api/v1/shops/{shop['slug']}/affiliate/plans"


def _future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_create_validate_edit_pause_end(api: httpx.Client, make_shop: Factory, make_product: Factory,
                                        make_user: Factory, count_rows: Callable[[Any], int]) -> None:
    shop, other = make_shop(), make_shop()
    lamp, mug = make_product(shop, "Lamp"), make_product(shop, "Mug")
    foreign = make_product(other, "Foreign")
    owner = shop["owner"]["headers"]
    refusals = [
        ({"name": "Low", "kind": "open", "product_ids": [lamp["id"]], "rate_bps": 99}, 422, "validation_error"),
        ({"name": "High", "kind": "open", "product_ids": [lamp["id"]], "rate_bps": 8001}, 422, "validation_error"),
        ({"name": "Fee", "kind": "open", "product_ids": [lamp["id"]], "flat_fee": 100}, 422, "invalid_commission"),
        ({"name": "Both", "kind": "targeted", "product_ids": [lamp["id"]], "rate_bps": 500, "flat_fee": 100,
          "ends_at": _future()}, 422, "invalid_commission"),
        ({"name": "None", "kind": "open", "product_ids": [lamp["id"]]}, 422, "invalid_commission"),
        ({"name": "Empty", "kind": "open", "product_ids": [], "rate_bps": 500}, 422, "invalid_plan_products"),
        ({"name": "Theirs", "kind": "open", "product_ids": [foreign["id"]], "rate_bps": 500}, 422,
         "invalid_plan_products"),
        ({"name": "No end", "kind": "targeted", "product_ids": [lamp["id"]], "rate_bps": 500}, 422,
         "invalid_end_date"),
        ({"name": "Past", "kind": "targeted", "product_ids": [lamp["id"]], "rate_bps": 500,
          "ends_at": "2020-01-01T00:00:00+00:00"}, 422, "invalid_end_date"),
    ]
    for body, status, code in refusals:
        response = api.post(_plans_url(shop), headers=owner, json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    stranger = api.post(_plans_url(shop), headers=make_user()["headers"],
                        json={"name": "X", "kind": "open", "product_ids": [lamp["id"]], "rate_bps": 500})
    assert (stranger.status_code, stranger.json()["error"]["code"]) == (403, "not_shop_member")
    assert count_rows(AffiliatePlan) == 0 and count_rows(AffiliateRateChange) == 0

    created = api.post(_plans_url(shop), headers=owner, json={
        "name": "Spring", "kind": "open", "product_ids": [lamp["id"]], "rate_bps": 1250, "requires_approval": True})
    assert created.status_code == 201, created.text
    plan = created.json()
    assert {k: plan[k] for k in ("name", "kind", "scope", "rate_bps", "flat_fee", "currency", "commission_display",
                                 "requires_approval", "status", "product_ids", "members_count")} == {
        "name": "Spring", "kind": "open", "scope": "products", "rate_bps": 1250, "flat_fee": None, "currency": "USD",
        "commission_display": "12.5 %", "requires_approval": True, "status": "active", "product_ids": [lamp["id"]],
        "members_count": 0}
    targeted = api.post(_plans_url(shop), headers=owner, json={
        "name": "VIP", "kind": "targeted", "scope": "shop", "flat_fee": 250, "ends_at": _future()}).json()
    assert (targeted["commission_display"], targeted["scope"], targeted["product_ids"]) == (
        "$2.50 per item", "shop", [])
    listed = api.get(_plans_url(shop), headers=owner).json()
    assert [p["id"] for p in listed["items"]] == [targeted["id"], plan["id"]]

    url = f"{_plans_url(shop)}/{plan['id']}"
    edited = api.patch(url, headers=owner, json={"rate_bps": 1500, "add_product_ids": [mug["id"]], "name": "Summer"})
    assert edited.status_code == 200
    assert (edited.json()["rate_bps"], edited.json()["product_ids"], edited.json()["name"]) == (
        1500, sorted([lamp["id"], mug["id"]]), "Summer")
    assert count_rows(AffiliateRateChange) == 3  # two creations, one change
    wrong_form = api.patch(url, headers=owner, json={"flat_fee": 100})
    assert (wrong_form.status_code, wrong_form.json()["error"]["code"]) == (422, "invalid_commission")
    assert api.patch(url, headers=owner, json={"status": "paused"}).json()["status"] == "paused"
    assert api.patch(url, headers=owner, json={"status": "active"}).json()["status"] == "active"
    ended = api.patch(url, headers=owner, json={"status": "ended"}).json()
    assert ended["status"] == "ended" and ended["ended_at"] is not None
    again = api.patch(url, headers=owner, json={"rate_bps": 2000})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "plan_ended")
    assert count_rows(AffiliateRateChange) == 3
    assert api.get(f"{_plans_url(other)}/{plan['id']}", headers=other["owner"]["headers"]).status_code == 404


def test_joining_eligibility_and_approval(api: httpx.Client, make_shop: Factory, make_product: Factory,
                                          make_creator: Factory, count_rows: Callable[[Any], int],
                                          db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    product = make_product(shop, "Serum")
    owner = shop["owner"]["headers"]
    open_plan = api.post(_plans_url(shop), headers=owner, json={
        "name": "Open", "kind": "open", "product_ids": [product["id"]], "rate_bps": 1000}).json()
    approval = api.post(_plans_url(shop), headers=owner, json={
        "name": "Curated", "kind": "open", "product_ids": [product["id"]], "rate_bps": 2000,
        "requires_approval": True}).json()
    targeted = api.post(_plans_url(shop), headers=owner, json={
        "name": "VIP", "kind": "targeted", "product_ids": [product["id"]], "rate_bps": 3000,
        "ends_at": _future()}).json()
    minor = make_creator(dob=f"{datetime.now(UTC).year - 15}-01-01")
    small = make_creator(followers=999)
    creator = make_creator()

    def join(who: dict[str, Any], plan: dict[str, Any]) -> httpx.Response:
        return api.post(f"/api/v1/affiliate/plans/{plan['id']}/join", headers=who["headers"], json={})

    for who, plan, status, code in ((minor, open_plan, 403, "age_restricted"),
                                    (small, open_plan, 403, "not_enough_followers"),
                                    (creator, targeted, 403, "plan_by_invitation"),
                                    (shop["owner"], open_plan, 409, "own_shop_plan")):
        response = join(who, plan)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert count_rows(AffiliateMembership) == 0

    joined = join(creator, open_plan)
    assert joined.status_code == 201 and joined.json()["status"] == "active" and joined.json()["joined_at"]
    again = join(creator, open_plan)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_in_plan")
    pending = join(creator, approval).json()
    assert pending["status"] == "pending" and pending["joined_at"] is None

    async def requests(db: AsyncSession) -> int:
        stmt = select(func.count()).select_from(Notification).where(Notification.kind == "affiliate_request")
        return int((await db.execute(stmt)).scalar_one())

    assert db_run(requests) == 1
    decision_url = f"/api/v1/shops/{shop['slug']}/affiliate/members/{pending['id']}/decision"
    approved = api.post(decision_url, headers=owner, json={"approve": True}).json()
    assert approved["status"] == "active" and approved["joined_at"]
    twice = api.post(decision_url, headers=owner, json={"approve": False})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "membership_not_pending")
    members = api.get(f"/api/v1/shops/{shop['slug']}/affiliate/members?status=active", headers=owner).json()
    assert sorted(m["plan_id"] for m in members["items"]) == sorted([open_plan["id"], approval["id"]])

    # the product sheet's terms: the best of the plans (20 %), joinable open plans listed
    terms = api.get(f"/api/v1/affiliate/terms/{product['id']}", headers=creator["headers"]).json()
    assert (terms["may_promote"], terms["plan_id"], terms["rate_bps"], terms["currency"]) == (
        True, approval["id"], 2000, "USD")
    assert terms["joinable_plan_ids"] == [open_plan["id"], approval["id"]]
    left = api.delete(f"/api/v1/affiliate/plans/{approval['id']}/membership", headers=creator["headers"]).json()
    assert left["status"] == "left" and left["left_at"]
    terms = api.get(f"/api/v1/affiliate/terms/{product['id']}", headers=creator["headers"]).json()
    assert (terms["plan_id"], terms["rate_bps"]) == (open_plan["id"], 1000)


def test_invitations_accept_decline_and_a_minor(api: httpx.Client, make_shop: Factory, make_product: Factory,
                                                make_creator: Factory, db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    product = make_product(shop, "Kettle")
    owner = shop["owner"]["headers"]
    plan = api.post(_plans_url(shop), headers=owner, json={
        "name": "VIP", "kind": "targeted", "product_ids": [product["id"]], "flat_fee": 300,
        "ends_at": _future()}).json()
    star, shy = make_creator(), make_creator()
    minor = make_creator(dob=f"{datetime.now(UTC).year - 16}-06-01")
    assert api.patch("/api/v1/me", headers=star["headers"], json={"handle": "star.maker"}).status_code == 200
    invite_url = f"{_plans_url(shop)}/{plan['id']}/invitations"
    by_handle = api.post(invite_url, headers=owner, json={"handle": "@star.maker", "message": "Love your work"})
    assert by_handle.status_code == 201 and by_handle.json()["status"] == "invited"
    invitations = {}
    for who in (shy, minor):
        response = api.post(invite_url, headers=owner, json={"creator_id": who["user"]["id"]})
        assert response.status_code == 201
        invitations[who["user"]["id"]] = response.json()["id"]
    twice = api.post(invite_url, headers=owner, json={"creator_id": shy["user"]["id"]})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_in_plan")
    unknown = api.post(invite_url, headers=owner, json={"handle": "nobody.here"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "creator_not_found")

    mine = api.get("/api/v1/affiliate/memberships?status=invited", headers=star["headers"]).json()["items"]
    assert [(m["plan_id"], m["message"], m["shop_slug"]) for m in mine] == [(plan["id"], "Love your work",
                                                                             shop["slug"])]
    bell = api.get("/api/v1/notifications", headers=star["headers"]).json()["items"]
    assert bell[0]["url"] == "/studio/affiliate" and "invites you" in bell[0]["text"]

    answer = "/api/v1/affiliate/invitations/{}/answer"
    accepted = api.post(answer.format(mine[0]["id"]), headers=star["headers"], json={"accept": True}).json()
    assert accepted["status"] == "active" and accepted["joined_at"]
    refused = api.post(answer.format(invitations[minor["user"]["id"]]), headers=minor["headers"],
                       json={"accept": True})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "age_restricted")
    still = api.get("/api/v1/affiliate/memberships", headers=minor["headers"]).json()["items"]
    assert [m["status"] for m in still] == ["invited"]
    not_yours = api.post(answer.format(invitations[shy["user"]["id"]]), headers=star["headers"],
                         json={"accept": True})
    assert (not_yours.status_code, not_yours.json()["error"]["code"]) == (404, "invitation_not_found")
    declined = api.post(answer.format(invitations[shy["user"]["id"]]), headers=shy["headers"],
                        json={"accept": False}).json()
    assert declined["status"] == "declined" and declined["joined_at"] is None
    terms = api.get(f"/api/v1/affiliate/terms/{product['id']}", headers=star["headers"]).json()
    assert (terms["flat_fee"], terms["rate_bps"], terms["joinable_plan_ids"]) == (300, None, [])
    # a targeted plan is seen only by those it concerns
    assert api.get(f"/api/v1/affiliate/plans/{plan['id']}", headers=star["headers"]).json()["my_status"] == "active"
    outsider = make_creator()
    assert api.get(f"/api/v1/affiliate/plans/{plan['id']}", headers=outsider["headers"]).status_code == 404
