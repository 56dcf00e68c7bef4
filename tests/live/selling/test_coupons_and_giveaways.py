"""LIVE coupons (pinned, unlocked by watch time, claimed once, used at checkout), watch time,
giveaways (drawn among present viewers, reproducible from the recorded seed), the room's
snapshot part."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.live.selling import giveaways, watching
from mercato.live.selling.models import Giveaway, LiveCouponClaim
from mercato.live.selling.room_part import room_part
from tests.conftest import run_async
from tests.live.room.conftest import join, until
from tests.live.selling.conftest import announce
from tests.orders.conftest import ADDRESS, checkout


def shop_coupon(api: httpx.Client, item: dict[str, Any], code: str = "LIVE10") -> dict[str, Any]:
    response = api.post(f"/api/v1/shops/{item['shop']['slug']}/coupons", headers=item["host"]["headers"],
                        json={"code": code, "kind": "percent", "percent_bps": 1000})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def watch(db_run: Any, live_id: int, user_id: int, seconds: int) -> int:
    async def write(session: AsyncSession) -> int:
        return await watching.record_watch(session, live_id, user_id, seconds)

    result: int = db_run(write)
    return result


def claims(db_run: Any) -> int:
    async def read(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(LiveCouponClaim))).scalar_one())

    result: int = db_run(read)
    return result


def test_record_watch_adds_up_and_ignores_nonsense(live_shop: Callable[..., dict[str, Any]],
                                                    buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = live_shop()
    viewer = buyer()["user"]["id"]
    assert watch(db_run, item["live_id"], viewer, 60) == 60
    assert watch(db_run, item["live_id"], viewer, 45) == 105
    assert watch(db_run, item["live_id"], viewer, 0) == 105
    assert watch(db_run, item["live_id"], viewer, -500) == 105
    assert watch(db_run, item["live_id"], viewer, 10**9) == 105 + watching.MAX_REPORT_SECONDS


def test_a_live_coupon_unlocked_by_watching(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                                            buyer: Callable[..., dict[str, Any]], db_run: Any,
                                            frames: list[tuple[int, dict[str, Any]]]) -> None:
    item = live_shop(price=2000)
    live_id = item["live_id"]
    coupon = shop_coupon(api, item)
    viewer = buyer()
    refused = api.post(f"/api/v1/lives/{live_id}/coupons", headers=viewer["headers"],
                       json={"coupon_id": coupon["id"], "watch_minutes": 2})
    assert refused.status_code == 403 and frames == []
    pinned = api.post(f"/api/v1/lives/{live_id}/coupons", headers=item["host"]["headers"],
                      json={"coupon_id": coupon["id"], "watch_minutes": 2})
    assert pinned.status_code == 201, pinned.text
    assert "code" not in pinned.json()  # the code goes to those who claim it
    assert [(lid, f["type"], f["coupon"]["id"], f["coupon"]["watch_minutes"]) for lid, f in frames] == [
        (live_id, "coupon", coupon["id"], 2)]

    url = f"/api/v1/lives/{live_id}/coupons/{coupon['id']}/claim"
    early = api.post(url, headers=viewer["headers"])
    assert early.status_code == 409 and early.json()["error"]["code"] == "coupon_task_incomplete"
    assert early.json()["error"]["details"] == {"watched_seconds": 0, "required_seconds": 120}
    watch(db_run, live_id, viewer["user"]["id"], 90)
    still = api.post(url, headers=viewer["headers"])
    assert still.status_code == 409 and still.json()["error"]["details"]["watched_seconds"] == 90
    assert claims(db_run) == 0
    watch(db_run, live_id, viewer["user"]["id"], 30)
    claimed = api.post(url, headers=viewer["headers"])
    assert claimed.status_code == 201, claimed.text
    assert (claimed.json()["code"], claimed.json()["claimed"]) == ("LIVE10", True)
    twice = api.post(url, headers=viewer["headers"])
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "coupon_already_claimed"
    assert claims(db_run) == 1

    used = checkout(api, viewer, items=[{"variant_id": item["variant_id"], "quantity": 1}], address=ADDRESS,
                    coupon_codes=["LIVE10"], live_id=live_id)
    assert used.status_code == 201, used.text
    assert used.json()["orders"][0]["seller_discount"] == 200

    frames.clear()
    unpinned = api.delete(f"/api/v1/lives/{live_id}/coupons/{coupon['id']}", headers=item["host"]["headers"])
    assert unpinned.status_code == 204
    assert frames == [(live_id, {"type": "coupon", "coupon": None})]
    gone = api.post(url, headers=buyer()["headers"])
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "coupon_not_pinned"
    other = shop_coupon(api, item, "OTHER5")
    not_pinned = api.post(f"/api/v1/lives/{live_id}/coupons/{other['id']}/claim", headers=viewer["headers"])
    assert not_pinned.status_code == 404 and not_pinned.json()["error"]["code"] == "coupon_not_pinned"


def test_a_coupon_of_another_shop_cannot_be_pinned(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                                                   db_run: Any) -> None:
    item = live_shop()
    other = live_shop()
    theirs = shop_coupon(api, other, "THEIRS")
    refused = api.post(f"/api/v1/lives/{item['live_id']}/coupons", headers=item["host"]["headers"],
                       json={"coupon_id": theirs["id"]})
    assert refused.status_code == 403, refused.text

    async def part(session: AsyncSession) -> dict[str, Any]:
        return await room_part(session, item["live_id"])

    assert db_run(part) == {"flash": None, "coupon": None}


def test_the_room_part_holds_the_deal_and_the_coupon(api: httpx.Client, live_shop: Callable[..., dict[str, Any]],
                                                     db_run: Any) -> None:
    item = live_shop(price=2500)
    deal = announce(api, item["host"], item["live_id"], item["variant_id"]).json()
    coupon = shop_coupon(api, item)
    api.post(f"/api/v1/lives/{item['live_id']}/coupons", headers=item["host"]["headers"],
             json={"coupon_id": coupon["id"]})

    async def part(session: AsyncSession) -> dict[str, Any]:
        return await room_part(session, item["live_id"])

    found = db_run(part)
    assert found["flash"]["id"] == deal["id"] and found["flash"]["state"] == "announced"
    assert found["flash"]["title"] == "Glow Serum"
    assert (found["coupon"]["id"], found["coupon"]["label"], found["coupon"]["watch_minutes"]) == (
        coupon["id"], "10 % off", None)


def test_a_giveaway_is_drawn_among_present_viewers_and_can_be_audited(
        api: httpx.Client, live_shop: Callable[..., dict[str, Any]], buyer: Callable[..., dict[str, Any]],
        db_run: Any) -> None:
    item = live_shop()
    live_id, host = item["live_id"], item["host"]
    made = api.post(f"/api/v1/lives/{live_id}/giveaways", headers=host["headers"],
                    json={"prize": "A year of serum", "winners": 2})
    assert made.status_code == 201, made.text
    giveaway_id = made.json()["id"]
    viewers = [buyer()["user"]["id"] for _ in range(5)]
    absent = viewers.pop()
    present = {*viewers, host["user"]["id"]}

    async def draw(session: AsyncSession) -> dict[str, Any]:
        user = await session.get(User, host["user"]["id"])
        assert user is not None
        drawn = await giveaways.draw(session, user, live_id, giveaway_id, present, datetime.now(UTC),
                                     seed="fixed-seed")
        return giveaways.giveaway_out(drawn)

    drawn = db_run(draw)
    assert drawn["seed"] == "fixed-seed" and drawn["eligible_count"] == 4  # the host cannot win
    assert drawn["winners"] == giveaways.pick("fixed-seed", sorted(viewers), 2)
    assert absent not in drawn["winners"] and host["user"]["id"] not in drawn["winners"]
    audit = api.get(f"/api/v1/lives/{live_id}/giveaways/{giveaway_id}").json()
    assert audit["eligible"] == sorted(viewers) and audit["verified"] is True
    assert audit["rerun_winners"] == drawn["winners"]
    again = api.post(f"/api/v1/lives/{live_id}/giveaways/{giveaway_id}/draw", headers=host["headers"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "giveaway_drawn"
    assert api.get(f"/api/v1/lives/{live_id}/giveaways/{giveaway_id}").json()["winners"] == drawn["winners"]


def test_the_same_seed_draws_the_same_winners() -> None:
    eligible = list(range(1, 500))
    assert giveaways.pick("abc", eligible, 3) == giveaways.pick("abc", list(reversed(eligible)), 3)
    assert giveaways.pick("abc", eligible, 3) != giveaways.pick("abd", eligible, 3)
    assert sorted(giveaways.pick("abc", [4, 2], 5)) == [2, 4]


def test_the_draw_route_asks_the_room_who_is_present(api: httpx.Client, server: str,
                                                     live_shop: Callable[..., dict[str, Any]],
                                                     buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    """Presence is the real room's: viewers are present while their WebSocket is in the room."""
    item = live_shop()
    live_id, host = item["live_id"], item["host"]
    giveaway_id = api.post(f"/api/v1/lives/{live_id}/giveaways", headers=host["headers"],
                           json={"prize": "Tote"}).json()["id"]
    url = f"/api/v1/lives/{live_id}/giveaways/{giveaway_id}/draw"
    viewer, gone = buyer(), buyer()

    async def status(session: AsyncSession) -> str | None:
        found = await session.get(Giveaway, giveaway_id)
        return None if found is None else found.status

    async def scenario() -> None:
        host_ws = await join(server, live_id, host["token"])
        await until(host_ws, "snapshot")
        left = await join(server, live_id, gone["token"])
        await until(left, "snapshot")
        await left.close()  # was here, left before the draw
        async with httpx.AsyncClient(base_url=server) as client:
            empty = await client.post(url, headers=host["headers"])  # only the host: nobody eligible
            assert empty.status_code == 409 and empty.json()["error"]["code"] == "no_eligible_viewers"
            assert (await client.post(url, headers=viewer["headers"])).status_code == 403  # viewers do not draw
            viewer_ws = await join(server, live_id, viewer["token"])
            await until(viewer_ws, "snapshot")
            drawn = await client.post(url, headers=host["headers"])
        assert drawn.status_code == 200, drawn.text
        assert drawn.json()["winners"] == [viewer["user"]["id"]] and drawn.json()["eligible_count"] == 1
        await viewer_ws.close()
        await host_ws.close()

    assert db_run(status) == "announced"
    run_async(scenario())
    assert db_run(status) == "drawn"
