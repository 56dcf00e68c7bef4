"""The coupon API over real HTTP: sellers' and operators' coupons, validation, authorization
(with a check that nothing changed for every denied call), and the shopper's preview."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.promotions import service
from mercato.promotions.service import OrderDraft
from tests.promotions.conftest import DbRun, Seed, error_of

Maker = Callable[..., dict[str, Any]]


def create(api: httpx.Client, shop: dict[str, Any], who: dict[str, Any] | None = None, **body: Any) -> httpx.Response:
    payload = {"code": "SAVE10", "kind": "percent", "percent_bps": 1000, **body}
    return api.post(f"/api/v1/shops/{shop['slug']}/coupons", headers=(who or shop["owner"])["headers"], json=payload)


def coupons_of(api: httpx.Client, shop: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/shops/{shop['slug']}/coupons", headers=shop["owner"]["headers"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def preview(api: httpx.Client, who: dict[str, Any], codes: list[str], orders: list[dict[str, Any]]) -> httpx.Response:
    return api.post("/api/v1/coupons/preview", headers=who["headers"], json={"codes": codes, "orders": orders})


def redeem_directly(db_run: DbRun, user_id: int, checkout_id: int, code: str, drafts: list[OrderDraft]) -> None:
    async def go(session: AsyncSession) -> None:
        await service.redeem_coupons(session, user_id=user_id, checkout_id=checkout_id, codes=[code], drafts=drafts,
                                     now=datetime.now(UTC))

    db_run(go)


# --- sellers ----------------------------------------------------------------------------------------


def test_seller_creates_and_lists_coupons(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop(currency="KWD")
    response = create(api, shop, code="  summer_sale-1 ", percent_bps=1250, min_spend=10_000, total_limit=100,
                      per_user_limit=1)
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("code", "scope", "shop_id", "funded_by", "kind", "percent_bps", "amount", "currency",
                                 "min_spend", "total_limit", "per_user_limit", "redeemed_count", "active", "status",
                                 "discount_display", "min_spend_display")} == {
        "code": "SUMMER_SALE-1", "scope": f"shop:{shop['id']}", "shop_id": shop["id"], "funded_by": "seller",
        "kind": "percent", "percent_bps": 1250, "amount": None, "currency": "KWD", "min_spend": 10_000,
        "total_limit": 100, "per_user_limit": 1, "redeemed_count": 0, "active": True, "status": "active",
        "discount_display": "12.5 % off", "min_spend_display": "10.000 د.ك"}
    amount = create(api, shop, code="FLAT", kind="amount", percent_bps=None, amount=1500, currency="kwd")
    assert amount.status_code == 201, amount.text
    assert amount.json()["discount_display"] == "1.500 د.ك off"
    assert [c["code"] for c in coupons_of(api, shop)] == ["FLAT", "SUMMER_SALE-1"]


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"percent_bps": 99}, "validation_error", "percent_bps"),
    ({"percent_bps": 9001}, "validation_error", "percent_bps"),
    ({"percent_bps": None}, "percent_required", "percent_bps"),
    ({"kind": "amount", "percent_bps": None, "amount": 0}, "validation_error", "amount"),
    ({"kind": "amount", "percent_bps": None, "amount": -5}, "validation_error", "amount"),
    ({"kind": "amount", "percent_bps": None}, "amount_required", "amount"),
    ({"kind": "amount", "amount": 100}, "percent_not_allowed", "percent_bps"),
    ({"kind": "amount", "percent_bps": None, "amount": 100, "currency": "EUR"}, "wrong_currency", "currency"),
    ({"kind": "bogus"}, "validation_error", "kind"),
    ({"code": "AB"}, "validation_error", "code"),
    ({"code": "A" * 41}, "validation_error", "code"),
    ({"code": "HAS SPACE"}, "validation_error", "code"),
    ({"code": "<script>alert(1)</script>"}, "validation_error", "code"),
    ({"code": "ÉTÉ2026"}, "validation_error", "code"),
    ({"min_spend": -1}, "validation_error", "min_spend"),
    ({"total_limit": 0}, "validation_error", "total_limit"),
    ({"per_user_limit": 0}, "validation_error", "per_user_limit"),
    ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, "coupon_window", "ends_at"),
    ({"ends_at": "2020-01-01T00:00:00Z"}, "coupon_window", "ends_at"),
])
def test_create_validation(api: httpx.Client, make_shop: Maker, body: dict[str, Any], code: str, field: str) -> None:
    shop = make_shop()
    response = create(api, shop, **body)
    assert error_of(response) == (422, code), response.text
    details = response.json()["error"]["details"]
    fields = [d["field"] for d in details] if isinstance(details, list) else [details["field"]]
    assert field in fields
    assert coupons_of(api, shop) == []


def test_duplicate_code_in_the_scope_is_a_conflict(api: httpx.Client, make_shop: Maker) -> None:
    shop, other = make_shop(), make_shop()
    assert create(api, shop, code="SAVE10").status_code == 201
    assert error_of(create(api, shop, code="save10", percent_bps=2000)) == (409, "coupon_code_taken")
    assert create(api, other, code="SAVE10").status_code == 201  # another shop, another scope
    assert [c["percent_bps"] for c in coupons_of(api, shop)] == [1000]


def test_unknown_fields_are_ignored(api: httpx.Client, make_shop: Maker) -> None:
    shop, other = make_shop(), make_shop()
    response = create(api, shop, redeemed_count=999, funded_by="platform", scope="platform", shop_id=other["id"],
                      active=False, id=12345)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["redeemed_count"], body["funded_by"], body["scope"], body["shop_id"], body["active"]) == (
        0, "seller", f"shop:{shop['id']}", shop["id"], True)
    assert body["id"] != 12345
    assert coupons_of(api, other) == []


def test_other_shops_owner_can_neither_create_list_nor_patch(api: httpx.Client, make_shop: Maker,
                                                             make_user: Maker) -> None:
    shop, intruder_shop = make_shop(), make_shop()
    intruder = intruder_shop["owner"]
    coupon = create(api, shop).json()
    assert error_of(create(api, shop, intruder, code="MINE")) == (403, "not_shop_member")
    assert error_of(api.get(f"/api/v1/shops/{shop['slug']}/coupons", headers=intruder["headers"])) == (
        403, "not_shop_member")
    for change in ({"active": False}, {"total_limit": 1}, {"ends_at": "2030-01-01T00:00:00Z"}):
        assert error_of(api.patch(f"/api/v1/coupons/{coupon['id']}", headers=intruder["headers"], json=change)) == (
            403, "not_shop_member")
    assert error_of(api.get(f"/api/v1/coupons/{coupon['id']}", headers=intruder["headers"])) == (
        403, "not_shop_member")
    shopper = make_user()
    assert error_of(create(api, shop, shopper)) == (403, "not_shop_member")
    assert error_of(create(api, shop, {"headers": {}})) == (401, "not_authenticated")
    after = coupons_of(api, shop)
    assert [(c["code"], c["active"], c["total_limit"], c["ends_at"]) for c in after] == [("SAVE10", True, None, None)]
    assert error_of(api.patch("/api/v1/coupons/999999", headers=intruder["headers"], json={"active": False})) == (
        404, "not_found")


def test_staff_may_manage_the_shops_coupons(api: httpx.Client, make_shop: Maker, make_user: Maker) -> None:
    shop = make_shop()
    staff = make_user()
    added = api.post(f"/api/v1/shops/{shop['slug']}/members", headers=shop["owner"]["headers"],
                     json={"email": staff["user"]["email"]})
    assert added.status_code == 201, added.text
    coupon = create(api, shop, staff)
    assert coupon.status_code == 201, coupon.text
    patched = api.patch(f"/api/v1/coupons/{coupon.json()['id']}", headers=staff["headers"], json={"active": False})
    assert patched.json()["status"] == "inactive"


def test_patch_activate_window_and_limits(api: httpx.Client, make_shop: Maker, seed: Seed, db_run: DbRun) -> None:
    shop = make_shop()
    coupon = create(api, shop, total_limit=5, per_user_limit=2).json()
    url, headers = f"/api/v1/coupons/{coupon['id']}", shop["owner"]["headers"]
    off = api.patch(url, headers=headers, json={"active": False})
    assert (off.status_code, off.json()["active"], off.json()["status"]) == (200, False, "inactive")
    on = api.patch(url, headers=headers, json={"active": True, "ends_at": "2099-01-01T00:00:00Z", "total_limit": None,
                                               "per_user_limit": 3})
    assert on.status_code == 200, on.text
    assert (on.json()["active"], on.json()["ends_at"][:10], on.json()["total_limit"], on.json()["per_user_limit"]) == (
        True, "2099-01-01", None, 3)
    ended = api.patch(url, headers=headers, json={"ends_at": datetime.now(UTC).isoformat()})
    assert ended.json()["status"] == "ended"
    cleared = api.patch(url, headers=headers, json={"ends_at": None})
    assert (cleared.json()["ends_at"], cleared.json()["status"]) == (None, "active")
    unchanged = api.patch(url, headers=headers, json={})
    assert unchanged.json()["per_user_limit"] == 3

    users = seed.users(2)
    for user in users:
        redeem_directly(db_run, user, seed.checkout(user), "SAVE10", [OrderDraft(shop["id"], "USD", 1000)])
    below = api.patch(url, headers=headers, json={"total_limit": 1})
    assert error_of(below) == (422, "total_limit_below_used")
    exact = api.patch(url, headers=headers, json={"total_limit": 2})
    assert (exact.json()["total_limit"], exact.json()["redeemed_count"], exact.json()["status"]) == (2, 2, "used_up")
    assert error_of(api.patch(url, headers=headers, json={"ends_at": "2000-01-01T00:00:00Z"})) == (422,
                                                                                                  "coupon_window")
    assert error_of(api.patch(url, headers=headers, json={"total_limit": 0})) == (422, "validation_error")


def test_list_is_paged_and_capped(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop()
    for i in range(5):
        assert create(api, shop, code=f"CODE{i}").status_code == 201
    headers = shop["owner"]["headers"]
    first = api.get(f"/api/v1/shops/{shop['slug']}/coupons?limit=2", headers=headers).json()
    second = api.get(f"/api/v1/shops/{shop['slug']}/coupons?limit=2&cursor={first['next_cursor']}",
                     headers=headers).json()
    assert [c["code"] for c in first["items"] + second["items"]] == ["CODE4", "CODE3", "CODE2", "CODE1"]
    everything = api.get(f"/api/v1/shops/{shop['slug']}/coupons?limit=1000000", headers=headers)
    assert everything.status_code == 200 and len(everything.json()["items"]) == 5
    assert error_of(api.get(f"/api/v1/shops/{shop['slug']}/coupons?cursor=%%%", headers=headers)) == (
        422, "invalid_cursor")


# --- operators --------------------------------------------------------------------------------------


def test_operator_manages_platform_coupons(api: httpx.Client, operator: dict[str, Any]) -> None:
    headers = operator["headers"]
    made = api.post("/api/v1/admin/coupons", headers=headers,
                    json={"code": "welcome", "kind": "amount", "amount": 500, "currency": "usd", "min_spend": 2000,
                          "per_user_limit": 1})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["scope"], body["shop_id"], body["funded_by"], body["code"], body["currency"]) == (
        "platform", None, "platform", "WELCOME", "USD")
    percent = api.post("/api/v1/admin/coupons", headers=headers, json={"code": "ANY5", "kind": "percent",
                                                                       "percent_bps": 500})
    assert percent.status_code == 201 and percent.json()["currency"] is None
    for bad, code in (({"code": "NOCUR", "kind": "amount", "amount": 500}, "currency_required"),
                      ({"code": "NOCUR", "kind": "percent", "percent_bps": 500, "min_spend": 10}, "currency_required"),
                      ({"code": "welcome", "kind": "percent", "percent_bps": 500}, "coupon_code_taken"),
                      ({"code": "BADCUR", "kind": "percent", "percent_bps": 500, "currency": "XYZ"},
                       "validation_error")):
        assert error_of(api.post("/api/v1/admin/coupons", headers=headers, json=bad))[1] == code
    listed = api.get("/api/v1/admin/coupons", headers=headers).json()["items"]
    assert [c["code"] for c in listed] == ["ANY5", "WELCOME"]
    off = api.patch(f"/api/v1/coupons/{body['id']}", headers=headers, json={"active": False})
    assert off.json()["status"] == "inactive"


def test_shoppers_and_sellers_cannot_use_the_operator_api(api: httpx.Client, operator: dict[str, Any],
                                                          make_user: Maker, make_shop: Maker) -> None:
    platform = api.post("/api/v1/admin/coupons", headers=operator["headers"],
                        json={"code": "OPS", "kind": "percent", "percent_bps": 500}).json()
    shopper, seller = make_user(), make_shop()["owner"]
    for who in (shopper, seller):
        assert error_of(api.get("/api/v1/admin/coupons", headers=who["headers"])) == (403, "admin_only")
        assert error_of(api.post("/api/v1/admin/coupons", headers=who["headers"],
                                 json={"code": "FREE", "kind": "percent", "percent_bps": 9000})) == (403, "admin_only")
        assert error_of(api.patch(f"/api/v1/coupons/{platform['id']}", headers=who["headers"],
                                  json={"total_limit": 1})) == (403, "admin_only")
    listed = api.get("/api/v1/admin/coupons", headers=operator["headers"]).json()["items"]
    assert [(c["code"], c["total_limit"], c["active"]) for c in listed] == [("OPS", None, True)]
    assert error_of(api.get("/api/v1/admin/coupons")) == (401, "not_authenticated")


# --- preview ----------------------------------------------------------------------------------------


def test_preview_shows_discounts_and_redeems_nothing(api: httpx.Client, make_shop: Maker, make_user: Maker,
                                                     operator: dict[str, Any]) -> None:
    a, b = make_shop(), make_shop(currency="JPY")
    create(api, a, code="A10", total_limit=1)
    create(api, b, code="B500", kind="amount", percent_bps=None, amount=500)
    api.post("/api/v1/admin/coupons", headers=operator["headers"], json={"code": "PLAT", "kind": "percent",
                                                                         "percent_bps": 500})
    shopper = make_user()
    orders = [{"shop_id": a["id"], "currency": "USD", "subtotal": 1999}, {"shop_id": b["id"], "currency": "jpy",
                                                                         "subtotal": 3000}]
    for _ in range(2):
        response = preview(api, shopper, [" a10", "b500 ", "plat"], orders)
        assert response.status_code == 200, response.text
        got = [(x["code"], x["shop_id"], x["funded_by"], x["amount"], x["amount_display"]) for x in response.json()]
        assert got == [
            ("A10", a["id"], "seller", 200, "$2.00"), ("B500", b["id"], "seller", 500, "¥500"),
            ("PLAT", a["id"], "platform", 100, "$1.00"), ("PLAT", b["id"], "platform", 150, "¥150")]
    assert [c["redeemed_count"] for c in coupons_of(api, a)] == [0]


def test_preview_errors(api: httpx.Client, make_shop: Maker, make_user: Maker, seed: Seed, db_run: DbRun) -> None:
    shop = make_shop()
    create(api, shop, code="MIN50", min_spend=5000)
    create(api, shop, code="OTHER", percent_bps=2000)
    create(api, shop, code="SOON", starts_at="2099-01-01T00:00:00Z")
    create(api, shop, code="ONE", per_user_limit=1)
    create(api, shop, code="GONE", total_limit=1)
    shopper, first = make_user(), seed.user()
    redeem_directly(db_run, first, seed.checkout(first), "GONE", [OrderDraft(shop["id"], "USD", 1000)])
    redeem_directly(db_run, shopper["user"]["id"], seed.checkout(shopper["user"]["id"]), "ONE",
                    [OrderDraft(shop["id"], "USD", 1000)])
    order = [{"shop_id": shop["id"], "currency": "USD", "subtotal": 4000}]
    cases = [(["NOPE"], 422, "coupon_not_found"), (["MIN50"], 422, "coupon_min_spend"),
             (["SOON"], 422, "coupon_not_active"), (["OTHER", "min50"], 422, "coupon_not_stackable"),
             (["ONE"], 409, "coupon_limit_reached"), (["GONE"], 409, "coupon_exhausted")]
    for codes, status, code in cases:
        response = preview(api, shopper, codes, order)
        assert error_of(response) == (status, code), response.text
        assert response.json()["error"]["details"] == {"code": codes[-1].upper()}
    assert preview(api, shopper, ["MIN50"], order).json()["error"]["message"] == (
        "Spend $10.00 more to use MIN50 (minimum $50.00).")
    assert error_of(preview(api, {"headers": {}}, ["MIN50"], order)) == (401, "not_authenticated")
    for bad in ({"codes": ["X"], "orders": []}, {"codes": ["X"] * 11, "orders": order},
                {"codes": ["X"], "orders": [{**order[0], "subtotal": -1}]},
                {"codes": ["X"], "orders": [{**order[0], "currency": "ZZZ"}]},
                {"codes": ["X"], "orders": order * 2}):
        assert error_of(api.post("/api/v1/coupons/preview", headers=shopper["headers"], json=bad)) == (
            422, "validation_error")


def test_hostile_input_gets_clean_answers(api: httpx.Client, make_shop: Maker, make_user: Maker) -> None:
    shop = make_shop()
    shopper = make_user()
    order = [{"shop_id": shop["id"], "currency": "USD", "subtotal": 1000}]
    for code in ("'; DROP TABLE coupons; --", "<img src=x onerror=alert(1)>", "É" * 30):
        response = preview(api, shopper, [code], order)
        assert error_of(response) == (422, "coupon_not_found"), response.text
    # NUL is refused before the route, on every database alike (kit/limits.py).
    assert error_of(preview(api, shopper, ["bad\x00code"], order)) == (422, "validation_error")
    huge = [{"shop_id": 2**63, "currency": "USD", "subtotal": 1}]
    assert error_of(preview(api, shopper, ["X"], huge)) == (422, "validation_error")
    assert error_of(api.patch(f"/api/v1/coupons/{2**64}", headers=shopper["headers"], json={})) == (
        422, "validation_error")
    far = create(api, shop, code="FAR", ends_at="9999-12-31T23:59:59-01:00")
    assert error_of(far) == (422, "validation_error")
    naive = create(api, shop, code="NAIVE", starts_at="2030-01-01T10:00:00", ends_at="2030-01-02T10:00:00")
    assert naive.status_code == 201, naive.text
    assert (naive.json()["starts_at"], naive.json()["status"]) == ("2030-01-01T10:00:00Z", "scheduled")
