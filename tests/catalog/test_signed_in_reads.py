"""Signed-in catalog reads answered from shared bodies (catalog/read_cache.py): every reader
sees their own state and every change at once, and the shared bodies really are used.

Each test first reads the body it is about (so that it is cached), changes something, then
reads again: without the version check the second read would return the cached (stale) body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.budgets import assert_budget, measure
from tests.orders.conftest import ADDRESS, add, checkout

Maker = Callable[..., dict[str, Any]]

#: database → (statements, transactions) of one signed-in read once its body is shared: the one
#: committed read that resolves the session and checks the version (product), or checks the
#: versions of the page's products (listing).
PRODUCT_HIT = {"sqlite": (1, 0), "postgresql": (1, 0)}
LISTING_HIT = {"sqlite": (1, 0), "postgresql": (1, 0)}


def _product(api: httpx.Client, product_id: int, headers: dict[str, str]) -> dict[str, Any]:
    response = api.get(f"/api/v1/products/{product_id}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-length"] == str(len(response.content))
    body: dict[str, Any] = response.json()
    return body


def _listing(api: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/v1/products", params={"limit": 24, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def world(make_shop: Maker, make_product: Maker, make_user: Maker) -> dict[str, Any]:
    shop = make_shop("glow")
    product = make_product(shop, title="Vitamin C Serum", variants=[{"sku": "S-1", "price": 1999, "stock": 1}])
    other = make_product(shop, title="Night Cream", variants=[{"sku": "N-1", "price": 2999, "stock": 5}])
    return {"shop": shop, "product": product, "other": other, "alice": make_user(), "bob": make_user()}


def test_a_favourite_shows_at_once_for_its_owner_and_never_for_anyone_else(
    api: httpx.Client, world: dict[str, Any],
) -> None:
    alice, bob, pid = world["alice"], world["bob"], world["product"]["id"]
    for who in (alice, bob, alice, bob):  # both forms of the body cached
        assert _product(api, pid, who["headers"])["favourited"] is False
    assert api.put(f"/api/v1/products/{pid}/favourite", headers=alice["headers"]).status_code == 200
    mine, theirs = _product(api, pid, alice["headers"]), _product(api, pid, bob["headers"])
    assert (mine["favourited"], mine["favourites_count"]) == (True, 1)
    assert (theirs["favourited"], theirs["favourites_count"]) == (False, 1)
    assert _product(api, pid, alice["headers"])["favourited"] is True  # now from the shared body
    assert _product(api, pid, bob["headers"])["favourited"] is False
    assert api.delete(f"/api/v1/products/{pid}/favourite", headers=alice["headers"]).status_code == 200
    again = _product(api, pid, alice["headers"])
    assert (again["favourited"], again["favourites_count"]) == (False, 0)


def test_a_cookie_session_reads_its_own_favourite(api: httpx.Client, world: dict[str, Any]) -> None:
    alice, pid = world["alice"], world["product"]["id"]
    assert api.put(f"/api/v1/products/{pid}/favourite", headers=alice["headers"]).status_code == 200
    cookie = {"Cookie": f"mercato_session={alice['token']}"}
    assert _product(api, pid, world["bob"]["headers"])["favourited"] is False  # cached by someone else
    assert _product(api, pid, cookie)["favourited"] is True
    assert _product(api, pid, cookie)["favourited"] is True


def test_a_sellers_price_edit_shows_at_once_in_product_json_and_pages(
    api: httpx.Client, world: dict[str, Any],
) -> None:
    bob, product, owner = world["bob"], world["product"], world["shop"]["owner"]
    variant_id = product["variants"][0]["id"]
    for _ in range(2):
        assert _product(api, product["id"], bob["headers"])["price"] == 1999
        assert [c["price"] for c in _listing(api, bob["headers"], sort="price_asc")] == [1999, 2999]
    edited = api.patch(f"/api/v1/variants/{variant_id}", headers=owner["headers"], json={"price": 3999})
    assert edited.status_code == 200, edited.text
    body = _product(api, product["id"], bob["headers"])
    assert (body["price"], body["variants"][0]["price"], body["price_display"]) == (3999, 3999, "$39.99")
    assert [(c["id"], c["price"]) for c in _listing(api, bob["headers"], sort="price_asc")] == [
        (world["other"]["id"], 2999), (product["id"], 3999)]
    assert _product(api, product["id"], owner["headers"])["price"] == 3999


def test_buying_the_last_unit_shows_sold_out_at_once(api: httpx.Client, world: dict[str, Any]) -> None:
    bob, product = world["bob"], world["product"]
    for _ in range(2):
        assert _product(api, product["id"], bob["headers"])["in_stock"] is True
        assert [c["in_stock"] for c in _listing(api, bob["headers"], q="serum")] == [True]
    assert api.post("/api/v1/me/addresses", headers=bob["headers"],
                    json={**ADDRESS, "is_default": True}).status_code == 201
    made = checkout(api, bob, items=[{"variant_id": product["variants"][0]["id"], "quantity": 1}])
    assert made.status_code == 201, made.text
    body = _product(api, product["id"], bob["headers"])
    assert (body["in_stock"], body["variants"][0]["available"], body["variants"][0]["in_stock"]) == (False, 0, False)
    assert [c["in_stock"] for c in _listing(api, bob["headers"], q="serum")] == [False]
    assert _product(api, product["id"], world["alice"]["headers"])["in_stock"] is False


def test_a_cart_line_changes_no_shared_body_and_a_shop_rename_changes_them_all(
    api: httpx.Client, world: dict[str, Any],
) -> None:
    bob, product, owner = world["bob"], world["product"], world["shop"]["owner"]
    before = _product(api, product["id"], bob["headers"])
    assert add(api, bob, product["variants"][0]["id"]).status_code == 201
    cart = api.get("/api/v1/cart", headers=bob["headers"])
    assert cart.status_code == 200 and cart.json()["item_count"] == 1, cart.text
    assert _product(api, product["id"], bob["headers"]) == before  # a cart line reserves nothing
    _listing(api, bob["headers"])
    renamed = api.patch("/api/v1/shops/glow", headers=owner["headers"], json={"name": "Glow Lab"})
    assert renamed.status_code == 200, renamed.text
    assert _product(api, product["id"], bob["headers"])["shop"]["name"] == "Glow Lab"
    assert {c["shop"]["name"] for c in _listing(api, bob["headers"])} == {"Glow Lab"}


def test_archived_products_and_bad_sessions_are_still_the_routes_answers(
    api: httpx.Client, world: dict[str, Any],
) -> None:
    bob, product, owner = world["bob"], world["product"], world["shop"]["owner"]
    _product(api, product["id"], bob["headers"])
    _listing(api, bob["headers"])
    assert api.delete(f"/api/v1/products/{product['id']}", headers=owner["headers"]).status_code == 204
    gone = api.get(f"/api/v1/products/{product['id']}", headers=bob["headers"])
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found", gone.text
    assert _product(api, product["id"], owner["headers"])["status"] == "archived"  # members still see it
    assert [c["id"] for c in _listing(api, bob["headers"])] == [world["other"]["id"]]
    bad = api.get(f"/api/v1/products/{world['other']['id']}", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_session", bad.text


def test_signed_in_product_json_and_shop_tab_keep_their_statement_budgets(
    api: httpx.Client, world: dict[str, Any],
) -> None:
    bob, pid = world["bob"], world["product"]["id"]
    _product(api, pid, world["alice"]["headers"])  # the shared body, built for someone else
    _listing(api, world["alice"]["headers"])
    answer, seen = measure(lambda: api.get(f"/api/v1/products/{pid}", headers=bob["headers"]))
    assert answer.status_code == 200 and answer.json()["id"] == pid
    assert_budget("GET /api/v1/products/{id} (signed in)", seen, PRODUCT_HIT)
    page, seen = measure(lambda: api.get("/api/v1/products", params={"limit": 24}, headers=bob["headers"]))
    assert page.status_code == 200 and len(page.json()["items"]) == 2
    assert_budget("GET /api/v1/products?limit=24 (signed in)", seen, LISTING_HIT)
