"""The seams of gifts: routers decide where the host's share goes, listeners hear every gift, a
commission share is released after the settlement period, diamonds show on the Earnings page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.live.gifts import hooks
from mercato.live.gifts.hooks import GiftSent, HostShare
from mercato.live.gifts.tasks import release_commissions
from tests.live.gifts.test_gifts_api import balances, buy, gift_id, key

heard: list[GiftSent] = []
route: list[HostShare | None] = [None]


async def router(db: AsyncSession, host_id: int, at: datetime) -> HostShare | None:
    return route[0]


async def listener(db: AsyncSession, gift: GiftSent) -> None:
    heard.append(gift)


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    hooks.register_gift_router(router)
    hooks.register_gift_listener(listener)
    heard.clear()
    yield
    hooks.unregister_gift_router(router)
    hooks.unregister_gift_listener(listener)
    route[0] = None


def send(api: httpx.Client, viewer: dict[str, Any], live_id: int, name: str, quantity: int) -> httpx.Response:
    return api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": gift_id(api, name), "quantity": quantity},
                    headers={**viewer["headers"], **key()})


def test_routes_and_listeners(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                              make_host: Callable[..., dict[str, Any]], make_live: Callable[..., int],
                              db_run: Callable[..., Any], settings: Settings) -> None:
    host = make_host()
    live_id = make_live(host)
    viewer = make_user()
    buy(api, viewer, "coins_330")  # 330 coins for 499: 10 coins are worth 499 − ⌊320 × 499 / 330⌋ = 16
    hid = host["user"]["id"]
    route[0] = "credits"
    assert send(api, viewer, live_id, "Finger Heart", 1).json()["route"] == "credits"
    assert balances(db_run)[f"user:{hid}:credits:USD"] == -8
    route[0] = "commission"
    assert send(api, viewer, live_id, "Finger Heart", 1).json()["route"] == "commission"
    assert balances(db_run)[f"creator:{hid}:pending:USD"] == -7  # 320 → 310 coins: 483 − 468 = 15
    route[0] = None
    assert send(api, viewer, live_id, "Fan Club", 2).json()["route"] == "diamonds"
    assert [(g.gift_name, g.coins, g.quantity, g.joins_fan_club, g.sender_id, g.host_id) for g in heard] == [
        ("Finger Heart", 10, 1, False, viewer["user"]["id"], hid), ("Finger Heart", 10, 1, False,
                                                                    viewer["user"]["id"], hid),
        ("Fan Club", 2, 2, True, viewer["user"]["id"], hid)]
    assert [g.value for g in heard] == [16, 15, 3]

    async def release(db: AsyncSession) -> int:
        return await release_commissions(db, settings, datetime.now(UTC) + timedelta(days=settings.settlement_days,
                                                                                     seconds=1))
    assert db_run(release) == 1
    assert db_run(release) == 0
    after = balances(db_run)
    assert after.get(f"creator:{hid}:pending:USD", 0) == 0
    assert after[f"creator:{hid}:available:USD"] == -(7 + 1)  # the commission and the Fan Club gifts' share
    earnings = api.get("/api/v1/creators/me/earnings", headers=host["headers"]).json()
    section = next(s for s in earnings["sections"] if s["key"] == "diamonds_by_live")
    assert section["title"] == "Diamonds by LIVE"
    assert section["rows"] == [["Room test", "2", "$0.01"]]
