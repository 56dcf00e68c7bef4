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


class _StubReader:
    """Facts as the gate's one read would give them (the database is not needed here)."""

    def __init__(self, database: object, available: int) -> None:
        self.database = database
        self.usable = True
        self.available = available

    async def read(self, buy: Any) -> Any:
        from mercato.orders.flash_gate import BuyFacts

        return BuyFacts(user_id=7, key_known=False, available=self.available, variant_title="One size",
                        product_title="Hot Drop", product_status="active", variant_created="2026-12-01")


def test_an_admitted_buy_gives_its_claim_back_when_its_transaction_ends() -> None:
    """The route drops the claim from its transaction's end (``kit.db.on_end``), before its
    answer is sent: a committed reservation must not be counted again as a claim meanwhile (a
    buyer arriving then would be refused while a unit is left). The gate's own release after
    the answer then does nothing more."""
    import json
    from types import SimpleNamespace

    from mercato.orders.flash_gate import DROP_CLAIM, SoldOutGate
    from tests.conftest import run_async

    seen: dict[str, Any] = {}

    async def route(scope: Any, receive: Any, send: Any) -> None:
        claims = gate._local.held.get("42:2026-12-01", {})
        seen["claimed while running"] = sum(units for units, _ in claims.values())
        scope[DROP_CLAIM]()  # what the route's unit of work does when it commits
        seen["claimed after the commit"] = sum(units for units, _ in gate._local.held.get("42:2026-12-01",
                                                                                           {}).values())
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    gate = SoldOutGate(route)
    database = object()
    gate._reader = _StubReader(database, available=1)  # type: ignore[assignment]
    state = SimpleNamespace(db=database, settings=SimpleNamespace(max_cart_quantity=10), redis=None)
    body = json.dumps(buy_body(42)).encode()

    async def call() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        scope = {"type": "http", "method": "POST", "path": "/api/v1/checkouts", "app": SimpleNamespace(state=state),
                 "headers": [(b"authorization", b"Bearer t0ken"), (b"content-type", b"application/json"),
                             (b"idempotency-key", b"k-1")]}
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await gate(scope, receive, send)
        return sent

    sent = run_async(call())
    assert sent[0]["status"] == 201
    assert seen == {"claimed while running": 1, "claimed after the commit": 0}
    assert gate._local.held == {}


def test_as_many_buyers_as_units_all_get_one(
    server: str, stocked: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
) -> None:
    """A burst of exactly as many buy-nows as units: every one is sold, nobody is refused while a
    unit is left (claims end with their buys' transactions, not after the answers)."""
    import asyncio

    units = 24
    item = stocked(stock=units, title="Limited Vinyl")
    buyers = [buyer() for _ in range(units)]

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            return list(await asyncio.gather(*(
                client.post("/api/v1/checkouts", headers={**who["headers"], **key()}, json=buy_body(item["variant_id"]))
                for who in buyers)))

    answers = asyncio.run(burst())
    assert [a.status_code for a in answers] == [201] * units, [a.text for a in answers if a.status_code != 201]

    async def reserved(session: AsyncSession) -> int:
        return int((await session.execute(select(Variant.reserved).where(Variant.id == item["variant_id"])))
                   .scalar_one())

    assert db_run(reserved) == units
