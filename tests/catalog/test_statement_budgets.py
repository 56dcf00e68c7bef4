"""Statement budgets of signed-in catalog reads (tests/budgets.py): product JSON and the Shop
Tab JSON, once their shared body is built (the steady state: ``catalog/read_cache.py``) and
when it must be built (a first read, or after the product changed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.budgets import assert_budget, measure

#: database → (statements, transactions). A shared body: the one committed read that resolves the
#: session and checks the product's version (product) or checks the versions of the page's
#: products (listing).
PRODUCT_HIT = {"sqlite": (1, 0), "postgresql": (1, 0)}
LISTING_HIT = {"sqlite": (1, 0), "postgresql": (1, 0)}
#: Built by the route: the check, then the route's unit of work (session, product, its favourite
#: flag, shop, images, variants, category, brand; on SQLite the observer also sees its BEGIN).
PRODUCT_BUILT = {"sqlite": (10, 1), "postgresql": (9, 1)}
#: The route's unit of work (the page of products, their covers and shops; BEGIN on SQLite).
LISTING_BUILT = {"sqlite": (4, 1), "postgresql": (3, 1)}


def test_signed_in_product_json_and_shop_tab_json_keep_their_statement_budgets(
    api: httpx.Client, make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
    make_user: Callable[..., dict[str, Any]],
) -> None:
    shop = make_shop("glow")
    product = make_product(shop, title="Vitamin C Serum", category="Beauty > Skincare", brand="GlowLab")
    make_product(shop, title="Night Cream")
    reader = make_user()
    built, seen_built = measure(lambda: api.get(f"/api/v1/products/{product['id']}", headers=reader["headers"]))
    assert built.status_code == 200 and built.json()["id"] == product["id"]
    hit, seen_hit = measure(lambda: api.get(f"/api/v1/products/{product['id']}", headers=reader["headers"]))
    assert hit.json() == built.json()
    assert_budget("GET /api/v1/products/{id} (signed in, built)", seen_built, PRODUCT_BUILT)
    assert_budget("GET /api/v1/products/{id} (signed in, shared)", seen_hit, PRODUCT_HIT)
    page, seen_page = measure(lambda: api.get("/api/v1/products", params={"limit": 24}, headers=reader["headers"]))
    assert page.status_code == 200 and len(page.json()["items"]) == 2
    again, seen_again = measure(lambda: api.get("/api/v1/products", params={"limit": 24}, headers=reader["headers"]))
    assert again.json() == page.json()
    assert_budget("GET /api/v1/products?limit=24 (signed in, built)", seen_page, LISTING_BUILT)
    assert_budget("GET /api/v1/products?limit=24 (signed in, shared)", seen_again, LISTING_HIT)
