"""The flash-sale gate (orders/flash_gate.py): a sold-out buy-now is refused before routing with
exactly the route's ``409 out_of_stock`` body; everything it must not decide reaches the route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Session
from mercato.catalog.models import Product, Variant
from mercato.kit.models import IdempotencyKey
from mercato.kit.security import token_digest
from mercato.orders.models import Checkout
from tests.orders.conftest import ADDRESS, key


def buy_body(variant_id: int, quantity: int = 1) -> dict[str, Any]:
    return {"items": [{"variant_id": variant_id, "quantity": quantity}], "address": ADDRESS}


def sold_out(api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
             stock: int = 1, title: str = "Hot Drop Sneaker") -> tuple[dict[str, Any], dict[str, Any], httpx.Response,
                                                                       dict[str, str]]:
    """A product whose every unit is reserved by one winner; returns (item, winner, 201, its key)."""
    item = stocked(stock=stock, title=title)
    winner = buyer()
    winner_key = key()
    won = api.post("/api/v1/checkouts", headers={**winner["headers"], **winner_key},
                   json=buy_body(item["variant_id"], stock))
    assert won.status_code == 201, won.text
    return item, winner, won, winner_key


def count_rows(db_run: Any, user_id: int) -> tuple[int, int]:
    async def read(session: AsyncSession) -> tuple[int, int]:
        keys = (await session.execute(select(func.count()).select_from(IdempotencyKey)
                                      .where(IdempotencyKey.scope == f"user:{user_id}:checkouts"))).scalar_one()
        made = (await session.execute(select(func.count()).select_from(Checkout)
                                      .where(Checkout.buyer_id == user_id))).scalar_one()
        return int(keys), int(made)

    result: tuple[int, int] = db_run(read)
    return result


def test_refusal_is_the_routes_409_body_and_leaves_nothing(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item, _, _, _ = sold_out(api, stocked, buyer)
    late = buyer()
    expected = {"error": {"code": "out_of_stock", "message": "Hot Drop Sneaker (Default): This item is out of stock.",
                          "details": {"variant_id": item["variant_id"], "available": 0}}}
    refused = api.post("/api/v1/checkouts", headers={**late["headers"], **key()}, json=buy_body(item["variant_id"]))
    assert refused.status_code == 409
    assert refused.json() == expected
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["x-content-type-options"] == "nosniff"  # inside the security headers
    # The same refusal from the route itself (two variants: the gate leaves it to the route,
    # whose read-transaction check answers for the lower variant id first).
    other = stocked(stock=5, title="Plain Tee", shop=item["shop"])
    both = {"items": [{"variant_id": item["variant_id"], "quantity": 1},
                      {"variant_id": other["variant_id"], "quantity": 1}], "address": ADDRESS}
    routed = api.post("/api/v1/checkouts", headers={**late["headers"], **key()}, json=both)
    assert routed.status_code == 409 and routed.json() == expected
    assert refused.content == routed.content  # byte for byte
    # Without an Idempotency-Key the answer is the same.
    assert api.post("/api/v1/checkouts", headers=late["headers"], json=buy_body(item["variant_id"])).json() == expected
    assert count_rows(db_run, late["user"]["id"]) == (0, 0)


def test_not_enough_left_says_how_many(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
) -> None:
    item = stocked(stock=2, title="Limited Cap")
    shopper = buyer()
    # Quantities of one variant are merged, as the checkout merges them.
    body = {"items": [{"variant_id": item["variant_id"], "quantity": 2},
                      {"variant_id": item["variant_id"], "quantity": 1}], "address": ADDRESS}
    refused = api.post("/api/v1/checkouts", headers={**shopper["headers"], **key()}, json=body)
    assert refused.status_code == 409
    assert refused.json() == {"error": {"code": "out_of_stock", "message": "Limited Cap (Default): Only 2 left.",
                                        "details": {"variant_id": item["variant_id"], "available": 2}}}
    fits = api.post("/api/v1/checkouts", headers={**shopper["headers"], **key()}, json=buy_body(item["variant_id"], 2))
    assert fits.status_code == 201, fits.text


def test_known_key_replays_its_201_after_the_sell_out(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item, winner, won, winner_key = sold_out(api, stocked, buyer, stock=3)
    replay = api.post("/api/v1/checkouts", headers={**winner["headers"], **winner_key},
                      json=buy_body(item["variant_id"], 3))
    assert replay.status_code == 201
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == won.json()
    # The same key with another body is still the route's 422, not a refusal.
    reused = api.post("/api/v1/checkouts", headers={**winner["headers"], **winner_key},
                      json=buy_body(item["variant_id"], 1))
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    # A fresh key of the winner is refused like anyone's.
    fresh = api.post("/api/v1/checkouts", headers={**winner["headers"], **key()}, json=buy_body(item["variant_id"]))
    assert fresh.status_code == 409 and fresh.json()["error"]["code"] == "out_of_stock"
    assert count_rows(db_run, winner["user"]["id"]) == (1, 1)


def test_sessions_are_checked_before_any_refusal(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item, _, _, _ = sold_out(api, stocked, buyer)
    body = buy_body(item["variant_id"])
    expired, revoked, logged_out = buyer(), buyer(), buyer()

    async def age(session: AsyncSession) -> None:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(update(Session).where(Session.token_digest == digest(expired))
                              .values(expires_at=past))
        await session.execute(update(Session).where(Session.token_digest == digest(revoked))
                              .values(revoked_at=past))

    db_run(age)
    assert api.post("/api/v1/auth/logout", headers=logged_out["headers"]).status_code in (200, 204)
    for who in (expired, revoked, logged_out):
        answer = api.post("/api/v1/checkouts", headers={**who["headers"], **key()}, json=body)
        assert answer.status_code == 401, answer.text
    unknown = api.post("/api/v1/checkouts", headers={"Authorization": "Bearer not-a-session", **key()}, json=body)
    assert unknown.status_code == 401
    assert api.post("/api/v1/checkouts", headers={"Authorization": "Bearer " + "x" * 300}, json=body).status_code == 401


def digest(who: dict[str, Any]) -> str:
    return token_digest(who["headers"]["Authorization"].removeprefix("Bearer "))


def test_what_the_gate_does_not_decide_reaches_the_route(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item, _, _, _ = sold_out(api, stocked, buyer)
    shopper = buyer()
    headers = shopper["headers"]
    body = buy_body(item["variant_id"])
    long_key = api.post("/api/v1/checkouts", headers={**headers, "Idempotency-Key": "k" * 256}, json=body)
    assert long_key.status_code == 409  # the route's own read-transaction check, as before the gate
    stocked_key = api.post("/api/v1/checkouts", headers={**headers, "Idempotency-Key": "k" * 256},
                           json=buy_body(stocked(stock=1)["variant_id"]))
    assert stocked_key.status_code == 422 and stocked_key.json()["error"]["code"] == "invalid_idempotency_key"
    too_many = api.post("/api/v1/checkouts", headers=headers, json=buy_body(item["variant_id"], 100))
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "validation_error"
    missing = api.post("/api/v1/checkouts", headers=headers, json=buy_body(10**9))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "product_unavailable"
    garbled = api.post("/api/v1/checkouts", headers={**headers, "Content-Type": "application/json"},
                       content=b'{"items": [')
    assert garbled.status_code == 422

    async def withdraw(session: AsyncSession) -> None:
        product_id = (await session.execute(select(Variant.product_id)
                                            .where(Variant.id == item["variant_id"]))).scalar_one()
        await session.execute(update(Product).where(Product.id == product_id).values(status="archived"))

    db_run(withdraw)
    withdrawn = api.post("/api/v1/checkouts", headers={**headers, **key()}, json=body)
    assert withdrawn.status_code == 404 and withdrawn.json()["error"]["code"] == "product_unavailable"
    assert count_rows(db_run, shopper["user"]["id"]) == (0, 0)


def test_available_stock_goes_on_to_the_checkout(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    item = stocked(stock=2, title="Restocked Lamp")
    first, second, third = buyer(), buyer(), buyer()
    for who in (first, second):
        made = api.post("/api/v1/checkouts", headers={**who["headers"], **key()}, json=buy_body(item["variant_id"]))
        assert made.status_code == 201, made.text
    refused = api.post("/api/v1/checkouts", headers={**third["headers"], **key()}, json=buy_body(item["variant_id"]))
    assert refused.status_code == 409

    async def restock(session: AsyncSession) -> None:
        await session.execute(update(Variant).where(Variant.id == item["variant_id"]).values(stock=3))

    db_run(restock)  # the gate reads the committed stock every time: no stale sold-out answer
    made = api.post("/api/v1/checkouts", headers={**third["headers"], **key()}, json=buy_body(item["variant_id"]))
    assert made.status_code == 201, made.text


def test_the_gates_one_read_works_on_this_database(
    api: httpx.Client, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], clean_db: str,
) -> None:
    """The gate swallows a failing read (the route then decides), so a read that never works
    would go unnoticed by the answers alone: on PostgreSQL the ``':checkouts'`` literal in the
    statement was once taken for a parameter and every buy fell through to the route."""
    from mercato.kit.db import Database
    from mercato.orders.flash_gate import BuyRequest, FactsReader
    from tests.conftest import run_async

    item, winner, _, winner_key = sold_out(api, stocked, buyer)
    late = buyer()

    async def read(token: str, idempotency_key: str | None) -> Any:
        db = Database(clean_db, pool=False)
        try:
            return await FactsReader(db).read(BuyRequest(digest=token_digest(token), key=idempotency_key,
                                                         variant_id=item["variant_id"], quantity=1))
        finally:
            await db.dispose()

    facts = run_async(read(late["token"], "never-used"))
    assert facts is not None
    assert (facts.user_id, facts.available, facts.key_known, facts.product_status) == (
        late["user"]["id"], 0, False, "active")
    known = run_async(read(winner["token"], winner_key["Idempotency-Key"]))
    assert known is not None and known.key_known and known.user_id == winner["user"]["id"]
    assert run_async(read("not-a-session", None)) is None
