"""Seller Center → Affiliate and Creator Studio → Affiliate over real HTTP (forms posting an
``action``), the public showcase page and the product page's fragments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mercato.affiliate.models import AffiliatePlan

Factory = Callable[..., dict[str, Any]]


def test_seller_page_creates_plans_invites_and_answers(api: httpx.Client, make_shop: Factory, make_product: Factory,
                                                       make_creator: Factory,
                                                       count_rows: Callable[[Any], int]) -> None:
    shop = make_shop()
    lamp = make_product(shop, "Desk Lamp")
    url, owner = f"/seller/{shop['slug']}/affiliate", shop["owner"]["headers"]
    creator = make_creator(niche=["home"])
    assert api.patch("/api/v1/me", headers=creator["headers"], json={"handle": "home.maker"}).status_code == 200

    page = api.get(url, headers=owner)
    assert page.status_code == 200 and "No plans yet" in page.text and "Desk Lamp" in page.text
    assert "@home.maker" in page.text  # the creator marketplace lists eligible creators
    assert api.get(url, headers=make_creator()["headers"]).status_code == 403

    bad = api.post(url, headers=owner, data={"action": "create_plan", "name": "Too much", "kind": "open",
                                             "rate": "85", f"product_{lamp['id']}": str(lamp["id"])})
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
    assert 'value="Too much"' in bad.text and count_rows(AffiliatePlan) == 0
    made = api.post(url, headers=owner, data={"action": "create_plan", "name": "Lamps", "kind": "open",
                                              "rate": "12.5", f"product_{lamp['id']}": str(lamp["id"])})
    assert made.status_code == 303 and made.headers["location"] == f"{url}?saved=created"
    [plan] = api.get(f"/api/v1/shops/{shop['slug']}/affiliate/plans", headers=owner).json()["items"]
    assert (plan["rate_bps"], plan["product_ids"], plan["kind"]) == (1250, [lamp["id"]], "open")
    assert api.post(url, headers=owner, data={"action": "rate", "plan_id": str(plan["id"]),
                                              "rate": "15"}).status_code == 303
    invited = api.post(url, headers=owner, data={"action": "invite", "plan_id": str(plan["id"]),
                                                 "creator": "home.maker"})
    assert invited.status_code == 303 and invited.headers["location"].endswith("saved=invited")
    shown = api.get(f"{url}?saved=invited", headers=owner).text
    assert "Invitation sent." in shown and "15 %" in shown and "Invitations waiting for an answer" in shown

    studio = api.get("/studio/affiliate", headers=creator["headers"])
    assert studio.status_code == 200 and 'data-testid="invitation"' in studio.text and "Lamps" in studio.text
    assert 'aria-current="page"' in studio.text  # the Studio nav marks Affiliate
    [membership] = api.get("/api/v1/affiliate/memberships", headers=creator["headers"]).json()["items"]
    accepted = api.post("/studio/affiliate", headers=creator["headers"],
                        data={"action": "accept", "membership_id": str(membership["id"])})
    assert accepted.status_code == 303
    studio = api.get("/studio/affiliate?saved=accepted", headers=creator["headers"]).text
    assert "Welcome aboard!" in studio and 'data-testid="my-plan"' in studio and "earn 15 %" in studio
    ended = api.post(url, headers=owner, data={"action": "end", "plan_id": str(plan["id"])})
    assert ended.status_code == 303
    assert api.get(f"/api/v1/affiliate/plans/{plan['id']}", headers=creator["headers"]).json()["status"] == "ended"


def test_studio_marketplace_join_showcase_and_product_fragments(
        api: httpx.Client, make_shop: Factory, make_product: Factory, make_creator: Factory) -> None:
    shop = make_shop()
    owner = shop["owner"]["headers"]
    kettle = make_product(shop, "Copper Kettle")
    plan = api.post(f"/api/v1/shops/{shop['slug']}/affiliate/plans", headers=owner, json={
        "name": "Kitchen", "kind": "open", "product_ids": [kettle["id"]], "rate_bps": 2000}).json()
    creator = make_creator()
    assert api.patch("/api/v1/me", headers=creator["headers"], json={"handle": "kettle.fan"}).status_code == 200
    headers = creator["headers"]

    earn = api.get(f"/affiliate/fragments/earn/{kettle['id']}", headers=headers)
    assert earn.status_code == 200 and "join its plan" in earn.text
    assert api.get(f"/affiliate/fragments/earn/{kettle['id']}").text == ""  # anonymous: nothing
    studio = api.get("/studio/affiliate?sort=price", headers=headers).text
    assert "Copper Kettle" in studio and "Earn 20 %" in studio and "Join plan" in studio
    joined = api.post("/studio/affiliate", headers=headers, data={"action": "join", "plan_id": str(plan["id"])})
    assert joined.status_code == 303 and joined.headers["location"].endswith("saved=accepted")
    earn = api.get(f"/affiliate/fragments/earn/{kettle['id']}", headers=headers)
    assert "Earn 20 %" in earn.text
    added = api.post("/studio/affiliate", headers=headers,
                     data={"action": "showcase_add", "product_id": str(kettle["id"])})
    assert added.status_code == 303
    showcase = api.get("/@kettle.fan/showcase")
    assert showcase.status_code == 200 and "Copper Kettle" in showcase.text
    refused = api.post("/studio/affiliate", headers=headers,
                       data={"action": "showcase_add", "product_id": str(make_product(make_shop(), "Other")["id"])})
    assert refused.status_code == 403 and "can be showcased" in refused.text

    product_page = api.get(f"/products/{kettle['id']}", headers=headers).text
    assert f'hx-get="/affiliate/fragments/earn/{kettle["id"]}"' in product_page
    assert f'hx-get="/affiliate/fragments/featuring/{kettle["id"]}"' in product_page
    featuring = api.get(f"/affiliate/fragments/featuring/{kettle['id']}")
    assert featuring.status_code == 200 and "No creator has featured this product yet." in featuring.text
    assert api.get("/affiliate/fragments/featuring/999999").status_code == 404
