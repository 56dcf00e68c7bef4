from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.orders.conftest import add


def test_cart_across_shops_is_priced_on_the_server(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                                   buyer: Callable[..., dict[str, Any]]) -> None:
    usd = stocked(price=1999, stock=5)
    jpy = stocked(price=1200, stock=5, currency="JPY", title="Matcha Box")
    shopper = buyer()
    assert add(api, shopper, usd["variant_id"], 2).status_code == 201
    assert add(api, shopper, usd["variant_id"], 1).status_code == 201  # merges
    response = add(api, shopper, jpy["variant_id"], 1)
    body = response.json()
    assert body["item_count"] == 4
    by_currency = {g["currency"]: g for g in body["shops"]}
    assert by_currency["USD"]["subtotal"] == 3 * 1999
    assert by_currency["USD"]["subtotal_display"] == "$59.97"
    assert by_currency["JPY"]["subtotal_display"] == "¥1,200"
    # a client-supplied price is ignored
    extra = api.post("/api/v1/cart/items", headers=shopper["headers"],
                     json={"variant_id": usd["variant_id"], "quantity": 1, "price": 1, "unit_price": 1})
    assert extra.json()["shops"][0]["lines"][0]["unit_price"] == 1999


def test_cart_refuses_bad_quantities_and_stock(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                               buyer: Callable[..., dict[str, Any]]) -> None:
    item = stocked(stock=3)
    shopper = buyer()
    for quantity in (0, -1, 100, 10**9):
        response = add(api, shopper, item["variant_id"], quantity)
        assert response.status_code == 422, (quantity, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    response = add(api, shopper, item["variant_id"], 4)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_enough_stock"
    assert response.json()["error"]["details"]["available"] == 3
    assert api.get("/api/v1/cart", headers=shopper["headers"]).json()["item_count"] == 0
    assert add(api, shopper, 999_999).status_code == 404


def test_cart_items_are_private(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                                buyer: Callable[..., dict[str, Any]]) -> None:
    item = stocked()
    alice, mallory = buyer(), buyer()
    line = add(api, alice, item["variant_id"], 2).json()["shops"][0]["lines"][0]
    assert api.patch(f"/api/v1/cart/items/{line['item_id']}", headers=mallory["headers"],
                     json={"quantity": 1}).status_code == 404
    assert api.delete(f"/api/v1/cart/items/{line['item_id']}", headers=mallory["headers"]).status_code == 404
    assert api.get("/api/v1/cart", headers=alice["headers"]).json()["item_count"] == 2
    assert api.get("/api/v1/cart").status_code == 401


def test_change_and_remove(api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                           buyer: Callable[..., dict[str, Any]]) -> None:
    item = stocked(stock=5)
    shopper = buyer()
    line = add(api, shopper, item["variant_id"], 1).json()["shops"][0]["lines"][0]
    changed = api.patch(f"/api/v1/cart/items/{line['item_id']}", headers=shopper["headers"], json={"quantity": 5})
    assert changed.json()["item_count"] == 5
    too_many = api.patch(f"/api/v1/cart/items/{line['item_id']}", headers=shopper["headers"], json={"quantity": 6})
    assert too_many.status_code == 409
    removed = api.delete(f"/api/v1/cart/items/{line['item_id']}", headers=shopper["headers"])
    assert removed.json() == {"shops": [], "item_count": 0}
