"""Seller Center → Promotions and the operator's coupon page, over real HTTP: the table, the
create form (errors next to the fields, typed values kept and escaped), activate / deactivate,
and who may see or change what."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

Maker = Callable[..., dict[str, Any]]
XSS = '"><script>alert(1)</script>'


def form(**fields: str) -> dict[str, str]:
    base = {"code": "", "kind": "percent", "percent": "", "amount": "", "min_spend": "", "starts_at": "",
            "ends_at": "", "per_user_limit": "", "total_limit": ""}
    return {**base, **fields}


def api_coupons(api: httpx.Client, shop: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(f"/api/v1/shops/{shop['slug']}/coupons",
                                          headers=shop["owner"]["headers"]).json()["items"]
    return items


def test_seller_creates_a_coupon_with_the_form(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop(currency="KWD")
    url, headers = f"/seller/{shop['slug']}/promotions", shop["owner"]["headers"]
    empty = api.get(url, headers=headers)
    assert empty.status_code == 200
    assert "No coupons yet" in empty.text and 'class="active"' in empty.text
    assert 'step="0.001"' in empty.text and "Amount off in KWD" in empty.text
    response = api.post(url, headers=headers, data=form(code="eid-2026", kind="amount", amount="1.250",
                                                        min_spend="10", starts_at="2026-03-01T09:00",
                                                        ends_at="2026-04-01T09:00", per_user_limit="1",
                                                        total_limit="200"))
    assert response.status_code == 303 and response.headers["location"] == f"{url}?saved=created"
    [coupon] = api_coupons(api, shop)
    assert (coupon["code"], coupon["kind"], coupon["amount"], coupon["currency"], coupon["min_spend"],
            coupon["starts_at"][:16], coupon["ends_at"][:16], coupon["per_user_limit"], coupon["total_limit"]) == (
        "EID-2026", "amount", 1250, "KWD", 10_000, "2026-03-01T09:00", "2026-04-01T09:00", 1, 200)
    page = api.get(f"{url}?saved=created", headers=headers).text
    assert "Coupon created." in page
    row = page[page.index(f'id="coupon-{coupon["id"]}"'):]
    row = row[:row.index("</tr>")]
    for text in ("EID-2026", "1.250 د.ك off", "10.000 د.ك", "2026-03-01 09:00 → 2026-04-01 09:00", "0 / 200",
                 "1 per shopper", "Deactivate EID-2026"):
        assert text in row, text


def test_percent_coupon_from_the_form(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop()
    url, headers = f"/seller/{shop['slug']}/promotions", shop["owner"]["headers"]
    assert api.post(url, headers=headers, data=form(code="Half", percent="12.5")).status_code == 303
    [coupon] = api_coupons(api, shop)
    assert (coupon["code"], coupon["percent_bps"], coupon["currency"], coupon["total_limit"]) == (
        "HALF", 1250, "USD", None)
    assert "12.5 % off" in api.get(url, headers=headers).text


def test_form_errors_are_inline_keep_values_and_are_escaped(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop()
    url, headers = f"/seller/{shop['slug']}/promotions", shop["owner"]["headers"]
    response = api.post(url, headers=headers, data=form(code=XSS, percent="15", total_limit="7"))
    assert response.status_code == 422
    page = response.text
    assert "<script>alert(1)</script>" not in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert re.search(r'id="code" name="code" aria-invalid="true" aria-describedby="code-error" autofocus', page)
    assert 'id="code-error"' in page and "3–40 characters" in page
    assert 'value="15"' in page and 'value="7"' in page  # what was typed stays
    assert api_coupons(api, shop) == []

    too_much = api.post(url, headers=headers, data=form(code="BIG", percent="95"))
    assert too_much.status_code == 422
    assert 'id="percent-error"' in too_much.text and "Between 1 and 90 %" in too_much.text
    missing = api.post(url, headers=headers, data=form(code="AMT", kind="amount"))
    assert missing.status_code == 422 and 'id="amount-error"' in missing.text
    assert 'value="amount" checked' in missing.text
    cents = api.post(url, headers=headers, data=form(code="AMT", kind="amount", amount="1.005"))
    assert cents.status_code == 422 and 'id="amount-error"' in cents.text
    window = api.post(url, headers=headers, data=form(code="WIN", percent="5", starts_at="2030-01-02T00:00",
                                                      ends_at="2030-01-01T00:00"))
    assert window.status_code == 422 and 'id="ends_at-error"' in window.text
    assert api.post(url, headers=headers, data=form(code="TAKEN", percent="5")).status_code == 303
    taken = api.post(url, headers=headers, data=form(code="taken", percent="5"))
    assert taken.status_code == 409 and 'id="code-error"' in taken.text and "already in use" in taken.text
    assert [c["code"] for c in api_coupons(api, shop)] == ["TAKEN"]


def test_activate_and_deactivate(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop()
    url, headers = f"/seller/{shop['slug']}/promotions", shop["owner"]["headers"]
    api.post(url, headers=headers, data=form(code="TOGGLE", percent="10"))
    [coupon] = api_coupons(api, shop)
    off = api.post(f"{url}/{coupon['id']}", headers=headers, data={"action": "deactivate"})
    assert off.status_code == 303 and off.headers["location"].endswith("saved=deactivated")
    assert api_coupons(api, shop)[0]["active"] is False
    page = api.get(url, headers=headers).text
    assert "Activate TOGGLE" in page and "inactive" in page
    on = api.post(f"{url}/{coupon['id']}", headers=headers, data={"action": "activate"})
    assert on.status_code == 303
    assert api_coupons(api, shop)[0]["active"] is True
    assert api.post(f"{url}/{coupon['id']}", headers=headers, data={"action": "delete"}).status_code == 422


def test_other_shops_cannot_see_or_toggle(api: httpx.Client, make_shop: Maker, make_user: Maker) -> None:
    shop, intruder_shop = make_shop(), make_shop()
    intruder = intruder_shop["owner"]["headers"]
    url = f"/seller/{shop['slug']}/promotions"
    api.post(url, headers=shop["owner"]["headers"], data=form(code="KEEP", percent="10"))
    [coupon] = api_coupons(api, shop)
    assert api.get(url, headers=intruder).status_code == 403
    assert api.post(url, headers=intruder, data=form(code="MINE", percent="90")).status_code == 403
    assert api.post(f"{url}/{coupon['id']}", headers=intruder, data={"action": "deactivate"}).status_code == 403
    own = f"/seller/{intruder_shop['slug']}/promotions/{coupon['id']}"
    assert api.post(own, headers=intruder, data={"action": "deactivate"}).status_code == 403
    assert api.get(url, headers=make_user()["headers"]).status_code == 403
    assert [(c["code"], c["active"]) for c in api_coupons(api, shop)] == [("KEEP", True)]
    assert api_coupons(api, intruder_shop) == []
    anonymous = api.get(url)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_operator_page(api: httpx.Client, operator: dict[str, Any], make_user: Maker, make_shop: Maker) -> None:
    headers = operator["headers"]
    page = api.get("/admin/coupons", headers=headers)
    assert page.status_code == 200 and "Platform coupons" in page.text and '<option value="USD"' in page.text
    made = api.post("/admin/coupons", headers=headers, data={**form(code="launch", kind="amount", amount="5"),
                                                             "currency": "usd"})
    assert made.status_code == 303, made.text
    no_currency = api.post("/admin/coupons", headers=headers, data={**form(code="NOCUR", kind="amount", amount="5"),
                                                                    "currency": ""})
    assert no_currency.status_code == 422 and 'id="currency-error"' in no_currency.text
    listed = api.get("/api/v1/admin/coupons", headers=headers).json()["items"]
    assert [(c["code"], c["amount"], c["currency"], c["funded_by"]) for c in listed] == [
        ("LAUNCH", 500, "USD", "platform")]
    off = api.post(f"/admin/coupons/{listed[0]['id']}", headers=headers, data={"action": "deactivate"})
    assert off.status_code == 303
    assert "Activate LAUNCH" in api.get("/admin/coupons", headers=headers).text

    for who in (make_user()["headers"], make_shop()["owner"]["headers"]):
        assert api.get("/admin/coupons", headers=who).status_code == 403
        assert api.post("/admin/coupons", headers=who, data={**form(code="FREE", percent="90")}).status_code == 403
        toggle = api.post(f"/admin/coupons/{listed[0]['id']}", headers=who, data={"action": "activate"})
        assert toggle.status_code == 403
    assert api.get("/api/v1/admin/coupons", headers=headers).json()["items"][0]["active"] is False


def test_pages_carry_no_inline_script_or_style(api: httpx.Client, make_shop: Maker, operator: dict[str, Any]) -> None:
    shop = make_shop()
    for url, headers in ((f"/seller/{shop['slug']}/promotions", shop["owner"]["headers"]),
                         ("/admin/coupons", operator["headers"])):
        page = api.get(url, headers=headers).text
        assert "<script>" not in page and "style=" not in page and "<style" not in page
        assert re.search(r'<label for="code">', page) and 'name="csrf_token"' in page
