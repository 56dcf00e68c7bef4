"""The Shop Tab (GET /api/v1/products): search, filters, sorts and cursor pagination."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Product
from mercato.config import Settings
from mercato.kit.pagination import encode_cursor

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


def _page(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/api/v1/products", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _titles(api: httpx.Client, **params: Any) -> list[str]:
    return [item["title"] for item in _page(api, limit=100, **params)["items"]]


def _walk(api: httpx.Client, limit: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a listing, following next_cursor; returns the items and the number of pages."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        page = _page(api, **query)
        pages += 1
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100, "pagination does not end"


def _set_stats(db_run: DbRun, product_id: int, **values: int) -> None:
    async def go(session: AsyncSession) -> None:
        await session.execute(update(Product).where(Product.id == product_id).values(**values))

    db_run(go)


@pytest.fixture
def catalog(api: httpx.Client, make_shop: Maker, make_product: Maker, make_user: Maker) -> dict[str, dict[str, Any]]:
    """A small, varied catalog across two shops, plus a draft that must never show."""
    glow, threads = make_shop("glow"), make_shop("threads")
    products = {
        "serum": make_product(glow, "Vitamin C Serum", brand="GlowLab", category="Beauty > Skincare",
                              description="A brightening formula with <b>hyaluronic</b> acid", tags=["vegan"],
                              variants=[{"sku": "GLW-SER-01", "price": 2500, "stock": 5}]),
        "cream": make_product(glow, "Night Cream", brand="Lumi", category="Beauty > Face",
                              description="Apply after your serum at night",
                              variants=[{"sku": "LUM-NC-2", "price": 3000, "stock": 0}]),
        "tee": make_product(threads, "Cotton Tee", brand="Acme", category="Clothing > Tshirts",
                            description="Soft organic cotton", variants=[{"price": 1500, "stock": 10}]),
        "hoodie": make_product(threads, "Wool Hoodie", brand="Acme", category="Clothing > Hoodies",
                               description="Warm merino wool", variants=[{"price": 4500, "stock": 2}]),
        "tote": make_product(threads, "Canvas Tote", category="Bags", description="Carries everything",
                             variants=[{"price": 900, "stock": 3}]),
    }
    make_product(glow, "Draft Serum Deluxe", status="draft", brand="GlowLab", category="Beauty > Skincare",
                 variants=[{"sku": "GLW-SER-99", "price": 100, "stock": 1}])
    return products


# --- full-text search ----------------------------------------------------------------------


SEARCHES: list[tuple[str, list[str]]] = [
    ("serum", ["Vitamin C Serum", "Night Cream"]),  # title match ranks above description match
    ("Serum", ["Vitamin C Serum", "Night Cream"]),
    ("vitamin serum", ["Vitamin C Serum"]),
    ("glowlab", ["Vitamin C Serum"]),  # brand
    ("skincare", ["Vitamin C Serum"]),  # category
    ("hyaluronic", ["Vitamin C Serum"]),  # description (HTML stripped)
    ("vegan", ["Vitamin C Serum"]),  # tag
    ("GLW-SER-01", ["Vitamin C Serum"]),  # SKU
    ("LUM-NC-2", ["Night Cream"]),
    ("cotton", ["Cotton Tee"]),
    ("merino", ["Wool Hoodie"]),
    ("zzzzqqq", []),
    ("deluxe", []),  # only the draft has it
]


def test_full_text_search(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    wrong = {q: got for q, expected in SEARCHES if (got := _titles(api, q=q)) != expected}
    assert wrong == {}
    # a parent category word finds the products of every subcategory (equal rank: order not asserted)
    assert sorted(_titles(api, q="clothing")) == ["Cotton Tee", "Wool Hoodie"]


def test_sku_search_whatever_its_shape(api: httpx.Client, make_shop: Maker, make_product: Maker) -> None:
    shop = make_shop("skus")
    skus = ["ABC-1", "SER-10", "RP-MacBookAir80GB-1.6MHz", "SRT_COT_111", "12-34", "X.5"]
    targets = {sku: make_product(shop, f"Target {n}", variants=[{"sku": sku, "price": 100, "stock": 1}])["id"]
               for n, sku in enumerate(skus)}
    make_product(shop, "Decoy", variants=[{"sku": "ZZZ-999", "price": 100, "stock": 1}])
    found = {query: [item["id"] for item in _page(api, q=query)["items"]]
             for sku in skus for query in (sku, sku.lower())}
    assert found == {query: [product_id] for sku, product_id in targets.items() for query in (sku, sku.lower())}


def test_prefix_search(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    titles = _titles(api, q="ser")
    assert titles[0] == "Vitamin C Serum"
    assert sorted(titles) == ["Night Cream", "Vitamin C Serum"]
    assert _titles(api, q="hood") == ["Wool Hoodie"]
    assert _titles(api, q="glo") == ["Vitamin C Serum"]


ODD_QUERIES: list[tuple[str, list[str]]] = [
    *[(q, []) for q in ("!!!", "%", "'", '"', "*", "()", "-", ":", "^", "\\", "\u200b", "AND", "NEAR", "NOT",
                       "x" * 200, "'; DROP TABLE products; --")],
    ("OR", ["Cotton Tee"]),  # a plain word (prefix of "organic"), not an operator
    ("ser*", ["Vitamin C Serum", "Night Cream"]),
    ('"serum', ["Vitamin C Serum", "Night Cream"]),
    ("serum)", ["Vitamin C Serum", "Night Cream"]),
    ("serum OR tee", []),
    ("Tee!", ["Cotton Tee"]),
]


def test_odd_queries_never_fail(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    got: dict[str, Any] = {}
    for q, _ in ODD_QUERIES:
        response = api.get("/api/v1/products", params={"q": q})
        got[q] = [item["title"] for item in response.json()["items"]] if response.status_code == 200 else (
            response.status_code, response.text)
    assert got == dict(ODD_QUERIES)
    assert len(_titles(api)) == 5  # nothing was harmed


def test_too_long_query_is_a_validation_error(api: httpx.Client) -> None:
    _assert_error(api.get("/api/v1/products", params={"q": "x" * 201}), 422, "validation_error")


def test_empty_query_lists_everything_newest_first(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    expected = ["Canvas Tote", "Wool Hoodie", "Cotton Tee", "Night Cream", "Vitamin C Serum"]
    assert _titles(api) == expected
    assert _titles(api, q="") == expected
    assert _titles(api, q="   ") == expected


# --- filters -------------------------------------------------------------------------------


def test_category_filter_includes_subcategories(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    response = api.get("/api/v1/categories")
    assert response.status_code == 200
    categories = {c["path"]: c for c in response.json()}
    assert {"Clothing", "Clothing > Tshirts", "Clothing > Hoodies", "Beauty", "Beauty > Skincare", "Beauty > Face",
            "Bags"} <= set(categories)
    clothing = categories["Clothing"]
    assert clothing["parent_id"] is None
    assert categories["Clothing > Tshirts"]["parent_id"] == clothing["id"]
    assert sorted(_titles(api, category=clothing["slug"])) == ["Cotton Tee", "Wool Hoodie"]
    assert _titles(api, category=categories["Clothing > Hoodies"]["slug"]) == ["Wool Hoodie"]
    assert sorted(_titles(api, category=categories["Beauty"]["slug"])) == ["Night Cream", "Vitamin C Serum"]
    assert _titles(api, category=categories["Bags"]["slug"]) == ["Canvas Tote"]
    assert _titles(api, category=clothing["slug"], q="wool") == ["Wool Hoodie"]
    # a draft-only category is not offered
    assert all("Deluxe" not in path for path in categories)


def test_unknown_filters_give_an_empty_page(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    for params in ({"category": "no-such-category"}, {"brand": "no-such-brand"}, {"shop": "no-such-shop"}):
        assert _page(api, **params) == {"items": [], "next_cursor": None}


def test_brand_and_shop_filters(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    brands = {b["name"]: b for b in api.get("/api/v1/brands").json()}
    assert sorted(brands) == ["Acme", "GlowLab", "Lumi"]
    assert sorted(_titles(api, brand=brands["Acme"]["slug"])) == ["Cotton Tee", "Wool Hoodie"]
    assert _titles(api, brand=brands["GlowLab"]["slug"]) == ["Vitamin C Serum"]
    assert sorted(_titles(api, shop="glow")) == ["Night Cream", "Vitamin C Serum"]
    assert sorted(_titles(api, shop="threads")) == ["Canvas Tote", "Cotton Tee", "Wool Hoodie"]
    assert _titles(api, shop="threads", brand=brands["GlowLab"]["slug"]) == []


def test_stock_and_price_filters(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    assert "Night Cream" not in _titles(api, in_stock="true")
    assert len(_titles(api, in_stock="true")) == 4
    assert len(_titles(api, in_stock="false")) == 5
    assert _titles(api, min_price=1500, max_price=2500, sort="price_asc") == ["Cotton Tee", "Vitamin C Serum"]
    assert _titles(api, min_price=4500) == ["Wool Hoodie"]
    assert _titles(api, max_price=899) == []
    assert _titles(api, max_price=900) == ["Canvas Tote"]
    _assert_error(api.get("/api/v1/products", params={"min_price": 3000, "max_price": 1000}), 422,
                  "invalid_price_range")
    for params in ({"min_price": -1}, {"max_price": 10**13}, {"min_price": "cheap"}, {"in_stock": "maybe"}):
        _assert_error(api.get("/api/v1/products", params=params), 422, "validation_error")


# --- sorts ---------------------------------------------------------------------------------


def test_every_sort_orders_correctly(
    api: httpx.Client, catalog: dict[str, dict[str, Any]], db_run: DbRun, make_user: Maker
) -> None:
    ids = {name: product["id"] for name, product in catalog.items()}
    stats = {  # name: (rating_avg in hundredths, sold_count)
        "serum": (480, 120), "cream": (450, 120), "tee": (480, 300), "hoodie": (0, 0), "tote": (390, 5),
    }
    for name, (rating, sold) in stats.items():
        _set_stats(db_run, ids[name], rating_avg=rating, sold_count=sold)
    fans = [make_user() for _ in range(3)]
    for fan, names in zip(fans, (["tote", "hoodie"], ["tote", "hoodie"], ["tote"]), strict=True):
        for name in names:
            assert api.put(f"/api/v1/products/{ids[name]}/favourite", headers=fan["headers"]).status_code == 200

    def order(sort: str, **params: Any) -> list[str]:
        by_id = {v: k for k, v in ids.items()}
        return [by_id[item["id"]] for item in _page(api, sort=sort, limit=100, **params)["items"]]

    assert order("newest") == ["tote", "hoodie", "tee", "cream", "serum"]
    assert order("price_asc") == ["tote", "tee", "serum", "cream", "hoodie"]
    assert order("price_desc") == ["hoodie", "cream", "serum", "tee", "tote"]
    # ties are broken by id, in the direction of the sort (newer first for descending sorts)
    assert order("rating") == ["tee", "serum", "cream", "tote", "hoodie"]
    assert order("popular") == ["tee", "cream", "serum", "tote", "hoodie"]
    assert order("saved") == ["tote", "hoodie", "tee", "cream", "serum"]
    assert order("relevance", q="serum") == ["serum", "cream"]
    assert order("relevance") == order("newest")  # relevance without a query falls back to newest
    assert order("price_asc", q="serum") == ["serum", "cream"]
    assert order("price_desc", q="serum") == ["cream", "serum"]

    cards = {item["id"]: item for item in _page(api, limit=100)["items"]}
    assert (cards[ids["serum"]]["rating"], cards[ids["serum"]]["sold_count"]) == (4.8, 120)
    assert cards[ids["tote"]]["favourites_count"] == 3


def test_invalid_sort(api: httpx.Client) -> None:
    body = _assert_error(api.get("/api/v1/products", params={"sort": "cheapest"}), 422, "validation_error")
    assert [d["field"] for d in body["error"]["details"]] == ["query.sort"]


# --- pagination ----------------------------------------------------------------------------


@pytest.fixture
def thirty(api: httpx.Client, make_shop: Maker, make_product: Maker) -> list[dict[str, Any]]:
    """30 products sharing the word 'widget', with tied prices and varied relevance."""
    shop = make_shop("widgets")
    return [
        make_product(shop, f"Widget model {i:02d}", description="widget " * (i % 3),
                     variants=[{"price": 1000 + (i % 4) * 250, "stock": i % 2}])
        for i in range(30)
    ]


@pytest.mark.parametrize(("sort", "q"), [("price_asc", None), ("newest", None), ("relevance", "widget"),
                                         ("price_desc", None), ("saved", None), ("relevance", "wid")])
def test_cursor_walk_visits_every_product_once(
    api: httpx.Client, thirty: list[dict[str, Any]], sort: str, q: str | None
) -> None:
    params: dict[str, Any] = {"sort": sort}
    if q:
        params["q"] = q
    items, pages = _walk(api, 7, **params)
    ids = [item["id"] for item in items]
    assert pages == 5  # 7 + 7 + 7 + 7 + 2
    assert len(ids) == 30 and len(set(ids)) == 30
    assert set(ids) == {p["id"] for p in thirty}
    whole = [item["id"] for item in _page(api, limit=100, **params)["items"]]
    assert ids == whole  # the pages put together equal the single page
    if sort == "price_asc":
        assert ids == [p["id"] for p in sorted(thirty, key=lambda p: (p["price"], p["id"]))]
    if sort == "price_desc":
        assert ids == [p["id"] for p in sorted(thirty, key=lambda p: (-p["price"], -p["id"]))]
    if sort in ("newest", "saved"):
        assert ids == sorted(ids, reverse=True)


def test_cursor_walk_with_filters(api: httpx.Client, thirty: list[dict[str, Any]]) -> None:
    items, pages = _walk(api, 4, sort="price_asc", in_stock="true", min_price=1250)
    expected = [p["id"] for p in sorted(thirty, key=lambda p: (p["price"], p["id"]))
                if p["in_stock"] and p["price"] >= 1250]
    assert [item["id"] for item in items] == expected
    assert pages == -(-len(expected) // 4)


def test_limit_is_capped(api: httpx.Client, make_shop: Maker, settings: Settings) -> None:
    shop = make_shop("bulk")
    count = settings.page_size_max + 5
    rows = ["product_id,title,price,stock"] + [f"P{i},Bulk item {i},{i + 1}.00,1" for i in range(count)]
    response = api.post("/api/v1/shops/bulk/imports", headers=shop["owner"]["headers"],
                        files={"file": ("bulk.csv", "\n".join(rows).encode(), "text/csv")})
    assert response.status_code == 201, response.text
    assert response.json()["created"] == count

    page = _page(api, limit=1000000)
    assert len(page["items"]) == settings.page_size_max
    assert page["next_cursor"] is not None
    assert len(_page(api)["items"]) == settings.page_size_default
    rest = _page(api, limit=1000000, cursor=page["next_cursor"])
    assert len(rest["items"]) == 5 and rest["next_cursor"] is None
    seller = api.get("/api/v1/shops/bulk/products", headers=shop["owner"]["headers"], params={"limit": 10**9})
    assert len(seller.json()["items"]) == settings.page_size_max
    for limit in (0, -5, "many"):
        _assert_error(api.get("/api/v1/products", params={"limit": limit}), 422, "validation_error")


def _raw_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS: list[tuple[str, str]] = [
    ("newest", "not a cursor!"),
    ("newest", "%%%%"),
    ("newest", _raw_cursor({"a": 1})),
    ("newest", _raw_cursor("text")),
    ("newest", base64.urlsafe_b64encode(b"\xff\xfe\x00").decode()),
    ("newest", _raw_cursor(["newest", "garbage", 1])),
    ("newest", _raw_cursor(["newest", 5, 1])),
    ("newest", _raw_cursor(["newest", "2026-01-01T00:00:00", 1])),  # naive
    ("newest", _raw_cursor(["newest", "2026-01-01T00:00:00+00:00", "x"])),
    ("price_asc", _raw_cursor(["price_asc", "abc", 1])),
    ("price_asc", _raw_cursor(["price_asc", 1, None])),
    ("price_asc", _raw_cursor(["price_asc", 10**30, 1])),
    ("price_asc", _raw_cursor(["price_asc", 1.5, 1])),
    ("price_asc", _raw_cursor(["price_asc", True, 1])),
    ("price_asc", _raw_cursor(["price_asc", 1, -1])),
    ("relevance", _raw_cursor(["o", "x"])),
    ("relevance", _raw_cursor(["o", -5])),
    ("relevance", _raw_cursor(["o", 10**30])),
]


def test_invalid_cursor(api: httpx.Client, make_shop: Maker, make_product: Maker) -> None:
    make_product(make_shop("any"), "Serum")
    answers: dict[tuple[str, str], tuple[int, str | None]] = {}
    for sort, cursor in BAD_CURSORS:
        params = {"sort": sort, "cursor": cursor, **({"q": "serum"} if sort == "relevance" else {})}
        response = api.get("/api/v1/products", params=params)
        answers[(sort, cursor)] = (response.status_code, response.json()["error"]["code"]
                                   if response.status_code >= 400 else None)
    assert answers == {case: (422, "invalid_cursor") for case in BAD_CURSORS}


def test_invalid_cursor_elsewhere(api: httpx.Client, make_user: Maker, make_shop: Maker) -> None:
    make_shop("any")
    star = make_user()
    cases = {
        "/api/v1/shops": ["%%%%", _raw_cursor(["abc"]), _raw_cursor([None]), _raw_cursor([10**30]),
                          _raw_cursor([-1])],
        f"/api/v1/users/{star['user']['id']}/followers": [
            "%%%%", _raw_cursor(["bad", 1]), _raw_cursor([1, 1]), _raw_cursor([None, None]),
            _raw_cursor(["2026-01-01T00:00:00+00:00", "x"]), _raw_cursor(["2026-01-01T00:00:00", 1])],
    }
    answers = {(path, cursor): api.get(path, params={"cursor": cursor}) for path, cursors in cases.items()
               for cursor in cursors}
    assert {key: (r.status_code, r.json()["error"]["code"] if r.status_code >= 400 else None)
            for key, r in answers.items()} == {key: (422, "invalid_cursor") for key in answers}


def test_cursor_of_another_sort_starts_over(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    first = _page(api, sort="price_asc", limit=2)
    assert first["next_cursor"] is not None
    assert _page(api, sort="newest", limit=2, cursor=first["next_cursor"]) == _page(api, sort="newest", limit=2)
    assert _page(api, cursor=encode_cursor([])) == _page(api)
