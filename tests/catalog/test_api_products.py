"""Catalog API: products, variants, images, favourites, and who may touch them."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mercato.config import Settings

Maker = Callable[..., dict[str, Any]]


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


def _detail(api: httpx.Client, product_id: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.get(f"/api/v1/products/{product_id}", headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _seller_list(api: httpx.Client, shop: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/shops/{shop['slug']}/products", headers=shop["owner"]["headers"],
                       params={"limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _shop_tab(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/v1/products", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _image(fmt: str = "PNG", size: tuple[int, int] = (640, 480), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def _two_variant_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "title": "Vitamin C Serum",
        "description": "Brightening <b>serum</b>",
        "status": "active",
        "category": "Beauty > Skincare",
        "brand": "GlowLab",
        "tags": ["#vegan", "Vegan", "bright"],
        "variants": [
            {"sku": "SER-30", "options": {"Size": "30 ml"}, "price": 1999, "compare_at_price": 2499, "stock": 5,
             "weight_grams": 90},
            {"sku": "SER-50", "options": {"Size": "50 ml"}, "price": 2999, "stock": 0},
        ],
    }
    payload.update(overrides)
    return payload


# --- create and read -----------------------------------------------------------------------


def test_create_product_with_two_variants(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("glow")
    response = api.post("/api/v1/shops/glow/products", headers=shop["owner"]["headers"], json=_two_variant_payload())
    assert response.status_code == 201, response.text
    created = response.json()
    detail = _detail(api, created["id"])
    assert detail == {**created, "favourited": False}
    assert {k: detail[k] for k in ("title", "description", "status", "price", "compare_at_price", "currency",
                                   "price_display", "thumb_url", "rating", "rating_count", "sold_count", "in_stock",
                                   "favourites_count", "tags", "option_names", "attributes", "images",
                                   "external_id", "source")} == {
        "title": "Vitamin C Serum", "description": "Brightening <b>serum</b>", "status": "active",
        "price": 1999, "compare_at_price": 2499, "currency": "USD", "price_display": "$19.99", "thumb_url": None,
        "rating": 0.0, "rating_count": 0, "sold_count": 0, "in_stock": True, "favourites_count": 0,
        "tags": ["vegan", "bright"], "option_names": ["Size"], "attributes": {}, "images": [],
        "external_id": None, "source": "manual",
    }
    assert detail["shop"] == {"id": shop["id"], "slug": "glow", "name": "Glow", "color": shop["color"]}
    assert detail["category"]["path"] == "Beauty > Skincare"
    assert detail["category"]["name"] == "Skincare"
    assert detail["brand"]["name"] == "GlowLab" and detail["brand"]["slug"] == "glowlab"
    small, large = detail["variants"]
    assert {k: small[k] for k in ("sku", "title", "options", "price", "compare_at_price", "currency",
                                  "price_display", "compare_at_display", "stock", "in_stock", "weight_grams")} == {
        "sku": "SER-30", "title": "30 ml", "options": {"Size": "30 ml"}, "price": 1999, "compare_at_price": 2499,
        "currency": "USD", "price_display": "$19.99", "compare_at_display": "$24.99", "stock": 5, "in_stock": True,
        "weight_grams": 90,
    }
    assert {k: large[k] for k in ("sku", "title", "price", "price_display", "compare_at_price", "stock",
                                  "in_stock")} == {
        "sku": "SER-50", "title": "50 ml", "price": 2999, "price_display": "$29.99", "compare_at_price": None,
        "stock": 0, "in_stock": False,
    }
    assert api.get("/api/v1/shops/glow").json()["product_count"] == 1
    cards = _shop_tab(api)
    assert [c["id"] for c in cards] == [created["id"]]
    assert cards[0] == {k: detail[k] for k in cards[0]}


@pytest.mark.parametrize(
    ("currency", "price", "display"),
    [("USD", 1999, "$19.99"), ("JPY", 1200, "¥1,200"), ("KWD", 12345, "12.345 د.ك"), ("EUR", 100000, "€1,000.00"),
     ("SEK", 5, "0.05 SEK")],
)
def test_price_display_follows_the_shop_currency(
    api: httpx.Client, make_shop: Maker, make_product: Maker, currency: str, price: int, display: str
) -> None:
    shop = make_shop(f"shop-{currency.lower()}", currency=currency)
    product = make_product(shop, "Priced", variants=[{"price": price, "stock": 1}])
    detail = _detail(api, product["id"])
    assert (detail["currency"], detail["price"], detail["price_display"]) == (currency, price, display)
    assert (detail["variants"][0]["currency"], detail["variants"][0]["price_display"]) == (currency, display)
    assert _shop_tab(api)[0]["price_display"] == display


def test_drafts_are_visible_only_to_members(api: httpx.Client, make_shop: Maker, make_product: Maker,
                                            make_user: Maker) -> None:
    shop = make_shop("drafty")
    draft = make_product(shop, "Secret Draft", status="draft")
    staff, stranger = make_user("staff"), make_user("stranger")
    api.post("/api/v1/shops/drafty/members", headers=shop["owner"]["headers"], json={"email": "staff@example.com"})

    _assert_error(api.get(f"/api/v1/products/{draft['id']}"), 404, "not_found")
    _assert_error(api.get(f"/api/v1/products/{draft['id']}", headers=stranger["headers"]), 404, "not_found")
    _assert_error(api.put(f"/api/v1/products/{draft['id']}/favourite", headers=stranger["headers"]), 404, "not_found")
    assert _detail(api, draft["id"], shop["owner"]["headers"])["status"] == "draft"
    assert _detail(api, draft["id"], staff["headers"])["title"] == "Secret Draft"
    assert _shop_tab(api) == []
    assert _shop_tab(api, q="secret") == []
    assert [p["id"] for p in _seller_list(api, shop)] == [draft["id"]]
    assert api.get("/api/v1/shops/drafty").json()["product_count"] == 0
    _assert_error(api.get("/api/v1/shops/drafty/products", headers=stranger["headers"]), 403, "not_shop_member")
    _assert_error(api.get("/api/v1/products/999999"), 404, "not_found")


# --- other sellers cannot touch my products ------------------------------------------------


def _attacks(
    api: httpx.Client, product: dict[str, Any], image_id: int, headers: dict[str, str]
) -> list[httpx.Response]:
    variant_id = product["variants"][0]["id"]
    return [
        api.patch(f"/api/v1/products/{product['id']}", headers=headers, json={"title": "Hacked", "status": "archived"}),
        api.delete(f"/api/v1/products/{product['id']}", headers=headers),
        api.post(f"/api/v1/products/{product['id']}/variants", headers=headers,
                 json={"options": {"Size": "XXL"}, "price": 1, "stock": 1}),
        api.patch(f"/api/v1/variants/{variant_id}", headers=headers, json={"price": 1, "stock": 0}),
        api.delete(f"/api/v1/variants/{variant_id}", headers=headers),
        api.post(f"/api/v1/products/{product['id']}/images", headers=headers,
                 files={"file": ("x.png", _image(color="black"), "image/png")}),
        api.delete(f"/api/v1/images/{image_id}", headers=headers),
        api.post(f"/api/v1/images/{image_id}/cover", headers=headers),
    ]


@pytest.mark.parametrize(("status", "expected"), [("active", 403), ("draft", 404), ("archived", 404)])
def test_another_seller_cannot_change_my_product(
    api: httpx.Client, make_shop: Maker, make_user: Maker, status: str, expected: int
) -> None:
    mine = make_shop("mine")
    rival = make_shop("rival")
    payload = _two_variant_payload(status="active")
    response = api.post("/api/v1/shops/mine/products", headers=mine["owner"]["headers"], json=payload)
    product = response.json()
    for name in ("a.png", "b.png"):
        upload = api.post(f"/api/v1/products/{product['id']}/images", headers=mine["owner"]["headers"],
                          files={"file": (name, _image(color="red" if name == "a.png" else "blue"), "image/png")})
        assert upload.status_code == 201, upload.text
    if status != "active":
        api.patch(f"/api/v1/products/{product['id']}", headers=mine["owner"]["headers"], json={"status": status})
    before = _detail(api, product["id"], mine["owner"]["headers"])
    second_image = before["images"][1]["id"]

    for headers in (rival["owner"]["headers"], make_user()["headers"]):
        for response in _attacks(api, before, second_image, headers):
            _assert_error(response, expected, "not_shop_member" if expected == 403 else "not_found")
            assert _detail(api, product["id"], mine["owner"]["headers"]) == before
    for response in _attacks(api, before, second_image, {}):
        _assert_error(response, 401, "not_authenticated")
    assert _detail(api, product["id"], mine["owner"]["headers"]) == before
    assert _seller_list(api, rival) == []


# --- mass assignment and validation --------------------------------------------------------


def test_mass_assignment_on_create_and_update_is_ignored(
    api: httpx.Client, make_shop: Maker, make_product: Maker
) -> None:
    mine, other = make_shop("mine"), make_shop("other")
    extra = {"shop_id": other["id"], "sold_count": 999, "rating_avg": 500, "rating": 5, "currency": "EUR",
             "favourites_count": 77, "id": 424242, "min_price": 1, "total_stock": 10**6, "source": "shopify_csv",
             "external_id": "x-1", "created_at": "2000-01-01T00:00:00Z"}
    product = make_product(mine, "Honest", **extra)
    detail = _detail(api, product["id"])
    assert product["id"] != 424242
    assert detail["shop"]["slug"] == "mine"
    assert (detail["sold_count"], detail["rating"], detail["favourites_count"]) == (0, 0.0, 0)
    assert detail["currency"] == "USD"
    assert (detail["price"], detail["source"], detail["external_id"]) == (1999, "manual", None)
    assert detail["variants"][0]["stock"] == 10
    assert _seller_list(api, other) == []

    response = api.patch(f"/api/v1/products/{product['id']}", headers=mine["owner"]["headers"], json=extra)
    assert response.status_code == 200, response.text
    after = _detail(api, product["id"])
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in detail.items() if k != "updated_at"}

    variant_id = detail["variants"][0]["id"]
    response = api.patch(f"/api/v1/variants/{variant_id}", headers=mine["owner"]["headers"],
                         json={"currency": "EUR", "product_id": 1, "shop_id": other["id"], "id": 5})
    assert response.status_code == 200
    assert _detail(api, product["id"])["variants"] == detail["variants"]


def _variant(**overrides: Any) -> dict[str, Any]:
    return {"price": 1000, "stock": 1, **overrides}


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"variants": [_variant(price=-1)]}, "validation_error", "variants.0.price"),
        ({"variants": [_variant(price=10**13)]}, "validation_error", "variants.0.price"),
        ({"variants": [_variant(price="12.50")]}, "validation_error", "variants.0.price"),
        ({"variants": [_variant(price=None)]}, "validation_error", "variants.0.price"),
        ({"variants": [_variant(stock=-1)]}, "validation_error", "variants.0.stock"),
        ({"variants": [_variant(stock=10**10)]}, "validation_error", "variants.0.stock"),
        ({"variants": [_variant(compare_at_price=1000)]}, "compare_at_not_higher", None),
        ({"variants": [_variant(compare_at_price=999)]}, "compare_at_not_higher", None),
        ({"variants": [_variant(), _variant(options={"Size": "M"}, compare_at_price=5)]}, "compare_at_not_higher",
         None),
        ({"variants": []}, "validation_error", "variants"),
        ({"variants": [_variant(options={"A": "1", "B": "2", "C": "3", "D": "4"})]}, "validation_error",
         "variants.0.options"),
        ({"title": "A"}, "validation_error", "title"),
        ({"title": ""}, "validation_error", "title"),
        ({"title": "x" * 201}, "validation_error", "title"),
        ({"status": "bogus"}, "validation_error", "status"),
        ({"tags": [f"t{i}" for i in range(31)]}, "validation_error", "tags"),
    ],
)
def test_invalid_product_input(
    api: httpx.Client, make_shop: Maker, payload: dict[str, Any], code: str, field: str | None
) -> None:
    shop = make_shop("strict")
    body = {"title": "Valid Title", "status": "active", "variants": [_variant()], **payload}
    response = api.post("/api/v1/shops/strict/products", headers=shop["owner"]["headers"], json=body)
    error = _assert_error(response, 422, code)
    if field is not None:
        assert field in [d["field"] for d in error["error"]["details"]]
    else:
        assert error["error"]["details"] == {"field": "compare_at_price"}
    assert _seller_list(api, shop) == []
    assert api.get("/api/v1/categories").json() == []


def test_invalid_updates_change_nothing(api: httpx.Client, make_shop: Maker, make_product: Maker) -> None:
    shop = make_shop("strict")
    headers = shop["owner"]["headers"]
    product = make_product(shop, "Stable", variants=[{"price": 1000, "compare_at_price": 1500, "stock": 3}])
    before = _detail(api, product["id"])
    variant_id = before["variants"][0]["id"]
    for payload, code in [
        ({"price": -1}, "validation_error"), ({"price": 10**13}, "validation_error"),
        ({"stock": -1}, "validation_error"), ({"stock": 10**10}, "validation_error"),
        ({"price": 1500}, "compare_at_not_higher"), ({"compare_at_price": 900}, "compare_at_not_higher"),
        ({"price": 2000, "stock": 9}, "compare_at_not_higher"),
    ]:
        _assert_error(api.patch(f"/api/v1/variants/{variant_id}", headers=headers, json=payload), 422, code)
    product_payloads: list[dict[str, Any]] = [{"title": "A"}, {"status": "bogus"}, {"tags": ["t"] * 31}]
    for product_payload in product_payloads:
        _assert_error(api.patch(f"/api/v1/products/{product['id']}", headers=headers, json=product_payload), 422,
                      "validation_error")
    _assert_error(api.post(f"/api/v1/products/{product['id']}/variants", headers=headers,
                           json={"options": {"Size": "L"}, "price": -5}), 422, "validation_error")
    assert _detail(api, product["id"]) == before
    _assert_error(api.patch("/api/v1/variants/999999", headers=headers, json={"price": 1}), 404, "not_found")

    # clearing the compare-at price then lowering it works
    response = api.patch(f"/api/v1/variants/{variant_id}", headers=headers,
                         json={"clear_compare_at_price": True, "price": 2000})
    assert response.status_code == 200
    assert (response.json()["price"], response.json()["compare_at_price"]) == (2000, None)


# --- SKUs and variants ---------------------------------------------------------------------


def test_sku_is_unique_within_a_shop(api: httpx.Client, make_shop: Maker, make_product: Maker) -> None:
    shop, other = make_shop("first"), make_shop("second")
    headers = shop["owner"]["headers"]
    product = make_product(shop, "Owner of SKU", variants=[{"sku": "ABC-1", "price": 100, "stock": 1}])
    body = _assert_error(api.post("/api/v1/shops/first/products", headers=headers, json={
        "title": "Clash", "status": "active", "variants": [{"sku": "ABC-1", "price": 100}]}), 409, "sku_taken")
    assert body["error"]["details"] == {"field": "sku"}
    _assert_error(api.post("/api/v1/shops/first/products", headers=headers, json={
        "title": "Twice", "status": "active", "variants": [
            {"sku": "NEW-1", "options": {"Size": "S"}, "price": 100},
            {"sku": "NEW-1", "options": {"Size": "M"}, "price": 100}]}), 409, "sku_taken")
    assert [p["id"] for p in _seller_list(api, shop)] == [product["id"]]
    assert api.get("/api/v1/categories").json() == []

    # adding a variant or renaming one onto a used SKU is refused too
    second = make_product(shop, "Second", variants=[{"sku": "XYZ-1", "options": {"Size": "S"}, "price": 100}])
    before = _detail(api, second["id"])
    _assert_error(api.post(f"/api/v1/products/{second['id']}/variants", headers=headers,
                           json={"sku": "ABC-1", "options": {"Size": "M"}, "price": 100}), 409, "sku_taken")
    _assert_error(api.patch(f"/api/v1/variants/{before['variants'][0]['id']}", headers=headers,
                            json={"sku": "ABC-1", "price": 5}), 409, "sku_taken")
    _assert_error(api.post(f"/api/v1/products/{second['id']}/variants", headers=headers,
                           json={"options": {"Size": "S"}, "price": 100}), 409, "duplicate_options")
    assert _detail(api, second["id"]) == before

    # the same SKU in another shop is fine
    elsewhere = make_product(other, "Same SKU elsewhere", variants=[{"sku": "ABC-1", "price": 100, "stock": 1}])
    assert _detail(api, elsewhere["id"])["variants"][0]["sku"] == "ABC-1"


def test_variant_changes_update_the_card(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("cards")
    headers = shop["owner"]["headers"]
    response = api.post("/api/v1/shops/cards/products", headers=headers, json=_two_variant_payload())
    product = response.json()
    small, large = product["variants"]

    response = api.patch(f"/api/v1/variants/{small['id']}", headers=headers,
                         json={"price": 3499, "compare_at_price": 3999, "stock": 0})
    assert response.status_code == 200, response.text
    assert (response.json()["price"], response.json()["stock"], response.json()["in_stock"]) == (3499, 0, False)
    (card,) = _shop_tab(api)
    assert (card["price"], card["price_display"], card["compare_at_price"], card["in_stock"]) == (
        2999, "$29.99", 3999, False)
    assert _shop_tab(api, in_stock="true") == []

    response = api.patch(f"/api/v1/variants/{large['id']}", headers=headers, json={"stock": 4})
    assert response.status_code == 200
    (card,) = _shop_tab(api)
    assert (card["price"], card["in_stock"]) == (2999, True)
    assert [c["id"] for c in _shop_tab(api, in_stock="true")] == [product["id"]]

    response = api.post(f"/api/v1/products/{product['id']}/variants", headers=headers,
                        json={"sku": "SER-10", "options": {"Size": "10 ml"}, "price": 999, "stock": 2})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "10 ml"
    (card,) = _shop_tab(api)
    assert (card["price"], card["price_display"]) == (999, "$9.99")
    detail = _detail(api, product["id"])
    assert [v["sku"] for v in detail["variants"]] == ["SER-30", "SER-50", "SER-10"]
    assert _shop_tab(api, q="SER-10")[0]["id"] == product["id"]


def test_deleting_variants_down_to_the_last_one(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop("trim")
    headers = shop["owner"]["headers"]
    product = api.post("/api/v1/shops/trim/products", headers=headers, json=_two_variant_payload()).json()
    small, large = product["variants"]
    assert api.delete(f"/api/v1/variants/{small['id']}", headers=headers).status_code == 204
    detail = _detail(api, product["id"])
    assert [v["id"] for v in detail["variants"]] == [large["id"]]
    assert (detail["price"], detail["compare_at_price"], detail["in_stock"]) == (2999, None, False)
    before = detail
    _assert_error(api.delete(f"/api/v1/variants/{large['id']}", headers=headers), 409, "last_variant")
    assert _detail(api, product["id"]) == before
    _assert_error(api.delete(f"/api/v1/variants/{small['id']}", headers=headers), 404, "not_found")


def test_archive_hides_the_product(api: httpx.Client, make_shop: Maker, make_product: Maker) -> None:
    shop = make_shop("closing")
    keep = make_product(shop, "Keeper Lamp")
    gone = make_product(shop, "Retired Lamp")
    assert api.get("/api/v1/shops/closing").json()["product_count"] == 2
    response = api.delete(f"/api/v1/products/{gone['id']}", headers=shop["owner"]["headers"])
    assert response.status_code == 204
    assert [c["id"] for c in _shop_tab(api)] == [keep["id"]]
    assert [c["id"] for c in _shop_tab(api, q="lamp")] == [keep["id"]]
    assert [c["id"] for c in _shop_tab(api, shop="closing")] == [keep["id"]]
    _assert_error(api.get(f"/api/v1/products/{gone['id']}"), 404, "not_found")
    assert _detail(api, gone["id"], shop["owner"]["headers"])["status"] == "archived"
    assert api.get("/api/v1/shops/closing").json()["product_count"] == 1
    archived = api.get("/api/v1/shops/closing/products", headers=shop["owner"]["headers"],
                       params={"status": "archived"}).json()["items"]
    assert [p["id"] for p in archived] == [gone["id"]]


# --- images --------------------------------------------------------------------------------


def test_image_upload_and_cover(api: httpx.Client, make_shop: Maker, make_product: Maker, settings: Settings) -> None:
    shop = make_shop("pics")
    headers = shop["owner"]["headers"]
    product = make_product(shop, "Pictured")
    png = api.post(f"/api/v1/products/{product['id']}/images", headers=headers,
                   files={"file": ("p.png", _image("PNG", (3000, 1500)), "image/png")}, data={"alt": "Front"})
    assert png.status_code == 201, png.text
    first = png.json()
    assert (first["width"], first["height"], first["alt"], first["remote"]) == (2048, 1024, "Front", False)
    assert first["url"].startswith(f"/media/products/{product['id']}/") and first["url"].endswith(".webp")
    assert first["thumb_url"].endswith("-thumb.webp")
    jpeg = api.post(f"/api/v1/products/{product['id']}/images", headers=headers,
                    files={"file": ("p.jpg", _image("JPEG", (300, 200), "orange"), "image/jpeg")})
    assert jpeg.status_code == 201, jpeg.text
    second = jpeg.json()
    assert (second["width"], second["height"], second["alt"]) == (300, 200, "Pictured")

    for url, side in ((first["thumb_url"], 480), (first["url"], 2048), (second["thumb_url"], 300)):
        served = api.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.format == "WEBP" and max(image.size) == side

    detail = _detail(api, product["id"])
    assert [i["id"] for i in detail["images"]] == [first["id"], second["id"]]
    assert detail["thumb_url"] == first["thumb_url"]
    assert _shop_tab(api)[0]["thumb_url"] == first["thumb_url"]

    assert api.post(f"/api/v1/images/{second['id']}/cover", headers=headers).status_code == 204
    assert [i["id"] for i in _detail(api, product["id"])["images"]] == [second["id"], first["id"]]
    assert _shop_tab(api)[0]["thumb_url"] == second["thumb_url"]

    assert api.delete(f"/api/v1/images/{second['id']}", headers=headers).status_code == 204
    assert [i["id"] for i in _detail(api, product["id"])["images"]] == [first["id"]]
    _assert_error(api.delete(f"/api/v1/images/{second['id']}", headers=headers), 404, "not_found")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_corrupt_or_oversized_images_are_refused(
    api: httpx.Client, make_shop: Maker, make_product: Maker, settings: Settings
) -> None:
    shop = make_shop("broken")
    headers = shop["owner"]["headers"]
    product = make_product(shop, "Fragile")
    before = _detail(api, product["id"])
    folder = settings.media_dir / "products" / str(product["id"])
    files_before = _files(folder)
    for name, data in [("evil.png", b"<?php system($_GET['c']); ?>" * 10), ("half.jpg", _image("JPEG")[:200]),
                       ("empty.png", b""), ("doc.pdf", b"%PDF-1.4\n" + b"0" * 100)]:
        response = api.post(f"/api/v1/products/{product['id']}/images", headers=headers,
                            files={"file": (name, data, "application/octet-stream")})
        _assert_error(response, 422, "invalid_image")
    tiff = io.BytesIO()
    Image.new("RGB", (10, 10)).save(tiff, "TIFF")
    _assert_error(api.post(f"/api/v1/products/{product['id']}/images", headers=headers,
                           files={"file": ("a.tiff", tiff.getvalue(), "image/tiff")}), 422, "unsupported_image_format")
    big = _image() + b"\0" * settings.max_image_bytes
    _assert_error(api.post(f"/api/v1/products/{product['id']}/images", headers=headers,
                           files={"file": ("big.png", big, "image/png")}), 413, "image_too_large")
    assert _detail(api, product["id"]) == before
    assert _files(folder) == files_before


# --- favourites ----------------------------------------------------------------------------


def test_favourites_are_idempotent_with_exact_counts(
    api: httpx.Client, make_shop: Maker, make_product: Maker, make_user: Maker
) -> None:
    shop = make_shop("faves")
    loved = make_product(shop, "Loved")
    other = make_product(shop, "Other")
    alice, bob = make_user("alice"), make_user("bob")
    url = f"/api/v1/products/{loved['id']}/favourite"

    for _ in range(2):
        response = api.put(url, headers=alice["headers"])
        assert response.status_code == 200
        assert response.json() == {"favourited": True, "favourites_count": 1}
    assert api.put(url, headers=bob["headers"]).json() == {"favourited": True, "favourites_count": 2}
    assert api.put(f"/api/v1/products/{other['id']}/favourite", headers=bob["headers"]).status_code == 200
    assert _detail(api, loved["id"])["favourites_count"] == 2
    assert _detail(api, loved["id"], alice["headers"])["favourited"] is True
    assert _detail(api, other["id"], alice["headers"])["favourited"] is False

    mine = api.get("/api/v1/me/favourites", headers=alice["headers"]).json()
    assert [p["id"] for p in mine["items"]] == [loved["id"]]
    theirs = api.get("/api/v1/me/favourites", headers=bob["headers"]).json()
    assert sorted(p["id"] for p in theirs["items"]) == sorted([loved["id"], other["id"]])

    for _ in range(2):
        response = api.delete(url, headers=alice["headers"])
        assert response.status_code == 200
        assert response.json() == {"favourited": False, "favourites_count": 1}
    assert _detail(api, loved["id"])["favourites_count"] == 1
    assert api.get("/api/v1/me/favourites", headers=alice["headers"]).json() == {"items": [], "next_cursor": None}
    _assert_error(api.put(url), 401, "not_authenticated")
    _assert_error(api.get("/api/v1/me/favourites"), 401, "not_authenticated")
    _assert_error(api.put("/api/v1/products/999999/favourite", headers=alice["headers"]), 404, "not_found")
    assert _detail(api, loved["id"])["favourites_count"] == 1


def test_archived_favourites_leave_the_list(api: httpx.Client, make_shop: Maker, make_product: Maker,
                                           make_user: Maker) -> None:
    shop = make_shop("fading")
    product = make_product(shop, "Fading")
    fan = make_user("fan")
    api.put(f"/api/v1/products/{product['id']}/favourite", headers=fan["headers"])
    api.delete(f"/api/v1/products/{product['id']}", headers=shop["owner"]["headers"])
    assert api.get("/api/v1/me/favourites", headers=fan["headers"]).json()["items"] == []
