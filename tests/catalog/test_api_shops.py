"""Catalog API: shops, ownership and staff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Maker = Callable[..., dict[str, Any]]

SHOP_KEYS = {"id", "slug", "name", "description", "policies", "currency", "color", "logo_url", "rating",
             "rating_count", "product_count", "my_role"}


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


def _shop(api: httpx.Client, slug: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.get(f"/api/v1/shops/{slug}", headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _members(api: httpx.Client, slug: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/shops/{slug}/members", headers=headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def _all_shops(api: httpx.Client) -> list[dict[str, Any]]:
    response = api.get("/api/v1/shops", params={"limit": 100})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _product_payload(title: str = "Staff Product") -> dict[str, Any]:
    return {"title": title, "status": "active", "variants": [{"price": 500, "stock": 1}]}


def test_create_shop_makes_the_caller_its_owner(api: httpx.Client, make_user: Maker) -> None:
    owner = make_user("owner")
    response = api.post("/api/v1/shops", headers=owner["headers"], json={
        "name": "Glow Lab", "slug": "Glow-Lab", "description": "Serums", "policies": "30-day returns",
        "currency": "eur",
    })
    assert response.status_code == 201, response.text
    shop = response.json()
    assert set(shop) == SHOP_KEYS
    assert {k: shop[k] for k in ("slug", "name", "description", "policies", "currency", "my_role")} == {
        "slug": "glow-lab", "name": "Glow Lab", "description": "Serums", "policies": "30-day returns",
        "currency": "EUR", "my_role": "owner",
    }
    assert (shop["rating"], shop["rating_count"], shop["product_count"], shop["logo_url"]) == (0.0, 0, 0, None)
    assert shop["color"].startswith("#") and len(shop["color"]) == 7

    assert _shop(api, "glow-lab", owner["headers"]) == shop
    assert _shop(api, "GLOW-LAB")["my_role"] is None  # anonymous
    mine = api.get("/api/v1/me/shops", headers=owner["headers"]).json()
    assert mine == [shop]
    assert _members(api, "glow-lab", owner["headers"]) == [{"user_id": owner["user"]["id"], "role": "owner"}]
    _assert_error(api.get("/api/v1/shops/nope-shop"), 404, "not_found")


def test_create_shop_needs_a_session(api: httpx.Client) -> None:
    _assert_error(api.post("/api/v1/shops", json={"name": "Anon", "slug": "anon-shop"}), 401, "not_authenticated")
    assert _all_shops(api) == []


def test_slug_taken(api: httpx.Client, make_user: Maker, make_shop: Maker) -> None:
    first = make_shop("taken-slug")
    other = make_user()
    for slug in ("taken-slug", "TAKEN-SLUG"):
        response = api.post("/api/v1/shops", headers=other["headers"],
                            json={"name": "Copycat", "slug": slug, "currency": "USD"})
        body = _assert_error(response, 409, "slug_taken")
        assert body["error"]["details"] == {"field": "slug"}
    assert [s["id"] for s in _all_shops(api)] == [first["id"]]
    assert _shop(api, "taken-slug")["name"] == "Taken Slug"
    assert api.get("/api/v1/me/shops", headers=other["headers"]).json() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "-bad"}, "slug"),
        ({"slug": "bad-"}, "slug"),
        ({"slug": "ab"}, "slug"),
        ({"slug": "has space"}, "slug"),
        ({"slug": "under_score"}, "slug"),
        ({"slug": "x" * 61}, "slug"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": "BTC"}, "currency"),
        ({"name": "x"}, "name"),
        ({"description": "d" * 5001}, "description"),
    ],
)
def test_invalid_shop_input(api: httpx.Client, make_user: Maker, changes: dict[str, str], field: str) -> None:
    owner = make_user()
    payload = {"name": "Fine Name", "slug": "fine-slug", "currency": "USD", **changes}
    body = _assert_error(api.post("/api/v1/shops", headers=owner["headers"], json=payload), 422, "validation_error")
    assert [d["field"] for d in body["error"]["details"]] == [field]
    assert _all_shops(api) == []
    assert api.get("/api/v1/me/shops", headers=owner["headers"]).json() == []


def test_update_shop_by_owner_and_staff(api: httpx.Client, make_user: Maker, make_shop: Maker) -> None:
    shop = make_shop("editable")
    response = api.patch("/api/v1/shops/editable", headers=shop["owner"]["headers"],
                         json={"name": "Edited Name", "description": "New", "policies": "None"})
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["description"], response.json()["policies"]) == (
        "Edited Name", "New", "None")
    staff = make_user("staffer")
    api.post("/api/v1/shops/editable/members", headers=shop["owner"]["headers"], json={"email": "staffer@example.com"})
    response = api.patch("/api/v1/shops/editable", headers=staff["headers"], json={"description": "By staff"})
    assert response.status_code == 200
    assert _shop(api, "editable")["description"] == "By staff"


def test_another_user_cannot_change_my_shop(api: httpx.Client, make_user: Maker, make_shop: Maker) -> None:
    shop = make_shop("mine")
    intruder = make_user("intruder")
    before = _shop(api, "mine")
    mass = {"name": "Hijacked", "slug": "stolen", "currency": "JPY", "rating_avg": 500, "product_count": 99}
    _assert_error(api.patch("/api/v1/shops/mine", headers=intruder["headers"], json=mass), 403, "not_shop_member")
    _assert_error(api.patch("/api/v1/shops/mine", json={"name": "Anon"}), 401, "not_authenticated")
    _assert_error(api.get("/api/v1/shops/mine/members", headers=intruder["headers"]), 403, "not_shop_member")
    _assert_error(api.post("/api/v1/shops/mine/members", headers=intruder["headers"],
                           json={"email": "intruder@example.com"}), 403, "not_shop_member")
    _assert_error(api.post("/api/v1/shops/mine/products", headers=intruder["headers"], json=_product_payload()),
                  403, "not_shop_member")
    assert _shop(api, "mine") == before
    assert _members(api, "mine", shop["owner"]["headers"]) == [{"user_id": shop["owner"]["user"]["id"],
                                                                "role": "owner"}]
    products = api.get("/api/v1/shops/mine/products", headers=shop["owner"]["headers"]).json()
    assert products == {"items": [], "next_cursor": None}

    # the owner's own mass assignment is ignored as well
    response = api.patch("/api/v1/shops/mine", headers=shop["owner"]["headers"], json=mass)
    assert response.status_code == 200
    assert response.json() == {**before, "name": "Hijacked", "my_role": None}
    assert _shop(api, "mine")["slug"] == "mine"
    assert _shop(api, "mine")["currency"] == "USD"


def test_staff_management(api: httpx.Client, make_user: Maker, make_shop: Maker) -> None:
    shop = make_shop("team-shop")
    owner = shop["owner"]
    staff, third = make_user("staff"), make_user("third")

    response = api.post("/api/v1/shops/team-shop/members", headers=owner["headers"],
                        json={"email": "STAFF@example.com"})
    assert response.status_code == 201, response.text
    assert response.json() == {"user_id": staff["user"]["id"], "role": "staff"}
    _assert_error(api.post("/api/v1/shops/team-shop/members", headers=owner["headers"],
                           json={"email": "staff@example.com"}), 409, "already_member")
    body = _assert_error(api.post("/api/v1/shops/team-shop/members", headers=owner["headers"],
                                  json={"email": "ghost@example.com"}), 422, "unknown_user")
    assert body["error"]["details"] == {"field": "email"}
    expected = [{"user_id": owner["user"]["id"], "role": "owner"}, {"user_id": staff["user"]["id"], "role": "staff"}]
    assert _members(api, "team-shop", owner["headers"]) == expected
    assert _members(api, "team-shop", staff["headers"]) == expected
    assert _shop(api, "team-shop", staff["headers"])["my_role"] == "staff"
    assert [s["my_role"] for s in api.get("/api/v1/me/shops", headers=staff["headers"]).json()] == ["staff"]

    # staff cannot add or remove members
    _assert_error(api.post("/api/v1/shops/team-shop/members", headers=staff["headers"],
                           json={"email": "third@example.com"}), 403, "owner_only")
    _assert_error(api.delete(f"/api/v1/shops/team-shop/members/{owner['user']['id']}", headers=staff["headers"]),
                  403, "owner_only")
    assert _members(api, "team-shop", owner["headers"]) == expected

    # staff can create products
    response = api.post("/api/v1/shops/team-shop/products", headers=staff["headers"], json=_product_payload())
    assert response.status_code == 201, response.text
    assert response.json()["shop"]["slug"] == "team-shop"
    assert _shop(api, "team-shop")["product_count"] == 1

    # the owner cannot be removed; an unknown member is 404
    _assert_error(api.delete(f"/api/v1/shops/team-shop/members/{owner['user']['id']}", headers=owner["headers"]),
                  409, "owner_cannot_leave")
    _assert_error(api.delete(f"/api/v1/shops/team-shop/members/{third['user']['id']}", headers=owner["headers"]),
                  404, "not_found")

    # removing the staff member ends their access
    response = api.delete(f"/api/v1/shops/team-shop/members/{staff['user']['id']}", headers=owner["headers"])
    assert response.status_code == 204
    assert _members(api, "team-shop", owner["headers"]) == expected[:1]
    _assert_error(api.post("/api/v1/shops/team-shop/products", headers=staff["headers"],
                           json=_product_payload("After removal")), 403, "not_shop_member")
    _assert_error(api.patch("/api/v1/shops/team-shop", headers=staff["headers"], json={"name": "Nope"}), 403,
                  "not_shop_member")
    assert _shop(api, "team-shop")["product_count"] == 1
    assert api.get("/api/v1/me/shops", headers=staff["headers"]).json() == []


def test_list_shops_pagination(api: httpx.Client, make_user: Maker, make_shop: Maker) -> None:
    owner = make_user()
    created = [make_shop(f"page-shop-{i}", owner=owner)["id"] for i in range(5)]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = api.get("/api/v1/shops", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert all(set(item) == SHOP_KEYS and item["my_role"] is None for item in page["items"])
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert seen == created
    assert [s["id"] for s in _all_shops(api)] == created
    mine = api.get("/api/v1/me/shops", headers=owner["headers"]).json()
    assert sorted(s["id"] for s in mine) == created
    _assert_error(api.get("/api/v1/shops", params={"cursor": "!!"}), 422, "invalid_cursor")
    _assert_error(api.get("/api/v1/shops", params={"limit": -1}), 422, "validation_error")
