"""Shared set-up for buying-loop tests: shops with stock, buyers with an address, paying."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from mercato.accounts.models import User

SUCCESS = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
INSUFFICIENT = "4000 0000 0000 9995"
REQUIRES_ACTION = "4000 0027 6000 3184"
ADDRESS = {"name": "Ada Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "US-CA",
           "postal_code": "94105", "country": "US"}


def card(number: str = SUCCESS) -> dict[str, Any]:
    return {"card_number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123", "name": "Ada Buyer"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
def stocked(api: httpx.Client, make_shop: Callable[..., dict[str, Any]],
            make_product: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A shop with one active product; returns {"shop", "product", "variant_id"}."""

    def create(price: int = 2500, stock: int = 10, currency: str = "USD", title: str = "Canvas Tote",
               shop: dict[str, Any] | None = None) -> dict[str, Any]:
        shop = shop or make_shop(currency=currency)
        product = make_product(shop, title=title, variants=[{"sku": None, "price": price, "stock": stock}])
        return {"shop": shop, "product": product, "variant_id": product["variants"][0]["id"]}

    return create


@pytest.fixture
def buyer(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A shopper with a default address in California."""

    def create(**kwargs: Any) -> dict[str, Any]:
        user = make_user(**kwargs)
        response = api.post("/api/v1/me/addresses", headers=user["headers"], json={**ADDRESS, "is_default": True})
        assert response.status_code == 201, response.text
        return user

    return create


@pytest.fixture
def admin(make_user: Callable[..., dict[str, Any]], db_run: Any) -> dict[str, Any]:
    user = make_user("operator")

    async def promote(session: Any) -> None:
        await session.execute(update(User).where(User.id == user["user"]["id"]).values(is_admin=True))

    db_run(promote)
    return user


def checkout(api: httpx.Client, who: dict[str, Any], **body: Any) -> httpx.Response:
    return api.post("/api/v1/checkouts", headers={**who["headers"], **key()}, json=body)


def pay(api: httpx.Client, who: dict[str, Any], checkout_id: int, number: str = SUCCESS,
        headers: dict[str, str] | None = None) -> httpx.Response:
    return api.post(f"/api/v1/checkouts/{checkout_id}/pay", headers={**who["headers"], **(headers or key())},
                    json=card(number))


def add(api: httpx.Client, who: dict[str, Any], variant_id: int, quantity: int = 1) -> httpx.Response:
    return api.post("/api/v1/cart/items", headers=who["headers"], json={"variant_id": variant_id, "quantity": quantity})


def ledger_check(api: httpx.Client, admin_user: dict[str, Any]) -> dict[str, Any]:
    response = api.get("/api/v1/admin/ledger", headers=admin_user["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
