"""Coins and gifts through the HTTP API of the real test server (docs/gifts.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.ledger.models import LedgerAccount, LedgerEntry
from mercato.live.gifts.models import CoinEntry, CoinPurchase, CoinWallet, GiftSend
from mercato.live.gifts.service import lot_value
from tests.live.room.conftest import join, recv, until

NEXT_YEAR = datetime.now(UTC).year + 1
CARD = {"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123", "name": "Ada"}
MINOR_DOB = f"{datetime.now(UTC).year - 17}-01-01"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def buy(api: httpx.Client, user: dict[str, Any], pack: str = "coins_65") -> dict[str, Any]:
    started = api.post("/api/v1/coins/purchases", json={"pack": pack}, headers={**user["headers"], **key()})
    assert started.status_code == 201, started.text
    paid = api.post(f"/api/v1/payments/{started.json()['payment_intent_id']}/confirm", json=CARD,
                    headers={**user["headers"], **key()})
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "succeeded"
    body: dict[str, Any] = started.json()
    return body


def gift_id(api: httpx.Client, name: str) -> int:
    return int(next(g["id"] for g in api.get("/api/v1/gifts").json() if g["name"] == name))


def balances(db_run: Callable[..., Any]) -> dict[str, int]:
    async def go(db: AsyncSession) -> dict[str, int]:
        rows = (await db.execute(select(LedgerAccount.code, func.sum(LedgerEntry.amount))
                                 .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
                                 .group_by(LedgerAccount.code))).all()
        return {str(code): int(total) for code, total in rows}
    result: dict[str, int] = db_run(go)
    return result


def wallet_rows(db_run: Callable[..., Any]) -> dict[int, int]:
    async def go(db: AsyncSession) -> dict[int, int]:
        return {int(u): int(c) for u, c in (await db.execute(select(CoinWallet.user_id, CoinWallet.coins))).all()}
    result: dict[int, int] = db_run(go)
    return result


def assert_identity(db_run: Callable[..., Any]) -> None:
    """R9: money in = coin liability + host shares + gift revenue; trial balance 0; each wallet =
    its lots' coins left, each coin liability = its lots' money left."""
    totals = balances(db_run)
    assert sum(totals.values()) == 0
    cash = totals.get("platform:cash:USD", 0)
    coins = sum(v for k, v in totals.items() if k.startswith("user:") and ":coins:" in k)
    shares = sum(v for k, v in totals.items() if k.startswith("creator:") or ":credits:" in k)
    revenue = totals.get("platform:gift_revenue:USD", 0)
    assert cash == -(coins + shares + revenue)

    async def lots(db: AsyncSession) -> dict[int, tuple[int, int]]:
        rows = (await db.execute(select(CoinPurchase.user_id, func.sum(CoinPurchase.coins_left),
                                        func.sum(CoinPurchase.amount_left))
                                 .where(CoinPurchase.status == "paid").group_by(CoinPurchase.user_id))).all()
        return {int(u): (int(c), int(a)) for u, c, a in rows}
    by_user = db_run(lots)
    for user_id, coins_now in wallet_rows(db_run).items():
        assert by_user.get(user_id, (0, 0))[0] == coins_now
        assert -totals.get(f"user:{user_id}:coins:USD", 0) == by_user.get(user_id, (0, 0))[1]


@pytest.fixture
def room(make_host: Callable[..., dict[str, Any]], make_live: Callable[..., int]) -> tuple[dict[str, Any], int]:
    host = make_host()
    return host, make_live(host)


def test_buy_coins_credits_once_and_posts_the_ledger(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                                     db_run: Callable[..., Any]) -> None:
    viewer = make_user()
    purchase = buy(api, viewer)
    assert (purchase["coins"], purchase["amount"], purchase["status"]) == (65, 99, "pending")
    mine = api.get("/api/v1/coins", headers=viewer["headers"]).json()
    assert (mine["coins"], mine["value"], mine["currency"]) == (65, 99, "USD")
    assert [(i["kind"], i["coins"], i["amount"]) for i in mine["items"]] == [("purchase", 65, 99)]
    totals = balances(db_run)
    assert totals["platform:cash:USD"] == 99
    assert totals[f"user:{viewer['user']['id']}:coins:USD"] == -99
    assert_identity(db_run)


def test_idempotency_key_is_required_to_buy(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                            count_rows: Callable[[Any], int]) -> None:
    viewer = make_user()
    answer = api.post("/api/v1/coins/purchases", json={"pack": "coins_65"}, headers=viewer["headers"])
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "idempotency_key_required"
    assert count_rows(CoinPurchase) == 0


def test_send_gift_splits_value_and_frames_the_room(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                                    room: tuple[dict[str, Any], int], server: str,
                                                    db_run: Callable[..., Any]) -> None:
    host, live_id = room
    viewer, watcher = make_user(), make_user()
    buy(api, viewer)
    star = gift_id(api, "Star")  # 99 coins: more than one pack

    async def watch() -> dict[str, Any]:
        ws = await join(server, live_id, watcher["token"])
        try:
            await recv(ws)  # the room's first frame: the viewer is in
            sent = await asyncio.to_thread(api.post, f"/api/v1/lives/{live_id}/gifts",
                                           json={"gift_id": gift_id(api, "Heart"), "quantity": 3},
                                           headers={**viewer["headers"], **key()})
            assert sent.status_code == 201, sent.text
            return await until(ws, "gift")
        finally:
            await ws.close()

    frame = asyncio.run(watch())
    assert frame["gift"]["name"] == "Heart" and frame["quantity"] == 3 and frame["combo"] == 3
    assert frame["sender"] == {"id": viewer["user"]["id"], "name": viewer["user"]["display_name"]}
    value = 99 - lot_value(50, coins=65, amount=99)  # 15 coins of a 65-coin lot bought for 99
    totals = balances(db_run)
    assert totals[f"creator:{host['user']['id']}:available:USD"] == -(value // 2)
    assert totals["platform:gift_revenue:USD"] == -(value - value // 2)
    again = api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": gift_id(api, "Heart"), "quantity": 1},
                     headers={**viewer["headers"], **key()})
    assert again.json()["combo"] == 4 and again.json()["balance"] == 45
    short = api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": star, "quantity": 1},
                     headers={**viewer["headers"], **key()})
    assert short.status_code == 402
    assert short.json()["error"] == {"code": "insufficient_coins", "message": "This gift needs 99 coins; you have 45.",
                                     "details": {"coins": 45, "needed": 99}}
    assert wallet_rows(db_run)[viewer["user"]["id"]] == 45
    board = api.get(f"/api/v1/lives/{live_id}/gifts/leaderboard").json()
    assert board == [{"rank": 1, "user_id": viewer["user"]["id"], "display_name": viewer["user"]["display_name"],
                      "coins": 20, "gifts": 4}]
    assert api.get(f"/api/v1/creators/{host['user']['id']}/gifts/leaderboard").json() == board
    diamonds = api.get("/api/v1/creators/me/diamonds", headers=host["headers"]).json()
    assert (diamonds["diamonds"], diamonds["gifts"]) == (20, 2)
    assert diamonds["value"] == -balances(db_run)[f"creator:{host['user']['id']}:available:USD"]
    assert_identity(db_run)


def test_refund_gives_back_only_unspent_coins(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                              room: tuple[dict[str, Any], int], db_run: Callable[..., Any]) -> None:
    _, live_id = room
    viewer = make_user()
    first = buy(api, viewer)
    second = buy(api, viewer)
    sent = api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": gift_id(api, "Rose"), "quantity": 65},
                    headers={**viewer["headers"], **key()})
    assert sent.status_code == 201  # the whole first lot (FIFO)
    spent = api.post(f"/api/v1/coins/purchases/{first['id']}/refund", headers={**viewer["headers"], **key()})
    assert spent.status_code == 409 and spent.json()["error"]["code"] == "coin_purchase_not_refundable"
    refunded = api.post(f"/api/v1/coins/purchases/{second['id']}/refund", headers={**viewer["headers"], **key()})
    assert refunded.status_code == 200, refunded.text
    assert (refunded.json()["status"], refunded.json()["refunded_coins"], refunded.json()["refunded_amount"]) == \
        ("refunded", 65, 99)
    assert wallet_rows(db_run)[viewer["user"]["id"]] == 0
    assert balances(db_run)["platform:cash:USD"] == 99
    assert_identity(db_run)


def test_gifts_are_refused_when_the_state_does_not_allow(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                                         room: tuple[dict[str, Any], int],
                                                         make_live: Callable[..., int],
                                                         count_rows: Callable[[Any], int]) -> None:
    host, live_id = room
    viewer = make_user()
    buy(api, viewer)
    rose = gift_id(api, "Rose")
    own = api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": rose}, headers={**host["headers"], **key()})
    assert own.status_code == 409 and own.json()["error"]["code"] == "cannot_gift_yourself"
    ended = make_live(host, status="ended")
    off = api.post(f"/api/v1/lives/{ended}/gifts", json={"gift_id": rose}, headers={**viewer["headers"], **key()})
    assert off.status_code == 409 and off.json()["error"]["code"] == "live_not_on_air"
    too_many = api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": rose, "quantity": 100},
                        headers={**viewer["headers"], **key()})
    assert too_many.status_code == 422
    assert count_rows(GiftSend) == 0 and count_rows(CoinEntry) == 1


def test_minors_cannot_buy_send_or_receive(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                           room: tuple[dict[str, Any], int], make_live: Callable[..., int],
                                           db_run: Callable[..., Any], count_rows: Callable[[Any], int]) -> None:
    """R10: a 17-year-old gets 403 age_restricted for each, nothing changed."""
    _, live_id = room
    minor = make_user(dob=MINOR_DOB)
    adult = make_user()
    buy(api, adult)
    before = (count_rows(CoinPurchase), count_rows(GiftSend), count_rows(LedgerEntry), wallet_rows(db_run))
    buying = api.post("/api/v1/coins/purchases", json={"pack": "coins_65"}, headers={**minor["headers"], **key()})
    sending = api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": gift_id(api, "Rose")},
                       headers={**minor["headers"], **key()})
    minor_live = make_live(minor)
    receiving = api.post(f"/api/v1/lives/{minor_live}/gifts", json={"gift_id": gift_id(api, "Rose")},
                         headers={**adult["headers"], **key()})
    for answer in (buying, sending, receiving):
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "age_restricted"
    assert (count_rows(CoinPurchase), count_rows(GiftSend), count_rows(LedgerEntry), wallet_rows(db_run)) == before


def test_concurrent_gifts_over_the_balance(server: str, api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                           room: tuple[dict[str, Any], int], db_run: Callable[..., Any]) -> None:
    """Two gifts of 40 coins against 65: exactly one succeeds, the other 402, the balance never < 0."""
    _, live_id = room
    viewer = make_user()
    buy(api, viewer)
    heart = gift_id(api, "Heart")

    async def both() -> list[int]:
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            answers = await asyncio.gather(*(client.post(
                f"/api/v1/lives/{live_id}/gifts", json={"gift_id": heart, "quantity": 8},
                headers={**viewer["headers"], **key()}) for _ in range(2)))
        return sorted(a.status_code for a in answers)

    assert asyncio.run(both()) == [201, 402]
    assert wallet_rows(db_run)[viewer["user"]["id"]] == 25
    assert_identity(db_run)


def test_an_operator_edit_reaches_the_send_path_at_once(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                                        room: tuple[dict[str, Any], int],
                                                        db_run: Callable[..., Any]) -> None:
    """The send path reads the catalog from the process's copy: an edit empties it, so a gift just
    deactivated is refused (nothing changed) and a new price applies to the next send."""
    _, live_id = room
    operator, viewer = make_user(), make_user()

    async def promote(db: AsyncSession) -> None:
        from mercato.accounts.models import User  # lint: local-import (test set-up)
        found = await db.get(User, operator["user"]["id"])
        assert found is not None
        found.is_admin = True
    db_run(promote)
    buy(api, viewer)
    rose = gift_id(api, "Rose")

    def send() -> httpx.Response:
        return api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": rose, "quantity": 1},
                        headers={**viewer["headers"], **key()})

    assert send().json()["balance"] == 64  # the catalog is now in the process's copy
    off = api.patch(f"/api/v1/admin/gifts/{rose}", json={"active": False}, headers=operator["headers"])
    assert off.status_code == 200 and off.json()["active"] is False
    refused = send()
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "gift_not_found"
    assert wallet_rows(db_run)[viewer["user"]["id"]] == 64
    on = api.patch(f"/api/v1/admin/gifts/{rose}", json={"active": True, "coins": 3}, headers=operator["headers"])
    assert on.status_code == 200 and on.json()["coins"] == 3
    sent = send()
    assert sent.status_code == 201 and (sent.json()["coins"], sent.json()["balance"]) == (3, 61)
    assert wallet_rows(db_run)[viewer["user"]["id"]] == 61


def test_operator_catalog(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                          db_run: Callable[..., Any]) -> None:
    operator, viewer = make_user(), make_user()

    async def promote(db: AsyncSession) -> None:
        from mercato.accounts.models import User  # lint: local-import (test set-up)
        found = await db.get(User, operator["user"]["id"])
        assert found is not None
        found.is_admin = True
    db_run(promote)
    names = [g["name"] for g in api.get("/api/v1/gifts").json()]
    assert names == ["Rose", "Fan Club", "Heart", "Finger Heart", "Star", "Galaxy"]
    refused = api.post("/api/v1/admin/gifts", json={"name": "Comet", "coins": 50, "animation": "burst"},
                       headers=viewer["headers"])
    assert refused.status_code == 403
    made = api.post("/api/v1/admin/gifts", json={"name": "Comet", "coins": 50, "animation": "burst"},
                    headers=operator["headers"])
    assert made.status_code == 201 and made.json()["coins"] == 50
    taken = api.post("/api/v1/admin/gifts", json={"name": "Comet", "coins": 5, "animation": "burst"},
                     headers=operator["headers"])
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "gift_name_taken"
    off = api.patch(f"/api/v1/admin/gifts/{made.json()['id']}", json={"active": False}, headers=operator["headers"])
    assert off.json()["active"] is False
    assert "Comet" not in [g["name"] for g in api.get("/api/v1/gifts").json()]
    assert json.dumps(api.get("/api/v1/admin/gifts", headers=operator["headers"]).json()).count("Comet") == 1
