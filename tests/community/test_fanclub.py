"""Fan Club: joining by the club's gift (18+), points from gifts, watching and chat, levels,
the lapse rule, fans-only chat and the fan badge on chat frames (real WebSocket clients)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import get_settings
from mercato.kit.errors import Forbidden
from mercato.live.fanclub import service
from mercato.live.fanclub.models import FanMembership
from tests.community.conftest import buy_coins, gift, send_gift, watch
from tests.live.room.conftest import join, recv, say, until

Factory = Callable[..., dict[str, Any]]


def club(api: httpx.Client, who: dict[str, Any], host: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/api/v1/creators/{host['user']['id']}/fan-club", headers=who["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def members(db_run: Any) -> list[tuple[int, int, str, int, int]]:
    async def read(session: AsyncSession) -> list[tuple[int, int, str, int, int]]:
        rows = await session.execute(select(FanMembership.host_id, FanMembership.user_id, FanMembership.status,
                                            FanMembership.points, FanMembership.level)
                                     .order_by(FanMembership.host_id, FanMembership.user_id))
        return [(a, b, c, d, e) for a, b, c, d, e in rows.all()]
    result: list[tuple[int, int, str, int, int]] = db_run(read)
    return result


def test_levels_from_thresholds() -> None:
    thresholds = [0, 50, 150, 400, 800, 1500, 3000, 6000, 12000, 25000]
    assert [service.level_for(p, thresholds) for p in (0, 49, 50, 149, 150, 24999, 25000, 10**9)] == \
        [1, 1, 2, 2, 3, 9, 10, 10]
    assert service.next_level_points(1, thresholds) == 50
    assert service.next_level_points(10, thresholds) is None


def test_club_gift_joins_and_gift_points_raise_the_level(api: httpx.Client, make_user: Factory,
                                                          started_live: Callable[..., int], db_run: Any) -> None:
    host, fan, other = make_user(), make_user(), make_user()
    live_id = started_live(host)
    assert club(api, fan, host) == {"creator_id": host["user"]["id"], "member": False, "status": None, "level": None,
                                    "points": 0, "joined_at": None, "next_level_points": None}
    gift(db_run, sender=other, host=host, live_id=live_id, coins=500)  # not the club's gift: joins nothing
    assert members(db_run) == []
    gift(db_run, sender=fan, host=host, live_id=live_id, coins=10, joins=True)
    body = club(api, fan, host)
    assert (body["member"], body["status"], body["level"], body["points"], body["next_level_points"]) == \
        (True, "active", 1, 10, 50)
    gift(db_run, sender=fan, host=host, live_id=live_id, coins=45)
    body = club(api, fan, host)
    assert (body["level"], body["points"], body["next_level_points"]) == (2, 55, 150)
    fans = api.get("/api/v1/creators/me/fans", headers=host["headers"])
    assert fans.status_code == 200
    listed = fans.json()
    assert listed["total"] == 1 and listed["next_cursor"] is None
    assert [(f["user"]["id"], f["level"], f["points"]) for f in listed["items"]] == [(fan["user"]["id"], 2, 55)]
    assert api.get("/api/v1/creators/999999/fan-club", headers=fan["headers"]).json()["error"]["code"] == \
        "creator_not_found"
    assert api.get(f"/api/v1/creators/{host['user']['id']}/fan-club").status_code == 401


def test_a_minor_cannot_join(make_user: Factory, started_live: Callable[..., int], db_run: Any) -> None:
    host, minor = make_user(), make_user(dob=f"{datetime.now(UTC).year - 17}-01-01")
    live_id = started_live(host)
    with pytest.raises(Forbidden) as refused:
        gift(db_run, sender=minor, host=host, live_id=live_id, coins=10, joins=True)
    assert refused.value.code == "age_restricted"
    assert members(db_run) == []


def test_watch_points_are_capped_per_live(api: httpx.Client, make_user: Factory, started_live: Callable[..., int],
                                          db_run: Any) -> None:
    host, fan, stranger = make_user(), make_user(), make_user()
    first, second = started_live(host), started_live(host)
    gift(db_run, sender=fan, host=host, live_id=first, coins=1, joins=True)
    watch(db_run, first, fan, 90)  # one whole minute
    watch(db_run, first, stranger, 600)  # not a member: nothing
    assert club(api, fan, host)["points"] == 1 + 1
    watch(db_run, first, fan, 30)  # 120 s in all: a second minute
    assert club(api, fan, host)["points"] == 1 + 2
    watch(db_run, first, fan, 100_000)  # capped at 60 points in this LIVE
    assert club(api, fan, host)["points"] == 1 + 60
    watch(db_run, second, fan, 120)  # another LIVE has its own cap
    assert club(api, fan, host)["points"] == 1 + 60 + 2
    assert [m[1] for m in members(db_run)] == [fan["user"]["id"]]


def test_lapse_after_a_live_without_points(make_user: Factory, started_live: Callable[..., int],
                                           db_run: Any) -> None:
    host, idle, active, fresh = make_user(), make_user(), make_user(), make_user()
    now = datetime.now(UTC)
    old_live = started_live(host, started_at=now - timedelta(days=20))
    for fan in (idle, active, fresh):
        gift(db_run, sender=fan, host=host, live_id=old_live, coins=1, joins=True)

    async def age(session: AsyncSession) -> None:
        for fan, last in ((idle, now - timedelta(days=10)), (active, now - timedelta(days=1)),
                          (fresh, now - timedelta(days=5))):
            await session.execute(update(FanMembership).where(FanMembership.user_id == fan["user"]["id"])
                                  .values(last_points_at=last, joined_at=last))
    db_run(age)
    started_live(host, started_at=now - timedelta(days=8))  # idle earned nothing since: lapses
    started_live(make_user(), started_at=now - timedelta(days=9))  # another host's LIVE counts for nobody here

    async def run(session: AsyncSession) -> int:
        return await service.lapse(session, get_settings(), now)
    assert db_run(run) == 1
    statuses = {m[1]: m[2] for m in members(db_run)}
    # fresh joined after that LIVE; active earned points after it
    assert statuses == {idle["user"]["id"]: "lapsed", active["user"]["id"]: "active", fresh["user"]["id"]: "active"}
    assert db_run(run) == 0  # nobody lapses twice
    # a LIVE of 3 days ago is within the 7 days: nobody else lapses yet
    started_live(host, started_at=now - timedelta(days=3))
    assert db_run(run) == 0
    # a lapsed member earns nothing, and rejoins with the club's gift, keeping their points
    gift(db_run, sender=idle, host=host, live_id=old_live, coins=5)
    assert {m[1]: (m[2], m[3]) for m in members(db_run)}[idle["user"]["id"]] == ("lapsed", 1)
    gift(db_run, sender=idle, host=host, live_id=old_live, coins=5, joins=True)
    assert {m[1]: (m[2], m[3]) for m in members(db_run)}[idle["user"]["id"]] == ("active", 6)


async def settled(ws: Any) -> None:
    """Ping and wait for the pong: the member's earlier frames were handled (chat listeners
    included: the room handles one frame of a member after the other)."""
    await ws.send(json.dumps({"type": "ping"}))
    await until(ws, "pong")


def test_fans_only_chat_badges_and_comment_points(server: str, api: httpx.Client, make_user: Factory,
                                                   started_live: Callable[..., int], db_run: Any) -> None:
    host, fan, stranger = make_user(), make_user(), make_user()
    live_id = started_live(host)
    gift(db_run, sender=fan, host=host, live_id=live_id, coins=60, joins=True)  # 60 points: level 2
    base = f"/api/v1/lives/{live_id}"

    async def go() -> None:
        http = httpx.AsyncClient(base_url=server, timeout=60)
        f, s, h = (await join(server, live_id, fan["token"]), await join(server, live_id, stranger["token"]),
                   await join(server, live_id, host["token"]))
        snapshot = await recv(s)
        assert snapshot["settings"]["fans_only"] is False
        for ws in (f, h):
            await recv(ws)
        # the badge rides on the chat frame
        await say(f, "hello from a fan")
        frame = await until(s, "chat")
        assert frame["user"]["fan_level"] == 2 and frame["user"]["badges"] == []
        await say(s, "hello from a stranger")
        frame = await until(f, "chat", text="hello from a stranger")
        assert "fan_level" not in frame["user"]
        # the host switches fans-only chat on
        r = await http.patch(f"{base}/room", headers=stranger["headers"], json={"fans_only": True})
        assert r.status_code == 403
        r = await http.patch(f"{base}/room", headers=host["headers"],
                             json={"fans_only": True, "slow_mode_seconds": 300})
        assert r.status_code == 200 and r.json()["fans_only"] is True
        notice = await until(s, "system", kind="settings")
        assert notice["settings"]["fans_only"] is True
        await say(s, "let me in")
        error = await until(s, "error")
        assert error["code"] == "fans_only"
        await settled(s)  # the connection stays open
        await say(f, "fans only here")
        assert (await until(s, "chat"))["text"] == "fans only here"
        await say(h, "the host still talks")
        assert (await until(s, "chat"))["text"] == "the host still talks"
        await settled(f)
        await http.patch(f"{base}/room", headers=host["headers"], json={"fans_only": False})
        await until(s, "system", kind="settings")
        await say(s, "open again")  # the refused message did not use up the stranger's slow-mode turn
        assert (await until(f, "chat"))["text"] == "open again"
        for ws in (f, s, h):
            await ws.close()
        await http.aclose()

    asyncio.run(go())
    # two accepted messages of the fan: two comment points; the refused stranger earned nothing
    assert club(api, fan, host)["points"] == 60 + 2
    assert [m[1] for m in members(db_run)] == [fan["user"]["id"]]


def test_comment_points_are_capped_per_day(make_user: Factory, started_live: Callable[..., int],
                                           db_run: Any, api: httpx.Client) -> None:
    host, fan = make_user(), make_user()
    live_id = started_live(host)
    gift(db_run, sender=fan, host=host, live_id=live_id, coins=1, joins=True)
    now = datetime.now(UTC)
    cap = get_settings().fan_comment_points_cap_per_day

    async def comments(session: AsyncSession) -> None:
        for _ in range(cap + 5):
            await service.record_comment(session, get_settings(), host_id=host["user"]["id"],
                                         user_id=fan["user"]["id"], at=now)
        await service.record_comment(session, get_settings(), host_id=host["user"]["id"], user_id=fan["user"]["id"],
                                     at=now + timedelta(days=1))
    db_run(comments)
    assert club(api, fan, host)["points"] == 1 + cap + 1


def test_fan_list_sorts_and_pages(api: httpx.Client, make_user: Factory, started_live: Callable[..., int],
                                  db_run: Any, live_server: Any) -> None:
    host = make_user()
    live_id = started_live(host)
    fans = [make_user() for _ in range(3)]
    for coins, fan in zip((30, 200, 5), fans, strict=True):
        gift(db_run, sender=fan, host=host, live_id=live_id, coins=coins, joins=True)
    by_points = api.get("/api/v1/creators/me/fans", headers=host["headers"]).json()
    assert [f["user"]["id"] for f in by_points["items"]] == [fans[1]["user"]["id"], fans[0]["user"]["id"],
                                                             fans[2]["user"]["id"]]
    joined = api.get("/api/v1/creators/me/fans?sort=joined", headers=host["headers"]).json()
    assert {f["user"]["id"] for f in joined["items"]} == {f["user"]["id"] for f in fans}
    bad = api.get("/api/v1/creators/me/fans?sort=shoe_size", headers=host["headers"])
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_sort"
    settings = live_server.app.state.settings
    before = settings.fan_page_size
    settings.fan_page_size = 2
    try:
        first = api.get("/api/v1/creators/me/fans", headers=host["headers"]).json()
        assert len(first["items"]) == 2 and first["total"] == 3 and first["next_cursor"]
        rest = api.get("/api/v1/creators/me/fans", params={"cursor": first["next_cursor"]},
                       headers=host["headers"]).json()
        assert [f["user"]["id"] for f in rest["items"]] == [fans[2]["user"]["id"]] and rest["next_cursor"] is None
    finally:
        settings.fan_page_size = before
    page = api.get("/studio/fans?sort=level", headers=host["headers"])
    assert page.status_code == 200
    assert page.text.count('data-testid="fan-row"') == 3
    assert api.get("/studio/fans", follow_redirects=False).status_code in (302, 303)


def test_joining_through_the_gifts_api_and_a_minor_refused(api: httpx.Client, make_user: Factory,
                                                            started_live: Callable[..., int], db_run: Any) -> None:
    host, fan = make_user(), make_user()
    minor = make_user(dob=f"{datetime.now(UTC).year - 17}-01-01")
    live_id = started_live(host)
    buy_coins(api, fan)
    sent = send_gift(api, fan, live_id, "Rose")
    assert sent.status_code == 201, sent.text
    assert club(api, fan, host)["member"] is False  # a Rose joins nothing
    sent = send_gift(api, fan, live_id, "Fan Club")
    assert sent.status_code == 201, sent.text
    body = club(api, fan, host)
    assert (body["member"], body["level"], body["points"]) == (True, 1, 1)
    sent = send_gift(api, fan, live_id, "Heart", quantity=3)  # 15 coins: 15 points
    assert sent.status_code == 201, sent.text
    assert club(api, fan, host)["points"] == 16
    # R10: a 17-year-old cannot join (gifts are 18+), nothing changes
    refused = send_gift(api, minor, live_id, "Fan Club")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "age_restricted"
    assert club(api, minor, host)["member"] is False
    assert [m[1] for m in members(db_run)] == [fan["user"]["id"]]
