"""Signed-in catalog reads answered from shared bodies (catalog/read_cache.py): every reader
sees their own state and every change at once, and the shared bodies really are used.

Each test first reads the body it is about (so that it is cached), changes something, then
reads again: without the version check the second read would return the cached (stale) body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from mercato.catalog.models import Product, Variant
from mercato.orders.models import CartItem
from tests.budgets import assert_budget, measure
from tests.orders.conftest import ADDRESS, add, checkout

Maker = Callable[..., dict[str, Any]]

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
def world(api: httpx.Client, make_shop: Maker, make_product: Maker, make_user: Maker) -> dict[str, Any]:
    shop = make_shop("glow")
    product = make_product(shop, title="Vitamin C Serum", variants=[{"sku": "S-1", "price": 1999, "stock": 1}])
    other = make_product(shop, title="Night Cream", variants=[{"sku": "N-1", "price": 2999, "stock": 5}])
    bob = make_user()
    assert api.post("/api/v1/me/addresses", headers=bob["headers"],
                    json={**ADDRESS, "is_default": True}).status_code == 201
    return {"shop": shop, "product": product, "other": other, "alice": make_user(), "bob": bob}


@pytest.fixture
def reprice(db_run: Callable[..., Any]) -> Callable[[dict[str, Any], int], None]:
    """A price change written behind the app's back, as another app process would: this process
    has no write of its own that could empty its caches, only the product's version tells."""

    def change(product: dict[str, Any], price: int) -> None:
        async def write(session: Any) -> None:
            await session.execute(update(Variant).where(Variant.id == product["variants"][0]["id"]).values(price=price))
            await session.execute(update(Product).where(Product.id == product["id"]).values(min_price=price))

        db_run(write)

    return change


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


# --- HTML pages: the product page and the Shop Tab page ---------------------------------------

#: A shared page's check: the session with the reader's flags and the page's product (one
#: statement), the versions of the other products it shows (one more).
PRODUCT_PAGE_HIT = {"sqlite": (2, 0), "postgresql": (2, 0)}
SHOP_PAGE_HIT = {"sqlite": (2, 0), "postgresql": (2, 0)}


def _browser(who: dict[str, Any], csrf: str) -> dict[str, str]:
    return {"Cookie": f"mercato_session={who['token']}; mercato_csrf={csrf}"}


