"""The server-rendered pages over plain HTTP (no browser): status codes, log-in redirects, security
headers, CSRF on forms, stored and reflected XSS rendered inert, and the empty states."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
RAW_MARKERS = ("<script>alert", "<img src=x", "</script><img")

MakeUser = Callable[..., dict[str, Any]]
MakeShop = Callable[..., dict[str, Any]]
MakeProduct = Callable[..., dict[str, Any]]


@pytest.fixture
def world(api: httpx.Client, make_user: MakeUser, make_shop: MakeShop, make_product: MakeProduct) -> dict[str, Any]:
    """A seller with the handle @maya.sells, her shop and one active product."""
    owner = make_user("maya")
    response = api.patch("/api/v1/me", headers=owner["headers"], json={"handle": "maya.sells", "bio": "I sell things."})
    assert response.status_code == 200, response.text
    shop = make_shop("maya-goods", owner=owner)
    product = make_product(shop, "Hydrating Serum")
    return {"owner": owner, "shop": shop, "product": product}


@pytest.fixture
def browser_like(server: str) -> Iterator[httpx.Client]:
    """A client of its own, for cookie sessions (the shared ``api`` client stays cookie-free)."""
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def _csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def test_public_pages_answer_200_for_anonymous_visitors(api: httpx.Client, world: dict[str, Any]) -> None:
    pages = {
        "/": "For You", "/shop": "Hydrating Serum", "/live": "LIVE", "/login": "Log in",
        "/signup": "Create your account",
        f"/products/{world['product']['id']}": "Hydrating Serum", "/s/maya-goods": "Maya Goods",
        "/@maya.sells": "I sell things.", f"/u/{world['owner']['user']['id']}": "@maya.sells",
    }
    for path, text in pages.items():
        response = api.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert response.headers["content-type"].startswith("text/html"), path
        assert text in response.text, f"{path} does not show {text!r}"


@pytest.mark.parametrize(("path", "next_path"), [
    ("/me", "/me"), ("/seller", "/seller"), ("/favourites", "/favourites"),
    ("/seller?all=1", "/seller%3Fall%3D1"), ("/seller/maya-goods/products/new", "/seller/maya-goods/products/new"),
])
def test_pages_behind_log_in_redirect_to_it(api: httpx.Client, world: dict[str, Any], path: str,
                                            next_path: str) -> None:
    response = api.get(path, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/login?next={next_path}"
    form = api.get(response.headers["location"])
    assert form.status_code == 200
    assert re.search(r'name="next" value="/', form.text)


def test_unknown_things_are_404_pages(api: httpx.Client, world: dict[str, Any], make_product: MakeProduct) -> None:
    draft = make_product(world["shop"], "Secret Draft", status="draft")
    for path in ("/products/999999", f"/products/{draft['id']}", "/s/no-such-shop", "/@nobody.here"):
        response = api.get(path)
        assert response.status_code == 404, f"{path}: {response.status_code}"
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Not found" in response.text, path
    assert "Secret Draft" not in api.get("/shop").text


@pytest.mark.parametrize("path", ["/", "/shop", "/login", "/products/999999", "/api/v1/products", "/static/js/app.js"])
def test_security_headers(api: httpx.Client, path: str) -> None:
    headers = api.get(path).headers
    csp = headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("referrer-policy") == "same-origin"


def test_forms_without_a_csrf_token_are_refused(
    api: httpx.Client, browser_like: httpx.Client, make_user: MakeUser,
) -> None:
    make_user("csrf")  # csrf@example.com
    credentials = {"email": "csrf@example.com", "password": "correct-horse-1"}

    # Anonymous forms: no cookie and no field, then a cookie but no field, then a wrong field.
    assert api.post("/login", data=credentials).status_code == 403
    assert api.post("/signup", data={**credentials, "display_name": "X", "date_of_birth": "1990-01-01"}).status_code \
        == 403
    token = _csrf_from(browser_like.get("/login").text)
    assert browser_like.cookies.get("mercato_csrf") == token
    refused = browser_like.post("/login", data=credentials)
    assert refused.status_code == 403
    assert "The form expired" in refused.text
    assert browser_like.post("/login", data={**credentials, "csrf_token": "x" * 43}).status_code == 403
    assert "mercato_session" not in browser_like.cookies

    # With the token the same form works.
    logged_in = browser_like.post("/login", data={**credentials, "csrf_token": token}, follow_redirects=False)
    assert logged_in.status_code == 303, logged_in.text
    assert "mercato_session" in browser_like.cookies

    # Forms of a cookie session: refused without the token, accepted with it.
    assert browser_like.post("/me", data={"bio": "hacked"}).status_code == 403
    assert browser_like.post("/seller/shops", data={"name": "Evil", "slug": "evil-shop"}).status_code == 403
    assert browser_like.post("/logout").status_code == 403
    assert "hacked" not in browser_like.get("/me").text
    saved = browser_like.post("/me", data={"bio": "mine", "csrf_token": token}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert browser_like.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303


def test_stored_and_reflected_xss_is_inert(
    api: httpx.Client, make_user: MakeUser, make_shop: MakeShop, make_product: MakeProduct,
) -> None:
    owner = make_user("mallory")
    profile = api.patch("/api/v1/me", headers=owner["headers"],
                        json={"handle": "mallory", "bio": XSS, "display_name": XSS, "become_creator": True})
    assert profile.status_code == 200, profile.text
    shop = make_shop("mallory-shop", owner=owner)
    renamed = api.patch("/api/v1/shops/mallory-shop", headers=owner["headers"],
                        json={"name": XSS, "description": XSS, "policies": XSS})
    assert renamed.status_code == 200, renamed.text
    product = make_product(shop, XSS, description=XSS, tags=["safe"])
    assert product["title"] == XSS  # stored as typed: escaping is the pages' job

    pages = [
        "/shop", f"/shop?q={XSS}", f"/products/{product['id']}", "/s/mallory-shop", "/@mallory",
        f"/s/mallory-shop?q={XSS}",
    ]
    for path in pages:
        response = api.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        html = response.text
        assert XSS_ESCAPED in html, f"{path} does not show the escaped text"
        for marker in RAW_MARKERS:
            assert marker not in html, f"{path} contains the raw {marker!r}"
    # For You (no videos here) shows none of it raw either.
    home = api.get("/").text
    for marker in RAW_MARKERS:
        assert marker not in home
    # The product's variant data for the picker is JSON inside <script>: it must not close that element.
    product_html = api.get(f"/products/{product['id']}").text
    data = re.search(r'<script type="application/json" id="variants-data">(.*?)</script>', product_html, re.S)
    assert data is not None
    assert "<" not in data.group(1)


def test_empty_states(api: httpx.Client, make_user: MakeUser, make_shop: MakeShop) -> None:
    home = api.get("/")
    assert home.status_code == 200 and "No videos yet — upload the first one" in home.text
    shop_tab = api.get("/shop")
    assert shop_tab.status_code == 200 and "No products yet" in shop_tab.text
    no_match = api.get("/shop", params={"q": "unicorn saddle"})
    assert no_match.status_code == 200
    assert "No products match “unicorn saddle”" in no_match.text
    shop = make_shop("empty-shop")
    shop_page = api.get("/s/empty-shop")
    assert shop_page.status_code == 200 and "This shop has no products yet" in shop_page.text
    assert "No products match" in api.get("/s/empty-shop", params={"q": "anything"}).text
    favourites = api.get("/favourites", headers=shop["owner"]["headers"])
    assert favourites.status_code == 200 and "Nothing saved yet" in favourites.text
    seller = api.get("/seller/empty-shop", headers=shop["owner"]["headers"])
    assert seller.status_code == 200 and "No products yet" in seller.text
    newcomer = make_user("newcomer")
    assert "You have no shop yet" in api.get("/seller", headers=newcomer["headers"]).text
