"""Attribution scenarios (issue 15): last click within 7 days wins, a click beats a view, an old
click earns nothing, a LIVE purchase credits its host, an anonymous touchpoint survives sign-up, a
forged visitor token is ignored; and what a creator may read of a decision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import touchpoints, visitor
from mercato.affiliate.money_models import AffiliateLink, Attribution, Commission, Touchpoint
from mercato.config import get_settings
from mercato.live.models import Live
from mercato.orders.models import Order
from tests.affiliate.money_helpers import (
    DAY,
    age_touchpoints,
    balances,
    buy,
    click,
    make_link,
    now,
    open_plan,
    touchpoints_of,
    with_address,
)

Maker = Callable[..., dict[str, Any]]


def world(api: httpx.Client, stocked: Maker, make_creator: Maker, db_run: Any, creators: int = 2,
          price: int = 10000) -> dict[str, Any]:
    item = stocked(price=price, stock=20)
    people = [make_creator() for _ in range(creators)]
    plan_id = open_plan(db_run, item["shop"], [item["product"]["id"]], people)
    return {"item": item, "creators": people, "plan_id": plan_id, "product_id": item["product"]["id"]}


def commissions(api: httpx.Client, who: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/v1/creators/me/commissions", headers=who["headers"], params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def attributions(api: httpx.Client, who: dict[str, Any], order_id: int) -> list[dict[str, Any]]:
    response = api.get("/api/v1/creators/me/attributions", headers=who["headers"], params={"order_id": order_id})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_two_creators_links_clicked_in_turn_the_last_wins(api: httpx.Client, stocked: Maker, make_creator: Maker,
                                                          buyer: Maker, db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run)
    first, second = w["creators"]
    first_url, second_url = make_link(api, first, w["product_id"]), make_link(api, second, w["product_id"])
    assert first_url.startswith("/a/") and first_url != second_url
    shopper = buyer()
    landed = click(api, first_url, shopper)
    assert landed.headers["location"] == f"/products/{w['product_id']}"
    click(api, second_url, shopper)
    order = buy(api, shopper, w["item"]["variant_id"])

    mine = commissions(api, second)
    assert [(c["order_id"], c["amount"], c["currency"], c["status"]) for c in mine] == [
        (order["id"], 1000, "USD", "pending")]  # 10 % of 100.00
    tp = mine[0]["touchpoint"]
    assert (tp["kind"], tp["creator_id"], tp["product_id"], tp["rule"]) == (
        "link_click", second["user"]["id"], w["product_id"], "last_click")
    assert mine[0]["product"]["id"] == w["product_id"] and mine[0]["plan_id"] == w["plan_id"]
    assert commissions(api, first) == []
    # why not the first creator: their own click only, the rule, and the count of the others
    why = attributions(api, first, order["id"])
    assert len(why) == 1 and why[0]["credited_to_you"] is False and why[0]["rule"] == "last_click"
    assert [(t["kind"], t["reason"]) for t in why[0]["your_touchpoints"]] == [("link_click", "a later click won")]
    assert {t["creator_id"] for t in why[0]["your_touchpoints"]} == {first["user"]["id"]}
    assert why[0]["other_touchpoints"] == 1
    shop_id = w["item"]["shop"]["id"]
    assert balances(db_run, f"creator:{second['user']['id']}:pending:USD", f"shop:{shop_id}:pending:USD") == [
        1000, 10000 - 600 - 1000]


def test_a_click_beats_a_view_and_a_view_counts_alone(api: httpx.Client, stocked: Maker, make_creator: Maker,
                                                      buyer: Maker, db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run, creators=3)
    viewer_creator, clicker, lone_viewer = w["creators"]
    shopper = buyer()
    settings = get_settings()

    async def view(db: AsyncSession, creator_id: int, ago_hours: float) -> None:
        await touchpoints.record(db, settings, kind="showcase_view", creator_id=creator_id, product_id=None,
                                 at=now() - DAY * (ago_hours / 24), user_id=shopper["user"]["id"])

    db_run(lambda db: view(db, viewer_creator["user"]["id"], 1))  # a view, then a click: the click wins
    click(api, make_link(api, clicker, w["product_id"]), shopper)
    db_run(lambda db: view(db, lone_viewer["user"]["id"], 0.1))  # a later view still loses to the click
    order = buy(api, shopper, w["item"]["variant_id"])
    assert [c["order_id"] for c in commissions(api, clicker)] == [order["id"]]
    assert commissions(api, viewer_creator) == [] and commissions(api, lone_viewer) == []
    why = attributions(api, lone_viewer, order["id"])
    assert [(t["kind"], t["reason"]) for t in why[0]["your_touchpoints"]] == [("showcase_view", "a click beats a view")]

    # without any click, the latest view within the view window wins
    other = buyer()
    db_run(lambda db: touchpoints.record(db, settings, kind="showcase_view", creator_id=lone_viewer["user"]["id"],
                                         product_id=None, at=now() - DAY / 4, user_id=other["user"]["id"]))
    second = buy(api, other, w["item"]["variant_id"])
    got = commissions(api, lone_viewer)
    assert [(c["order_id"], c["touchpoint"]["kind"], c["touchpoint"]["rule"]) for c in got] == [
        (second["id"], "showcase_view", "last_view")]


def test_a_click_eight_days_old_earns_nothing(api: httpx.Client, stocked: Maker, make_creator: Maker, buyer: Maker,
                                              db_run: Any, count_rows: Callable[[Any], int]) -> None:
    w = world(api, stocked, make_creator, db_run, creators=1)
    (creator,) = w["creators"]
    shopper = buyer()
    click(api, make_link(api, creator, w["product_id"]), shopper)
    age_touchpoints(db_run, creator["user"]["id"], 8 * DAY)
    order = buy(api, shopper, w["item"]["variant_id"])
    assert commissions(api, creator) == [] and count_rows(Commission) == 0
    why = attributions(api, creator, order["id"])
    assert why[0]["rule"] == "none_eligible" and why[0]["credited_to_you"] is False
    assert [t["reason"] for t in why[0]["your_touchpoints"]] == ["outside the attribution window"]
    assert balances(db_run, f"creator:{creator['user']['id']}:pending:USD") == [0]


def _live_order(db_run: Any, host_id: int) -> Callable[[int], None]:
    """Marks the order as bought in a LIVE of ``host_id`` (what a checkout with ``live_id`` writes)."""

    def mark(order_id: int) -> None:
        async def go(db: AsyncSession) -> None:
            live = Live(host_id=host_id, title="Evening show", status="live", started_at=now())
            db.add(live)
            await db.flush()
            await db.execute(update(Order).where(Order.id == order_id).values(source="live", live_id=live.id))

        db_run(go)

    return mark


def test_a_live_purchase_credits_the_host(api: httpx.Client, stocked: Maker, make_creator: Maker, buyer: Maker,
                                          db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run, creators=2)
    host, clicker = w["creators"]
    shopper = buyer()
    click(api, make_link(api, clicker, w["product_id"]), shopper)  # a click elsewhere loses to the LIVE
    order = buy(api, shopper, w["item"]["variant_id"], before_pay=_live_order(db_run, host["user"]["id"]))
    got = commissions(api, host)
    assert [(c["order_id"], c["amount"], c["touchpoint"]["kind"], c["touchpoint"]["rule"]) for c in got] == [
        (order["id"], 1000, "live", "live_purchase")]
    assert got[0]["live_id"] is not None
    assert commissions(api, clicker) == []


def test_the_hosts_own_shop_live_is_credited_without_commission(api: httpx.Client, stocked: Maker,
                                                                 buyer: Maker, db_run: Any,
                                                                 count_rows: Callable[[Any], int]) -> None:
    item = stocked(price=5000)
    owner = item["shop"]["owner"]
    shopper = buyer()
    order = buy(api, shopper, item["variant_id"], before_pay=_live_order(db_run, owner["user"]["id"]))
    assert count_rows(Commission) == 0
    why = attributions(api, owner, order["id"])
    assert [(a["rule"], a["credited_to_you"]) for a in why] == [("live_own_shop", True)]


def test_an_anonymous_touchpoint_survives_sign_up(server: str, api: httpx.Client, stocked: Maker,
                                                  make_creator: Maker, db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run, creators=1)
    (creator,) = w["creators"]
    url = make_link(api, creator, w["product_id"])
    with httpx.Client(base_url=server, timeout=60) as browser:
        opened = browser.get(url, follow_redirects=False)
        assert opened.status_code == 302
        token = browser.cookies.get(visitor.COOKIE)
        assert token is not None and visitor.verify(token, get_settings()) is not None
        again = browser.get(url, follow_redirects=False)  # same visitor, same link: one touchpoint
        assert again.status_code == 302 and visitor.COOKIE not in again.cookies
        [anonymous] = touchpoints_of(db_run, creator_id=creator["user"]["id"])
        assert anonymous.user_id is None and anonymous.visitor_id == token.split(".")[0]
        registered = browser.post("/api/v1/auth/register", json={
            "email": "late-signup@example.com", "password": "correct-horse-1", "display_name": "Late",
            "date_of_birth": "1990-01-01"})
        assert registered.status_code == 201, registered.text
        body = registered.json()
        shopper = {"user": body["user"], "headers": {"Authorization": f"Bearer {body['token']}"}}
    [attached] = touchpoints_of(db_run, creator_id=creator["user"]["id"])
    assert attached.user_id == shopper["user"]["id"]
    order = buy(api, with_address(api, shopper), w["item"]["variant_id"])
    assert [(c["order_id"], c["amount"]) for c in commissions(api, creator)] == [(order["id"], 1000)]


def test_a_forged_or_altered_visitor_token_is_ignored(server: str, api: httpx.Client, stocked: Maker,
                                                      make_creator: Maker, db_run: Any) -> None:
    w = world(api, stocked, make_creator, db_run, creators=1)
    (creator,) = w["creators"]
    url = make_link(api, creator, w["product_id"])
    with httpx.Client(base_url=server, timeout=60) as victim:
        victim.get(url, follow_redirects=False)
        genuine = victim.cookies.get(visitor.COOKIE)
    assert genuine is not None
    visitor_id, mac = genuine.split(".")
    altered_id = ("0" if visitor_id[0] != "0" else "1") + visitor_id[1:]
    forgeries = [f"{altered_id}.{mac}", f"{visitor_id}.{'0' * 32}", f"{visitor_id}.{mac[:-1]}", visitor_id]
    for n, forged in enumerate(forgeries):
        with httpx.Client(base_url=server, timeout=60, cookies={visitor.COOKIE: forged}) as attacker:
            opened = attacker.get(url, follow_redirects=False)
            assert opened.status_code == 302
            fresh = opened.cookies.get(visitor.COOKIE)  # replaced by a new genuine token
            assert fresh is not None and fresh != forged and fresh.split(".")[0] not in (visitor_id, altered_id)
        # signing up with the forged cookie takes nobody's touchpoints
        with httpx.Client(base_url=server, timeout=60, cookies={visitor.COOKIE: forged}) as attacker:
            registered = attacker.post("/api/v1/auth/register", json={
                "email": f"forger{n}@example.com", "password": "correct-horse-1", "display_name": "Forger",
                "date_of_birth": "1990-01-01"})
            assert registered.status_code == 201
    rows = touchpoints_of(db_run, creator_id=creator["user"]["id"])
    assert len(rows) == 1 + len(forgeries)
    assert all(row.user_id is None for row in rows)  # nothing attached to any forger
    assert [row.visitor_id for row in rows].count(visitor_id) == 1
    assert altered_id not in [row.visitor_id for row in rows]


def test_links_need_a_plan_and_one_creator_cannot_read_anothers(api: httpx.Client, stocked: Maker,
                                                                 make_creator: Maker, buyer: Maker, db_run: Any,
                                                                 count_rows: Callable[[Any], int]) -> None:
    w = world(api, stocked, make_creator, db_run, creators=1)
    (member,) = w["creators"]
    outsider = make_creator()
    refused = api.post("/api/v1/affiliate/links", headers=outsider["headers"], json={"product_id": w["product_id"]})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "product_not_promotable"
    assert count_rows(AffiliateLink) == 0
    shopper = buyer()
    click(api, make_link(api, member, w["product_id"]), shopper)
    order = buy(api, shopper, w["item"]["variant_id"])
    assert len(commissions(api, member)) == 1
    assert commissions(api, outsider) == [] and commissions(api, outsider, order_id=order["id"]) == []
    assert attributions(api, outsider, order["id"]) == []  # no touchpoint of theirs: nothing to show
    assert api.get("/api/v1/creators/me/commissions/breakdown", headers=outsider["headers"]).json()["items"] == []
    seller_view = api.get(f"/api/v1/shops/{w['item']['shop']['slug']}/affiliate/orders", headers=outsider["headers"])
    assert seller_view.status_code == 403
    shop_view = api.get(f"/api/v1/shops/{w['item']['shop']['slug']}/affiliate/orders",
                        headers=w["item"]["shop"]["owner"]["headers"])
    assert [(c["order_id"], c["creator_id"], c["amount"]) for c in shop_view.json()["items"]] == [
        (order["id"], member["user"]["id"], 1000)]
    assert count_rows(Attribution) == 1 and count_rows(Touchpoint) == 1
