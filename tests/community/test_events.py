"""Community events: the operator's API and pages, each mission type advanced by its real action
(WebSocket chat, video share, gifts API, sandbox pay, the room's watch time), counted once on
replay, rewards granted once (badge, coupon, shopping credits), the gift conversion."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.community.models import CommunityEvent, Mission, MissionAction, MissionProgress
from mercato.live.gifts import hooks as gift_hooks
from mercato.live.room import chat_hooks
from mercato.orders import hooks as order_hooks
from mercato.promotions import credits
from mercato.promotions.models import Coupon
from tests.community.conftest import buy_coins, send_gift, watch
from tests.live.room.conftest import join, recv, say, until
from tests.orders.conftest import checkout, key, pay

Factory = Callable[..., dict[str, Any]]


def mission(kind: str, target: int, reward: str = "badge", **extra: Any) -> dict[str, Any]:
    body = {"kind": kind, "title": f"{kind} × {target}", "target": target, "reward_kind": reward}
    if reward == "badge":
        body["reward_badge"] = f"{kind} star"
    body.update(extra)
    return body


def event_body(slug: str = "community-fest", *missions: dict[str, Any], days: int = 10,
               **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"slug": slug, "name": "Community Fest", "description": "Three weeks of missions.",
            "starts_at": (now - timedelta(days=days)).isoformat(), "ends_at": (now + timedelta(days=days)).isoformat(),
            "missions": list(missions) or [mission("comment", 2)], **extra}


def create(api: httpx.Client, admin: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/admin/events", json=body, headers=admin["headers"])
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def progress(api: httpx.Client, who: dict[str, Any], slug: str = "community-fest") -> dict[str, dict[str, Any]]:
    response = api.get(f"/api/v1/events/{slug}/progress", headers=who["headers"])
    assert response.status_code == 200, response.text
    return {m["kind"]: m for m in response.json()["missions"]}


def counts(db_run: Any) -> tuple[int, int, int, int]:
    async def go(session: AsyncSession) -> tuple[int, int, int, int]:
        result = []
        for model in (CommunityEvent, Mission, MissionProgress, MissionAction):
            result.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
        return result[0], result[1], result[2], result[3]
    found: tuple[int, int, int, int] = db_run(go)
    return found


def test_operators_create_and_edit_events(api: httpx.Client, admin: dict[str, Any], make_user: Factory,
                                          db_run: Any) -> None:
    viewer = make_user()
    body = event_body("community-fest", mission("comment", 2), mission("buy", 1, "credits", reward_amount=500,
                                                                        reward_currency="USD"),
                      gift_conversion="credits")
    assert api.post("/api/v1/admin/events", json=body, headers=viewer["headers"]).status_code == 403
    assert api.post("/api/v1/admin/events", json=body).status_code == 401
    assert counts(db_run) == (0, 0, 0, 0)
    created = create(api, admin, body)
    assert (created["slug"], created["running"], created["gift_conversion"]) == ("community-fest", True, "credits")
    assert [(m["kind"], m["target"], m["reward"]["kind"]) for m in created["missions"]] == \
        [("comment", 2, "badge"), ("buy", 1, "credits")]
    refusals = [
        (body, 409, "event_slug_taken"),
        ({**body, "slug": "banner"}, 409, "event_slug_taken"),
        ({**body, "slug": "other", "ends_at": body["starts_at"]}, 422, "event_window"),
        ({**body, "slug": "other", "missions": [mission("share", 1, "credits", reward_amount=100)]}, 422,
         "mission_reward"),
        ({**body, "slug": "other", "missions": [mission("share", 1, "coupon")]}, 422, "mission_reward"),
        ({**body, "slug": "other", "missions": [mission("dance", 1)]}, 422, "validation_error"),
    ]
    for payload, status, code in refusals:
        response = api.post("/api/v1/admin/events", json=payload, headers=admin["headers"])
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), payload
    assert counts(db_run) == (1, 2, 0, 0)
    patched = api.patch(f"/api/v1/admin/events/{created['id']}", json={"name": "Fest", "gift_conversion": "diamonds"},
                        headers=admin["headers"])
    assert patched.status_code == 200 and (patched.json()["name"], patched.json()["gift_conversion"]) == ("Fest", None)
    bad = api.patch(f"/api/v1/admin/events/{created['id']}", json={"ends_at": body["starts_at"]},
                    headers=admin["headers"])
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "event_window"
    assert api.get("/api/v1/events/community-fest").json()["name"] == "Fest"
    assert api.get("/api/v1/events/nope").json()["error"]["code"] == "event_not_found"
    listed = api.get("/api/v1/admin/events", headers=admin["headers"]).json()
    assert [e["slug"] for e in listed] == ["community-fest"]
    # the operator pages
    page = api.get("/admin/events", headers=admin["headers"])
    assert page.status_code == 200 and 'data-testid="event-row"' in page.text
    assert api.get("/admin/events", headers=viewer["headers"]).status_code == 403
    assert api.get(f"/admin/events/{created['id']}", headers=admin["headers"]).status_code == 200


def test_comment_mission_over_websocket_counts_each_message_once(server: str, api: httpx.Client,
                                                                  admin: dict[str, Any], make_user: Factory,
                                                                  started_live: Callable[..., int],
                                                                  db_run: Any) -> None:
    create(api, admin, event_body("community-fest", mission("comment", 2)))
    host, fan = make_user(), make_user()
    live_id = started_live(host)

    async def go() -> None:
        ws = await join(server, live_id, fan["token"])
        await recv(ws)
        await say(ws, "first")
        await until(ws, "chat", text="first")
        await ws.send(json.dumps({"type": "ping"}))
        await until(ws, "pong")
        await ws.close()

    asyncio.run(go())
    assert (progress(api, fan)["comment"]["progress"], progress(api, fan)["comment"]["completed"]) == (1, False)

    async def replay(session: AsyncSession) -> None:  # the same message told twice more
        rows = await session.execute(select(MissionAction.action_key))
        message_key = rows.scalars().one()
        event = chat_hooks.ChatAccepted(live_id=live_id, host_id=host["user"]["id"], user_id=fan["user"]["id"],
                                        message_id=message_key.removeprefix("chat:"), at=datetime.now(UTC))
        for _ in range(2):
            for listener in chat_hooks.chat_listeners():
                await listener(session, event)
    db_run(replay)
    assert progress(api, fan)["comment"]["progress"] == 1

    async def again() -> None:
        ws = await join(server, live_id, fan["token"])
        await recv(ws)
        await say(ws, "second")
        await until(ws, "chat", text="second")
        await ws.send(json.dumps({"type": "ping"}))
        await until(ws, "pong")
        await ws.close()

    asyncio.run(again())
    done = progress(api, fan)["comment"]
    assert (done["progress"], done["completed"], done["reward"]["badge"]) == (2, True, "comment star")
    journey = api.get("/events/community-fest", headers=fan["headers"])
    assert journey.status_code == 200 and 'data-testid="reward-earned"' in journey.text


def test_share_mission_counts_a_video_once(api: httpx.Client, admin: dict[str, Any], make_user: Factory,
                                           post_video: Factory) -> None:
    create(api, admin, event_body("community-fest", mission("share", 2)))
    creator, fan = make_user(), make_user()
    first, second = post_video(creator), post_video(creator)
    for _ in range(2):  # sharing the same video again is a replay
        shared = api.post(f"/api/v1/videos/{first['id']}/shares", headers=fan["headers"], json={"channel": "copy"})
        assert shared.status_code == 201, shared.text
    assert progress(api, fan)["share"]["progress"] == 1
    api.post(f"/api/v1/videos/{second['id']}/shares", headers=fan["headers"], json={})
    assert (progress(api, fan)["share"]["progress"], progress(api, fan)["share"]["completed"]) == (2, True)


def test_gift_mission_through_the_gifts_api_and_coupon_reward(api: httpx.Client, admin: dict[str, Any],
                                                              make_user: Factory, started_live: Callable[..., int],
                                                              db_run: Any) -> None:
    create(api, admin, event_body("community-fest", mission("gift", 2, "coupon", reward_percent_bps=1000)))
    host, fan = make_user(), make_user()
    live_id = started_live(host)
    buy_coins(api, fan)
    same = key()
    for _ in range(2):  # the same request replayed with its Idempotency-Key: one gift
        sent = send_gift(api, fan, live_id, "Rose", headers=same)
        assert sent.status_code == 201, sent.text
    assert progress(api, fan)["gift"]["progress"] == 1

    async def replay(session: AsyncSession) -> None:  # the gift's listeners told the same gift again
        tx = await session.scalar(select(MissionAction.action_key))
        assert tx is not None
        await gift_hooks.gift_sent(session, gift_hooks.GiftSent(
            gift_tx_id=int(tx.removeprefix("gift:")), sender_id=fan["user"]["id"], host_id=host["user"]["id"],
            live_id=live_id, gift_id=1, gift_name="Rose", coins=1, value=1, currency="USD", joins_fan_club=False,
            at=datetime.now(UTC)))
    db_run(replay)
    assert progress(api, fan)["gift"]["progress"] == 1
    assert send_gift(api, fan, live_id, "Rose").status_code == 201
    done = progress(api, fan)["gift"]
    assert done["completed"] is True and done["coupon_code"]

    async def coupon(session: AsyncSession) -> tuple[str, int | None, int | None, int]:
        rows = (await session.scalars(select(Coupon))).all()
        assert len(rows) == 1
        c = rows[0]
        return c.kind, c.percent_bps, c.per_user_limit, c.total_limit or 0
    assert db_run(coupon) == ("percent", 1000, 1, 1)
    assert send_gift(api, fan, live_id, "Rose").status_code == 201  # beyond the target: no second coupon
    assert progress(api, fan)["gift"]["progress"] == 2
    assert db_run(coupon)[0] == "percent"


def test_buy_mission_and_credits_granted_once(api: httpx.Client, admin: dict[str, Any],
                                              stocked: Callable[..., dict[str, Any]],
                                              buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    create(api, admin, event_body("community-fest", mission("buy", 1, "credits", reward_amount=500,
                                                            reward_currency="USD")))
    item, shopper = stocked(), buyer()
    created = checkout(api, shopper, items=[{"variant_id": item["variant_id"], "quantity": 1}]).json()
    same = key()
    for _ in range(2):  # the pay request replayed with its Idempotency-Key
        paid = pay(api, shopper, created["id"], headers=same)
        assert paid.status_code == 200, paid.text
    order = paid.json()["orders"][0]
    done = progress(api, shopper)["buy"]
    assert (done["progress"], done["completed"]) == (1, True)

    async def balance(session: AsyncSession) -> int:
        return await credits.balance(session, shopper["user"]["id"], "USD")
    assert db_run(balance) == 500

    async def replay(session: AsyncSession) -> None:  # the paid event told again
        await order_hooks.order_money(session, order_hooks.OrderMoneyEvent(
            kind="paid", order_id=order["id"], shop_id=item["shop"]["id"], buyer_id=shopper["user"]["id"],
            currency="USD", amount=order["total"], at=datetime.now(UTC)))
    db_run(replay)
    assert progress(api, shopper)["buy"]["progress"] == 1
    assert db_run(balance) == 500


def test_watch_minutes_mission(api: httpx.Client, admin: dict[str, Any], make_user: Factory,
                               started_live: Callable[..., int], db_run: Any) -> None:
    create(api, admin, event_body("community-fest", mission("watch_minutes", 3)))
    host, viewer = make_user(), make_user()
    live_id = started_live(host)
    watch(db_run, live_id, viewer, 90)
    watch(db_run, live_id, viewer, 40)  # 130 s: two whole minutes
    assert (progress(api, viewer)["watch_minutes"]["progress"], progress(api, viewer)["watch_minutes"]["completed"]) \
        == (2, False)
    watch(db_run, live_id, viewer, 50)  # 180 s
    assert progress(api, viewer)["watch_minutes"]["completed"] is True


def test_nothing_counts_outside_the_event(api: httpx.Client, admin: dict[str, Any], make_user: Factory,
                                          post_video: Factory, db_run: Any) -> None:
    now = datetime.now(UTC)
    create(api, admin, {**event_body("old-fest", mission("share", 1)),
                        "starts_at": (now - timedelta(days=30)).isoformat(),
                        "ends_at": (now - timedelta(days=1)).isoformat()})
    fan = make_user()
    video = post_video(make_user())
    api.post(f"/api/v1/videos/{video['id']}/shares", headers=fan["headers"], json={})
    assert progress(api, fan, "old-fest")["share"]["progress"] == 0
    assert counts(db_run)[2:] == (0, 0)
    assert api.get("/event-banner").text.strip() == ""


def test_gift_conversion_routes_the_host_share_during_the_event(api: httpx.Client, admin: dict[str, Any],
                                                                db_run: Any) -> None:
    created = create(api, admin, event_body("community-fest", gift_conversion="credits"))
    now = datetime.now(UTC)
    assert _route(db_run, now) == "credits"
    assert _route(db_run, now + timedelta(days=30)) == "diamonds"  # after the event
    api.patch(f"/api/v1/admin/events/{created['id']}", json={"gift_conversion": "commission"},
              headers=admin["headers"])
    assert _route(db_run, now) == "commission"
    banner = api.get("/event-banner")
    assert banner.status_code == 200 and 'data-testid="event-banner"' in banner.text


def _route(db_run: Any, at: datetime) -> str:
    async def go(session: AsyncSession) -> str:
        return str(await gift_hooks.route_host_share(session, 1, at))
    result: str = db_run(go)
    return result


def test_journey_page_and_banner_places(api: httpx.Client, admin: dict[str, Any], make_user: Factory) -> None:
    create(api, admin, event_body("community-fest", mission("comment", 3),
                                  mission("buy", 1, "coupon", reward_amount=500, reward_currency="USD")))
    anonymous = api.get("/events/community-fest")
    assert anonymous.status_code == 200 and 'data-testid="journey-login"' in anonymous.text
    assert anonymous.text.count('data-testid="mission"') == 2
    fan = make_user()
    mine = api.get("/events/community-fest", headers=fan["headers"])
    assert 'data-testid="journey-login"' not in mine.text and "0 of 2 missions completed" in mine.text
    assert api.get("/events/nope").status_code == 404
    for page in ("/", "/live"):
        assert 'hx-get="/event-banner"' in api.get(page).text
    banner = api.get("/event-banner").text
    assert 'href="/events/community-fest"' in banner and "data-dismiss-event" in banner
