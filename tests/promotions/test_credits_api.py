"""Shopping credits over real HTTP: the operator's grant (API and form), the shopper's balance and
history (API and page), the checkout page's "Use … of credits" box; who may do what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mercato.ledger import service as ledger
from tests.promotions.conftest import DbRun, error_of

Maker = Callable[..., dict[str, Any]]


def grant(api: httpx.Client, operator: dict[str, Any], **body: Any) -> httpx.Response:
    return api.post("/api/v1/admin/credits", headers=operator["headers"], json=body)


def test_operator_grants_by_id_email_or_handle_and_a_reference_grants_once(
    api: httpx.Client, make_user: Maker, operator: dict[str, Any], db_run: DbRun,
) -> None:
    shopper = make_user("credit_shopper")
    uid, email = shopper["user"]["id"], shopper["user"]["email"]
    first = grant(api, operator, user=str(uid), amount=500, currency="usd", reason="Sorry for the delay",
                  reference="ticket-1")
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("user_id", "amount", "currency", "granted", "balance", "balance_display")} \
        == {"user_id": uid, "amount": 500, "currency": "USD", "granted": True, "balance": 500,
            "balance_display": "$5.00"}
    again = grant(api, operator, user=str(uid), amount=500, currency="USD", reason="Sorry for the delay",
                  reference="ticket-1")
    assert (again.json()["granted"], again.json()["balance"]) == (False, 500)
    by_email = grant(api, operator, user=email, amount=250, currency="USD", reason="Welcome credits")
    assert by_email.json()["balance"] == 750
    mine = api.get("/api/v1/me/credits", headers=shopper["headers"]).json()
    assert mine["balances"] == [{"currency": "USD", "amount": 750, "amount_display": "$7.50"}]
    assert [(h["kind"], h["amount"], h["description"]) for h in mine["history"]] == [
        ("credit_grant", 250, "Welcome credits"), ("credit_grant", 500, "Sorry for the delay")]
    txn = db_run(lambda s: ledger.find_transaction(s, "credit_grant", f"admin:{operator['user']['id']}:ticket-1"))
    assert txn is not None and txn.memo == "Sorry for the delay"  # the audit trail: who, why
    page = api.get("/api/v1/me/credits?limit=1", headers=shopper["headers"]).json()
    assert len(page["history"]) == 1 and page["next_cursor"]
    rest = api.get(f"/api/v1/me/credits?limit=1&cursor={page['next_cursor']}", headers=shopper["headers"]).json()
    assert [h["amount"] for h in rest["history"]] == [500] and rest["next_cursor"] is None


def test_refused_grants_change_nothing(api: httpx.Client, make_user: Maker, operator: dict[str, Any],
                                       db_run: DbRun) -> None:
    shopper = make_user("credit_refused")
    uid = str(shopper["user"]["id"])
    assert error_of(grant(api, shopper, user=uid, amount=500, currency="USD", reason="self")) == (403, "admin_only")
    assert error_of(grant(api, operator, user="nobody@example.com", amount=5, currency="USD", reason="r")) == (
        404, "credits_user_not_found")
    assert error_of(grant(api, operator, user=uid, amount=0, currency="USD", reason="r"))[0] == 422
    assert error_of(grant(api, operator, user=uid, amount=5, currency="XYZ", reason="r")) == (422, "wrong_currency")
    assert error_of(grant(api, operator, user=uid, amount=5, currency="USD", reason="   ")) == (
        422, "validation_error")
    assert api.get("/api/v1/me/credits", headers=shopper["headers"]).json() == {
        "balances": [], "history": [], "next_cursor": None}
    assert db_run(lambda s: ledger.counts(s))["transactions"] == 0
    assert api.get("/api/v1/me/credits").status_code == 401


def test_the_operator_form_and_the_shopper_page(api: httpx.Client, make_user: Maker, operator: dict[str, Any]) -> None:
    shopper = make_user("credit_page")
    assert api.get("/admin/credits", headers=shopper["headers"]).status_code == 403
    form = api.get("/admin/credits", headers=operator["headers"])
    assert form.status_code == 200 and 'name="reference"' in form.text
    data = {"user": shopper["user"]["email"], "currency": "JPY", "amount": "1500", "reason": "Launch gift",
            "reference": "form-1"}
    done = api.post("/admin/credits", headers=operator["headers"], data=data)
    assert done.status_code == 200 and "Granted ¥1,500" in done.text
    twice = api.post("/admin/credits", headers=operator["headers"], data=data)  # a double submit
    assert twice.status_code == 200
    bad = api.post("/admin/credits", headers=operator["headers"], data={**data, "amount": "-3", "reference": "f2"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and "Launch gift" in bad.text
    page = api.get("/me/credits", headers=shopper["headers"])
    assert page.status_code == 200
    assert page.text.count("Launch gift") == 1 and "¥1,500" in page.text


def test_the_checkout_page_offers_the_credits(api: httpx.Client, make_user: Maker, make_shop: Maker,
                                              make_product: Maker, operator: dict[str, Any]) -> None:
    shop = make_shop()
    product = make_product(shop, variants=[{"sku": None, "price": 2500, "stock": 5}])
    shopper = make_user("credit_checkout")
    address = {"name": "Ada", "line1": "1 Market St", "city": "SF", "region": "US-CA", "postal_code": "94105",
               "country": "US", "is_default": True}
    assert api.post("/api/v1/me/addresses", headers=shopper["headers"], json=address).status_code == 201
    variant = product["variants"][0]["id"]
    without = api.get(f"/checkout?item={variant}", headers=shopper["headers"])
    assert without.status_code == 200 and "of credits" not in without.text
    grant(api, operator, user=str(shopper["user"]["id"]), amount=700, currency="USD", reason="r")
    offered = api.get(f"/checkout?item={variant}", headers=shopper["headers"])
    assert "Use $7.00 of credits" in offered.text
    placed = api.post("/checkout", headers=shopper["headers"],
                      data={"item": str(variant), "qty": "1", "use_credits": "1", "action": "place"})
    assert placed.status_code == 303, placed.text
    mine = api.get("/api/v1/me/credits", headers=shopper["headers"]).json()
    assert mine["balances"][0]["amount"] == 0 and mine["history"][0]["kind"] == "credit_hold"
