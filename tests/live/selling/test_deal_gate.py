"""LIVE flash deals through the flash-sale gate (orders/flash_gate.py): a LIVE buy-now is refused
before routing with exactly the route's answers (``429`` of ``live_buy`` first, then
``deal_not_open``, ``deal_limit_reached``, ``deal_sold_out``), deal units admitted in flight are
claimed, and a buy that may succeed reaches the checkout."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import Database
from mercato.kit.security import token_digest
from mercato.live.selling.models import DealBuyer
from mercato.orders import flash_gate
from mercato.orders.flash_gate import BuyFacts, BuyRequest, FactsReader, SoldOutGate
from mercato.orders.hooks import LiveDealFacts
from tests.conftest import run_async
from tests.live.selling.conftest import announce, count_orders, deal_row, open_now
from tests.orders.conftest import ADDRESS, key


def live_buy(variant_id: int, live_id: int, quantity: int = 1) -> dict[str, Any]:
    return {"items": [{"variant_id": variant_id, "quantity": quantity}], "address": ADDRESS, "live_id": live_id}


def routed_buy(variant_id: int, other_variant_id: int, live_id: int, quantity: int = 1) -> dict[str, Any]:
    """The same LIVE buy with a second (in stock, no deal) item: the gate leaves two variants to
    the route, whose read-transaction checks answer it."""
    return {"items": [{"variant_id": variant_id, "quantity": quantity}, {"variant_id": other_variant_id,
                                                                           "quantity": 1}],
            "address": ADDRESS, "live_id": live_id}


def post(api: httpx.Client, who: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    return api.post("/api/v1/checkouts", headers={**who["headers"], **key()}, json=body)


def buyer_units(db_run: Any, deal_id: int) -> dict[int, int]:
    async def read(session: AsyncSession) -> dict[int, int]:
        rows = await session.execute(select(DealBuyer.buyer_id, DealBuyer.quantity).where(DealBuyer.deal_id == deal_id))
        return {int(b): int(q) for b, q in rows}

    result: dict[int, int] = db_run(read)
    return result


def test_each_deal_refusal_is_the_routes_answer_and_changes_nothing(
    api: httpx.Client, live_shop: Callable[..., dict[str, Any]], stocked: Callable[..., dict[str, Any]],
    buyer: Callable[..., dict[str, Any]], db_run: Any, set_rates: Callable[..., None],
) -> None:
    set_rates(live_buy="100/minute")  # this test is not about the burst limit
    item = live_shop(price=2500, stock=50)
    live_id, variant_id = item["live_id"], item["variant_id"]
    other = stocked(stock=50, title="Plain Tee", shop=item["shop"])["variant_id"]
    deal = announce(api, item["host"], live_id, variant_id, deal_price=1500, total_units=2, per_buyer_limit=1).json()
    ada, bob, cy = buyer(), buyer(), buyer()

    def same_answer(who: dict[str, Any], code: str, details: dict[str, Any], quantity: int = 1) -> None:
        gated = post(api, who, live_buy(variant_id, live_id, quantity))
        routed = post(api, who, routed_buy(variant_id, other, live_id, quantity))
        assert (gated.status_code, routed.status_code) == (409, 409)
        assert gated.json()["error"]["code"] == code and gated.json()["error"]["details"] == details
        assert gated.content == routed.content  # byte for byte
        assert gated.headers["content-type"] == routed.headers["content-type"] == "application/json"

    same_answer(ada, "deal_not_open", {"deal_id": deal["id"]})
    assert (count_orders(db_run), deal_row(db_run, deal["id"]).units_left, buyer_units(db_run, deal["id"])) == (
        0, 2, {})

    open_now(db_run, deal["id"])
    assert post(api, ada, live_buy(variant_id, live_id)).status_code == 201  # a buy that may pass passes
    assert deal_row(db_run, deal["id"]).units_left == 1
    same_answer(ada, "deal_limit_reached", {"deal_id": deal["id"], "per_buyer_limit": 1, "bought": 1})
    same_answer(bob, "deal_limit_reached", {"deal_id": deal["id"], "per_buyer_limit": 1, "bought": 0}, quantity=2)
    assert (count_orders(db_run), deal_row(db_run, deal["id"]).units_left) == (1, 1)

    assert post(api, bob, live_buy(variant_id, live_id)).status_code == 201
    same_answer(cy, "deal_sold_out", {"deal_id": deal["id"], "units_left": 0})
    assert (count_orders(db_run), deal_row(db_run, deal["id"]).units_left, buyer_units(db_run, deal["id"])) == (
        2, 0, {ada["user"]["id"]: 1, bob["user"]["id"]: 1})


def test_out_of_stock_comes_before_the_deals_refusals(
    api: httpx.Client, live_shop: Callable[..., dict[str, Any]], stocked: Callable[..., dict[str, Any]],
    buyer: Callable[..., dict[str, Any]], db_run: Any, set_rates: Callable[..., None],
) -> None:
    """As in the route: a deal not open yet on a variant without stock answers ``out_of_stock``."""
    set_rates(live_buy="100/minute")
    item = live_shop(price=2500, stock=3)
    live_id, variant_id = item["live_id"], item["variant_id"]
    other = stocked(stock=50, title="Plain Tee", shop=item["shop"])["variant_id"]
    deal = announce(api, item["host"], live_id, variant_id, total_units=3, per_buyer_limit=1).json()
    ordinary = post(api, buyer(), {"items": [{"variant_id": variant_id, "quantity": 3}], "address": ADDRESS})
    assert ordinary.status_code == 201, ordinary.text
    late = buyer()
    gated = post(api, late, live_buy(variant_id, live_id))
    routed = post(api, late, routed_buy(variant_id, other, live_id))
    assert gated.status_code == 409 and gated.json()["error"]["code"] == "out_of_stock"
    assert gated.content == routed.content
    assert (count_orders(db_run), deal_row(db_run, deal["id"]).units_left) == (1, 3)


def test_the_live_buy_limit_counts_first_and_once(
    api: httpx.Client, live_shop: Callable[..., dict[str, Any]], stocked: Callable[..., dict[str, Any]],
    buyer: Callable[..., dict[str, Any]], db_run: Any, production_limits: None,
) -> None:
    """Refused LIVE buys count under ``live_buy`` (3 in 10 seconds) exactly once each, whether the
    gate or the route refuses them; the fourth is ``429`` from either, before the deal's ``409``."""
    item = live_shop(price=2500, stock=50)
    live_id, variant_id = item["live_id"], item["variant_id"]
    other = stocked(stock=50, title="Plain Tee", shop=item["shop"])["variant_id"]
    deal = announce(api, item["host"], live_id, variant_id, total_units=10, per_buyer_limit=5).json()
    gated_bot, routed_bot = buyer(), buyer()
    gated = [post(api, gated_bot, live_buy(variant_id, live_id)) for _ in range(4)]
    routed = [post(api, routed_bot, routed_buy(variant_id, other, live_id)) for _ in range(4)]
    for answers in (gated, routed):
        assert [a.status_code for a in answers] == [409, 409, 409, 429]
        assert {a.json()["error"]["code"] for a in answers[:3]} == {"deal_not_open"}
    refusals = [answers[3] for answers in (gated, routed)]
    for refused in refusals:
        body = refused.json()
        assert body["error"]["details"]["retry_after"] == int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["content-type"] == "application/json"
    gated_error, routed_error = (r.json()["error"] for r in refusals)
    assert gated_error["code"] == "rate_limited" and gated_error["details"]["rule"] == "live_buy"
    assert gated_error["message"].startswith("You are buying too fast in this LIVE. Try again in ")
    # The same body but for the wait, which depends on when each bot started.
    assert {**gated_error, "message": "", "details": {**gated_error["details"], "retry_after": 0}} == {
        **routed_error, "message": "", "details": {**routed_error["details"], "retry_after": 0}}
    assert (count_orders(db_run), deal_row(db_run, deal["id"]).units_left) == (0, 10)