def _page(api: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> str:
    response = api.get(path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    return response.text


def _fresh(api: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> str:
    """The route's own rendering (an htmx request is never answered from a shared page)."""
    return _page(api, path, {**headers, "HX-Request": "true"}, **params)


def test_a_shared_product_page_is_the_routes_page_for_each_reader(api: httpx.Client, world: dict[str, Any]) -> None:
    alice, bob, pid = world["alice"], world["bob"], world["product"]["id"]
    as_bob, as_alice = _browser(bob, "b" * 43), _browser(alice, "a-token_" * 5)
    for _ in range(2):
        _page(api, f"/products/{pid}", as_bob)
    mine = _page(api, f"/products/{pid}", as_alice)
    assert mine == _fresh(api, f"/products/{pid}", as_alice)
    assert "a-token_" * 5 in mine and "b" * 43 not in mine
    assert f'<span class="avatar sm initials">{alice["user"]["display_name"][0].upper()}</span>' in mine
    assert "Edit in Seller Center" not in mine
    owner = _browser(world["shop"]["owner"], "o" * 40)
    assert "Edit in Seller Center" in _page(api, f"/products/{pid}", owner)
    assert "Edit in Seller Center" not in _page(api, f"/products/{pid}", as_bob)
    assert _page(api, f"/products/{pid}", as_bob) == _fresh(api, f"/products/{pid}", as_bob)


def test_product_page_shows_each_readers_favourite_and_every_change_at_once(
    api: httpx.Client, world: dict[str, Any],
) -> None:
    alice, bob, product, owner = world["alice"], world["bob"], world["product"], world["shop"]["owner"]
    path = f"/products/{product['id']}"
    as_alice, as_bob = _browser(alice, "a" * 43), _browser(bob, "b" * 43)
    for _ in range(2):
        assert "♥ Saved" not in _page(api, path, as_alice) and "♥ Saved" not in _page(api, path, as_bob)
    assert api.put(f"/api/v1/products/{product['id']}/favourite", headers=alice["headers"]).status_code == 200
    assert "♥ Saved" in _page(api, path, as_alice)
    assert "♥ Saved" not in _page(api, path, as_bob)
    assert "♥ Saved" in _page(api, path, as_alice)
    edited = api.patch(f"/api/v1/variants/{product['variants'][0]['id']}", headers=owner["headers"],
                       json={"price": 3999})
    assert edited.status_code == 200, edited.text
    assert '<strong id="price">$39.99</strong>' in _page(api, path, as_bob)
    assert "In stock" in _page(api, path, as_bob) or "Only 1 left" in _page(api, path, as_bob)
    for _ in range(2):
        assert "Out of stock" not in _page(api, path, as_alice)
    made = checkout(api, bob, items=[{"variant_id": product["variants"][0]["id"], "quantity": 1}])
    assert made.status_code == 201, made.text
    assert "Out of stock" in _page(api, path, as_alice)
    assert _page(api, path, as_alice) == _fresh(api, path, as_alice)


def test_the_shop_tab_page_is_shared_and_shows_a_price_edit_at_once(api: httpx.Client, world: dict[str, Any]) -> None:
    alice, bob, product, owner = world["alice"], world["bob"], world["product"], world["shop"]["owner"]
    as_alice, as_bob = _browser(alice, "a" * 43), _browser(bob, "b" * 43)
    for _ in range(2):
        assert "$19.99" in _page(api, "/shop", as_bob, sort="price_asc")
    mine = _page(api, "/shop", as_alice, sort="price_asc")
    assert mine == _fresh(api, "/shop", as_alice, sort="price_asc") and "b" * 43 not in mine
    edited = api.patch(f"/api/v1/variants/{product['variants'][0]['id']}", headers=owner["headers"],
                       json={"price": 3999})
    assert edited.status_code == 200, edited.text
    page = _page(api, "/shop", as_alice, sort="price_asc")
    assert "$39.99" in page and "$19.99" not in page
    assert page.index("Night Cream") < page.index("Vitamin C Serum")  # the page re-sorted


def test_pages_without_a_csrf_cookie_or_a_live_session_are_the_routes(api: httpx.Client, world: dict[str, Any]) -> None:
    bob, pid = world["bob"], world["product"]["id"]
    _page(api, f"/products/{pid}", _browser(bob, "b" * 43))
    first = api.get(f"/products/{pid}", headers={"Cookie": f"mercato_session={bob['token']}"})
    assert first.status_code == 200 and "mercato_csrf=" in first.headers["set-cookie"]
    ended = api.get(f"/products/{pid}", headers={"Cookie": f"mercato_session=nope; mercato_csrf={'c' * 43}"})
    assert ended.status_code == 200 and "Log in to buy" in ended.text and "c" * 43 in ended.text


def test_signed_in_pages_keep_their_statement_budgets(api: httpx.Client, world: dict[str, Any]) -> None:
    pid = world["product"]["id"]
    _page(api, f"/products/{pid}", _browser(world["alice"], "a" * 43))
    _page(api, "/shop", _browser(world["alice"], "a" * 43))
    as_bob = _browser(world["bob"], "b" * 43)
    answer, seen = measure(lambda: api.get(f"/products/{pid}", headers=as_bob))
    assert answer.status_code == 200 and "b" * 43 in answer.text
    assert_budget("GET /products/{id} (signed in)", seen, PRODUCT_PAGE_HIT)
    answer, seen = measure(lambda: api.get("/shop", headers=as_bob))
    assert answer.status_code == 200 and "b" * 43 in answer.text
    assert_budget("GET /shop (signed in)", seen, SHOP_PAGE_HIT)


def _shown_price(api: httpx.Client, world: dict[str, Any], surface: str) -> str:
    """The Vitamin C Serum's price as ``surface`` shows it to Bob."""
    bob, product = world["bob"], world["product"]
    as_bob = _browser(bob, "b" * 43)
    if surface == "product_json":
        body = _product(api, product["id"], bob["headers"])
        assert body["price"] == body["variants"][0]["price"]
        return str(body["price_display"])
    if surface == "listing":
        cards = _listing(api, bob["headers"], sort="price_asc")
        assert [c["price"] for c in cards] == sorted(c["price"] for c in cards)  # still sorted by price
        return str(next(c["price_display"] for c in cards if c["id"] == product["id"]))
    if surface == "product_page":
        page = _page(api, f"/products/{product['id']}", as_bob)
        return page.split('<strong id="price">')[1].split("<")[0]
    page = _page(api, "/shop", as_bob, sort="price_asc")
    return "$39.99" if "$39.99" in page and "$19.99" not in page else "$19.99" if "$19.99" in page else "?"


@pytest.mark.parametrize("surface", ["product_json", "listing", "product_page", "shop_page"])
def test_a_price_changed_by_another_process_shows_at_once(
    api: httpx.Client, world: dict[str, Any], reprice: Callable[[dict[str, Any], int], None], surface: str,
) -> None:
    assert [_shown_price(api, world, surface) for _ in range(2)] == ["$19.99", "$19.99"]
    reprice(world["product"], 3999)
    assert _shown_price(api, world, surface) == "$39.99"


def test_a_related_product_changed_by_another_process_shows_on_the_product_page(
    api: httpx.Client, world: dict[str, Any], reprice: Callable[[dict[str, Any], int], None],
) -> None:
    path, as_bob = f"/products/{world['product']['id']}", _browser(world["bob"], "b" * 43)
    for _ in range(2):
        assert "$29.99" in _page(api, path, as_bob)
    reprice(world["other"], 999)
    page = _page(api, path, as_bob)
    assert "$9.99" in page and "$29.99" not in page


# --- the cart page (orders/read_cache.py), kept per reader -------------------------------------

#: The cart page's check: the session, the reader and their cart lines with product versions.
CART_PAGE_HIT = {"sqlite": (1, 0), "postgresql": (1, 0)}


def test_the_cart_page_is_each_readers_own_and_shows_every_change_at_once(
    api: httpx.Client, world: dict[str, Any], reprice: Callable[[dict[str, Any], int], None],
    db_run: Callable[..., Any],
) -> None:
    alice, bob, product = world["alice"], world["bob"], world["product"]
    as_bob, as_alice = _browser(bob, "b" * 43), _browser(alice, "a" * 43)
    as_bob_elsewhere = _browser(bob, "x" * 43)  # the same reader in another browser
    for _ in range(2):
        assert "Vitamin C Serum" not in _page(api, "/cart", as_bob)
    assert add(api, bob, product["variants"][0]["id"]).status_code == 201
    for _ in range(2):
        page = _page(api, "/cart", as_bob)
        assert "Vitamin C Serum" in page and "$19.99" in page and "Check out (1 item)" in page
    assert _page(api, "/cart", as_bob) == _fresh(api, "/cart", as_bob)
    other = _page(api, "/cart", as_bob_elsewhere)
    assert "x" * 43 in other and "b" * 43 not in other
    assert "Vitamin C Serum" not in _page(api, "/cart", as_alice)  # never another reader's cart
    reprice(product, 3999)  # another process
    assert "$39.99" in _page(api, "/cart", as_bob)

    async def more(session: Any) -> None:  # another process changes the quantity
        await session.execute(update(CartItem).where(CartItem.user_id == bob["user"]["id"]).values(quantity=2))

    db_run(more)
    page = _page(api, "/cart", as_bob)
    assert "Check out (2 items)" in page and "Only 1 left." in page
    assert page == _fresh(api, "/cart", as_bob)
    _, seen = measure(lambda: api.get("/cart", headers=as_bob))
    assert_budget("GET /cart (signed in)", seen, CART_PAGE_HIT)


# --- the Seller Center products page --------------------------------------------------------

#: The session, the reader's role in the shop and the shop's fingerprint: one statement.
SELLER_PAGE_HIT = {"sqlite": (1, 0), "postgresql": (1, 0)}


def test_the_seller_products_page_shows_every_change_of_the_shop_at_once(
    api: httpx.Client, world: dict[str, Any], reprice: Callable[[dict[str, Any], int], None],
    db_run: Callable[..., Any],
) -> None:
    owner, product = world["shop"]["owner"], world["product"]
    as_owner = _browser(owner, "o" * 43)
    for _ in range(2):
        page = _page(api, "/seller/glow", as_owner)
        assert "$19.99" in page and "All (2)" in page and "Active (2)" in page
    assert page == _fresh(api, "/seller/glow", as_owner)
    reprice(product, 3999)  # another process
    assert "$39.99" in _page(api, "/seller/glow", as_owner)

    async def archive(session: Any) -> None:
        await session.execute(update(Product).where(Product.id == product["id"]).values(status="archived"))

    db_run(archive)
    page = _page(api, "/seller/glow", as_owner)
    assert "Active (1)" in page and "Archived (1)" in page
    assert page == _fresh(api, "/seller/glow", as_owner)
    stranger = api.get("/seller/glow", headers=_browser(world["bob"], "b" * 43))
    assert stranger.status_code in (403, 404) and "Active (1)" not in stranger.text
    _, seen = measure(lambda: api.get("/seller/glow", headers=as_owner))
    assert_budget("GET /seller/{slug} (signed in)", seen, SELLER_PAGE_HIT)
