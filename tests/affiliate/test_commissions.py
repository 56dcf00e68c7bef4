"""Commissions' money (R8): the amount, the ledger when paid, refunds pro rata, release at
settlement, a clawback after release netted by the next payout, the derived ``paid`` status,
CSV export; and a property test over payments, refunds, settlement and payouts."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.affiliate.commissions import commission_amount, reversed_target
from mercato.affiliate.plans import PlanTerms
from mercato.config import get_settings
from mercato.kit.money import apply_rate_bps
from mercato.ledger import payouts
from mercato.ledger import service as ledger
from tests.affiliate.money_helpers import balances, buy, click, make_link, now, open_plan, settle
from tests.orders.conftest import key

Maker = Callable[..., dict[str, Any]]


def _terms(rate_bps: int | None = None, flat_fee: int | None = None) -> PlanTerms:
    return PlanTerms(plan_id=1, rate_bps=rate_bps, flat_fee=flat_fee, currency="USD", kind="open",
                     promoting_since=now())


@hsettings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a busy shared CI host
@given(base=st.integers(0, 10**9), rate=st.integers(0, 10_000), quantity=st.integers(1, 50),
       fee=st.integers(0, 10**6))
def test_amount_never_exceeds_rate_times_paid_nor_the_paid_amount(base: int, rate: int, quantity: int,
                                                                   fee: int) -> None:
    amount, rate_bps, flat = commission_amount(base, quantity, _terms(rate_bps=rate), "USD")
    assert (rate_bps, flat) == (rate, None)
    assert 0 <= amount <= base and amount == min(apply_rate_bps(base, rate), base)
    assert amount <= base * rate / 10_000 + 0.5  # rounded half-even at most half a unit up
    flat_amount, _, flat_fee = commission_amount(base, quantity, _terms(flat_fee=fee), "USD")
    assert flat_fee == fee and flat_amount == min(fee * quantity, base)
    assert commission_amount(base, quantity, PlanTerms(plan_id=1, rate_bps=None, flat_fee=fee, currency="EUR",
                                                       kind="open", promoting_since=now()), "USD")[0] == 0


@hsettings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amount=st.integers(0, 10**7), total=st.integers(1, 10**7), cuts=st.lists(st.integers(1, 10**6), max_size=6))
def test_reversals_are_cumulative_monotone_and_total_on_full_refund(amount: int, total: int,
                                                                   cuts: list[int]) -> None:
    refunded, reversed_ = 0, 0
    for cut in cuts:
        if refunded >= total:
            break
        refunded = min(total, refunded + cut)
        target = reversed_target(amount, refunded, total)
        assert reversed_ <= target <= amount
        reversed_ = target
    assert reversed_target(amount, total, total) == amount


def world(api: httpx.Client, stocked: Maker, make_creator: Maker, db_run: Any, price: int = 10000,
          **plan: Any) -> dict[str, Any]:
    item = stocked(price=price, stock=50)
    creator = make_creator()
    plan_id = open_plan(db_run, item["shop"], [item["product"]["id"]], [creator], **plan)
    return {"item": item, "creator": creator, "plan_id": plan_id, "url": make_link(api, creator,
                                                                                   item["product"]["id"])}


def mine(api: httpx.Client, who: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/v1/creators/me/commissions", headers=who["headers"], params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def refund(api: httpx.Client, seller: dict[str, Any], order_id: int, amount: int) -> None:
    response = api.post(f"/api/v1/seller/orders/{order_id}/refunds", headers={**seller["headers"], **key()},
                        json={"amount": amount})
    assert response.status_code == 201, response.text


def trial(db_run: Any) -> dict[str, int]:
    async def go(db: AsyncSession) -> dict[str, int]:
        return await ledger.trial_balance(db)

    result: dict[str, int] = db_run(go)
    return result


def pay_out(db_run: Any, creator_id: int) -> int:
    """A creator payout of the whole available balance (method set long ago: no hold)."""

    async def go(db: AsyncSession) -> int:
        user = await db.get(User, creator_id)
        assert user is not None
        settings = get_settings()
        payee = payouts.require_creator_payee(user, settings)
        await payouts.set_payee_method(db, payee, account_holder="Cre Ator", account_number="000123456789",
                                       now=now() - timedelta(days=10))
        payout = await payouts.request_creator_payout(db, user, "USD", settings)
        return payout.amount

    amount: int = db_run(go)
    return amount


def test_partial_refund_release_clawback_and_paid(api: httpx.Client, stocked: Maker, make_creator: Maker,
                                                  buyer: Maker, db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run, price=10000, rate_bps=1250)
    creator, seller, shop_id = w["creator"], w["item"]["shop"]["owner"], w["item"]["shop"]["id"]
    cid = creator["user"]["id"]
    shopper = buyer()
    click(api, w["url"], shopper)
    order = buy(api, shopper, w["item"]["variant_id"], quantity=2)  # 200.00 paid, no tax or shipping
    oid = order["id"]
    assert order["total"] == 20000
    [c] = mine(api, creator)
    assert (c["amount"], c["base"], c["rate_bps"], c["status"]) == (2500, 20000, 1250, "pending")
    refund(api, seller, oid, 5000)  # a quarter back: a quarter of the commission reversed
    [c] = mine(api, creator)
    assert (c["amount"], c["reversed"], c["status"]) == (1875, 625, "pending")
    assert balances(db_run, f"creator:{cid}:pending:USD") == [1875]
    assert trial(db_run) == {"USD": 0}

    settle(api, db_run, seller, oid)
    [c] = mine(api, creator)
    assert (c["amount"], c["status"]) == (1875, "available") and c["released_at"] is not None
    assert balances(db_run, f"creator:{cid}:pending:USD", f"creator:{cid}:available:USD") == [0, 1875]
    # the seller's settlement moved only the net: 150.00 left after the refund − fee − commission
    fee_left = 1200 - 300
    assert balances(db_run, f"shop:{shop_id}:pending:USD", f"shop:{shop_id}:available:USD") == [
        0, 15000 - fee_left - 1875]

    assert pay_out(db_run, cid) == 1875
    assert [c["status"] for c in mine(api, creator)] == ["paid"]
    assert [c["id"] for c in mine(api, creator, status="paid")] == [c["id"]]
    assert mine(api, creator, status="available") == []

    refund(api, seller, oid, 15000)  # the rest: all of the commission comes back from available
    [c] = mine(api, creator)
    assert (c["amount"], c["reversed"], c["status"]) == (0, 2500, "reversed")
    assert balances(db_run, f"creator:{cid}:available:USD") == [-1875]  # clawback, netted next time
    assert trial(db_run) == {"USD": 0}

    # the next commission nets the clawback: the payout is what is left
    again = buyer()
    click(api, w["url"], again)
    second = buy(api, again, w["item"]["variant_id"], quantity=4)  # 400.00 → 50.00 commission
    settle(api, db_run, seller, second["id"])
    assert balances(db_run, f"creator:{cid}:available:USD") == [5000 - 1875]
    assert pay_out(db_run, cid) == 5000 - 1875
    assert trial(db_run) == {"USD": 0}


def test_csv_export_escapes_formulas(api: httpx.Client, stocked: Maker, make_creator: Maker, buyer: Maker,
                                     db_run: Any, make_product: Maker) -> None:
    item = stocked(price=3000, title="=HYPERLINK(\"http://x\")")
    creator = make_creator()
    open_plan(db_run, item["shop"], [item["product"]["id"]], [creator])
    shopper = buyer()
    click(api, make_link(api, creator, item["product"]["id"]), shopper)
    order = buy(api, shopper, item["variant_id"])
    response = api.get("/api/v1/creators/me/commissions", headers=creator["headers"], params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:5] == ["order_id", "created_at", "status", "amount", "currency"]
    assert rows[1][0] == str(order["id"]) and rows[1][2:5] == ["pending", "300", "USD"]
    assert rows[1][6] == "'=HYPERLINK(\"http://x\")" and rows[1][10:] == ["link_click", rows[1][11], "last_click"]


def test_breakdown_by_product_and_plan(api: httpx.Client, stocked: Maker, make_creator: Maker, buyer: Maker,
                                       db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run, price=4000)
    shopper = buyer()
    click(api, w["url"], shopper)
    buy(api, shopper, w["item"]["variant_id"])
    buy(api, shopper, w["item"]["variant_id"], quantity=2)
    by_product = api.get("/api/v1/creators/me/commissions/breakdown", headers=w["creator"]["headers"],
                         params={"by": "product"}).json()
    assert by_product == {"by": "product", "items": [{"key": w["item"]["product"]["id"], "currency": "USD",
                                                      "pending": 1200, "available": 0, "reversed": 0, "orders": 2}]}
    by_plan = api.get("/api/v1/creators/me/commissions/breakdown", headers=w["creator"]["headers"],
                      params={"by": "plan"}).json()
    assert [(i["key"], i["pending"]) for i in by_plan["items"]] == [(w["plan_id"], 1200)]
    # The Earnings page shows the same groups: by product, plan, video and LIVE (a link click: no
    # video, no LIVE, so one "—" row each).
    page = api.get("/studio/earnings", headers=w["creator"]["headers"]).text
    for title in ("Commissions by product", "Commissions by plan", "Commissions by video", "Commissions by LIVE"):
        assert title in page
    assert page.count("$12.00") >= 4


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantity=st.integers(1, 3), rate=st.integers(100, 8000),
       refunds_before=st.lists(st.integers(1, 9000), max_size=2),
       refunds_after=st.lists(st.integers(1, 9000), max_size=2), full=st.booleans(), payout=st.booleans())
def test_r8_property_payments_refunds_settlement_payouts(
        api: httpx.Client, stocked: Maker, make_creator: Maker, buyer: Maker, db_run: Any,
        quantity: int, rate: int, refunds_before: list[int], refunds_after: list[int], full: bool,
        payout: bool) -> None:
    w = world(api, stocked, make_creator, db_run, price=3333, rate_bps=rate)
    creator, seller = w["creator"], w["item"]["shop"]["owner"]
    cid = creator["user"]["id"]
    shopper = buyer()
    click(api, w["url"], shopper)
    order = buy(api, shopper, w["item"]["variant_id"], quantity=quantity)
    paid, refunded = order["total"], 0
    [c] = mine(api, creator)
    assert c["amount"] <= apply_rate_bps(paid, rate) and c["amount"] == min(apply_rate_bps(3333 * quantity, rate),
                                                                            3333 * quantity)
    original = c["amount"]

    def do_refund(amount: int) -> None:
        nonlocal refunded
        amount = min(amount, paid - refunded - 1)  # keep the order alive until the full refund
        if amount <= 0:
            return
        refund(api, seller, order["id"], amount)
        refunded += amount
        [now_c] = mine(api, creator)
        assert now_c["reversed"] == original * refunded // paid
        assert trial(db_run) == {"USD": 0}

    for amount in refunds_before:
        do_refund(amount)
    settle(api, db_run, seller, order["id"])
    left = original - original * refunded // paid
    assert balances(db_run, f"creator:{cid}:available:USD") == [left]
    paid_out = pay_out(db_run, cid) if payout and left >= get_settings().creator_payout_minimum else 0
    for amount in refunds_after:
        do_refund(amount)
    if full:
        refund(api, seller, order["id"], paid - refunded)
        refunded = paid
    [c] = mine(api, creator)
    assert c["reversed"] == original * refunded // paid if refunded < paid else original
    assert c["amount"] == original - c["reversed"] and c["amount"] >= 0
    if full:
        assert c["amount"] == 0 and c["status"] == "reversed"
    # what the creator is owed (available) + what was paid out == the commission left
    assert balances(db_run, f"creator:{cid}:available:USD")[0] + paid_out == c["amount"]
    assert trial(db_run) == {"USD": 0}


def test_commission_never_exceeds_a_discounted_line(api: httpx.Client, stocked: Maker, make_creator: Maker,
                                                    buyer: Maker, db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run, price=500, flat_fee=800)  # flat fee above the price
    shopper = buyer()
    click(api, w["url"], shopper)
    order = buy(api, shopper, w["item"]["variant_id"], quantity=1)
    [c] = mine(api, w["creator"])
    assert (c["amount"], c["flat_fee"], c["base"]) == (500, 800, 500) and order["total"] == 500