def test_the_gates_live_read_works_on_this_database(
    api: httpx.Client, live_shop: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]], db_run: Any,
    clean_db: str, set_rates: Callable[..., None],
) -> None:
    """The gate swallows a failing read (the route then decides): the LIVE statement must read
    the deal and the buyer's count on SQLite and on PostgreSQL."""
    set_rates(live_buy="100/minute")
    item = live_shop(price=2500, stock=50)
    live_id, variant_id = item["live_id"], item["variant_id"]
    deal = announce(api, item["host"], live_id, variant_id, total_units=4, per_buyer_limit=2).json()
    open_now(db_run, deal["id"])
    ada = buyer()
    assert post(api, ada, live_buy(variant_id, live_id)).status_code == 201

    async def read(live: int) -> BuyFacts | None:
        db = Database(clean_db, pool=False)
        try:
            return await FactsReader(db).read(BuyRequest(digest=token_digest(ada["token"]), key=None,
                                                         variant_id=variant_id, quantity=1, live_id=live))
        finally:
            await db.dispose()

    facts = run_async(read(live_id))
    assert facts is not None and facts.deal is not None
    assert (facts.user_id, facts.available, facts.product_status) == (ada["user"]["id"], 49, "active")
    assert (facts.deal.deal_id, facts.deal.units_left, facts.deal.per_buyer_limit, facts.deal.opened,
            facts.deal.bought) == (deal["id"], 3, 2, True, 1)
    elsewhere = run_async(read(live_id + 1000))  # no deal there: the variant's facts only
    assert elsewhere is not None and elsewhere.deal is None and elsewhere.available == 49


class _DealReader:
    """Facts as the gate's LIVE read would give them (the database is not needed here)."""

    def __init__(self, database: object, units_left: int) -> None:
        self.database = database
        self.usable = True
        self.units_left = units_left

    async def read(self, buy: Any) -> BuyFacts:
        return BuyFacts(user_id=7, key_known=False, available=50, variant_title="One size",
                        product_title="Glow Serum", product_status="active", variant_created="2026-12-01",
                        deal=LiveDealFacts(deal_id=9, units_left=self.units_left, per_buyer_limit=1, opened=True,
                                           bought=0, created="2026-12-02"))


class _Limiter:
    async def hit(self, rule: Any, who: str) -> None:
        return None


def test_deal_units_in_flight_are_claimed_and_given_back() -> None:
    """With one deal unit left and a buy of it still in the route, the next buyer gets the
    route's ``deal_sold_out`` (as it would a moment later) at the gate; once the buy's
    transaction ends every claim is given back, the variant's and the deal's."""
    import asyncio

    seen: dict[str, Any] = {}
    release = asyncio.Event()
    running = asyncio.Event()

    async def route(scope: Any, receive: Any, send: Any) -> None:
        seen["claims while running"] = {name: sum(units for units, _ in held.values())
                                        for name, held in gate._local.held.items()}
        running.set()
        await release.wait()
        scope[flash_gate.DROP_CLAIM]()  # what the route's unit of work does when it ends
        seen["claims after the commit"] = dict(gate._local.held)
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    gate = SoldOutGate(route)
    database = object()
    gate._reader = _DealReader(database, units_left=1)  # type: ignore[assignment]
    state = SimpleNamespace(db=database, settings=SimpleNamespace(max_cart_quantity=10), redis=None,
                            rate_limiter=_Limiter())
    body = json.dumps(live_buy(42, 5)).encode()

    async def call(token: bytes) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        scope = {"type": "http", "method": "POST", "path": "/api/v1/checkouts", "app": SimpleNamespace(state=state),
                 "headers": [(b"authorization", b"Bearer " + token), (b"content-type", b"application/json")]}
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await gate(scope, receive, send)
        return sent

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        first = asyncio.ensure_future(call(b"first-token"))
        await running.wait()
        second = await call(b"second-token")
        release.set()
        return await first, second

    first, second = run_async(scenario())
    assert seen["claims while running"] == {"42:2026-12-01": 1, "deal:9:2026-12-02": 1}
    assert seen["claims after the commit"] == {}
    assert first[0]["status"] == 201
    assert second[0]["status"] == 409
    assert json.loads(second[1]["body"]) == {"error": {
        "code": "deal_sold_out", "message": "This flash deal is sold out.", "details": {"deal_id": 9, "units_left": 0}}}
    assert gate._local.held == {}
