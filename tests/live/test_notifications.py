"""When a LIVE starts, its reminder subscribers and the host's followers get one in-app
notification each (never two, whatever the publisher does); the bell's API and page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.live import service
from mercato.live.models import Live

Maker = Callable[..., dict[str, Any]]


def _start(db_run: Callable[..., Any], live_id: int, *, leave: bool = False) -> None:
    async def go(db: AsyncSession) -> None:
        live = await db.get(Live, live_id)
        assert live is not None
        await service.publisher_started(db, live)
        if leave:
            await service.publisher_left(db, live)

    db_run(go)


def _notes(api: httpx.Client, who: dict[str, Any]) -> dict[str, Any]:
    response = api.get("/api/v1/notifications", headers=who["headers"])
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_subscribers_and_followers_are_notified_once(api: httpx.Client, make_host: Maker, make_user: Maker,
                                                    db_run: Callable[..., Any], settings: Settings) -> None:
    host = make_host("hostess")
    fan, follower, both, bystander = make_user(), make_user(), make_user(), make_user()
    handle = api.patch("/api/v1/me", headers=host["headers"], json={"handle": "hostess"})
    assert handle.status_code == 200
    for who in (follower, both):
        assert api.put("/api/v1/users/hostess/follow", headers=who["headers"]).status_code == 200
    at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    live_id = api.post("/api/v1/lives", headers=host["headers"],
                       json={"title": "Sale <b>now</b>", "scheduled_at": at}).json()["id"]
    for who in (fan, both):
        assert api.put(f"/api/v1/lives/{live_id}/reminder", headers=who["headers"]).status_code == 200
    assert _notes(api, fan) == {"items": [], "next_cursor": None, "unread": 0}

    _start(db_run, live_id, leave=True)
    _start(db_run, live_id)  # a reconnect within the grace
    for who in (fan, follower, both):
        body = _notes(api, who)
        assert body["unread"] == 1 and len(body["items"]) == 1
        item = body["items"][0]
        assert item["kind"] == "live_started" and item["subject_id"] == live_id
        assert item["url"] == f"/live/{live_id}" and item["read"] is False
        assert item["text"] == "Hostess is LIVE now: Sale <b>now</b>"
    assert _notes(api, bystander)["items"] == [] and _notes(api, host)["items"] == []

    # Even a LIVE that went off and on again (status back to scheduled by hand) notifies once.
    async def restart(db: AsyncSession) -> None:
        live = await db.get(Live, live_id)
        assert live is not None
        live.status = "scheduled"
        await service.publisher_started(db, live)

    db_run(restart)
    assert len(_notes(api, fan)["items"]) == 1

    # Read: the page shows it (escaped) and "mark all read" clears the count.
    marked = api.post("/api/v1/notifications/read", headers=fan["headers"], json={})
    assert marked.json() == {"marked": 1, "unread": 0}
    assert _notes(api, fan)["items"][0]["read"] is True
    assert _notes(api, both)["unread"] == 1  # only the caller's


def test_read_only_my_own_and_paginate(api: httpx.Client, make_host: Maker, make_user: Maker,
                                       db_run: Callable[..., Any]) -> None:
    fan, other = make_user(), make_user()
    lives = []
    for n in range(3):
        host = make_host()
        live_id = api.post("/api/v1/lives", headers=host["headers"],
                           json={"title": f"Show {n}",
                                 "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}).json()["id"]
        api.put(f"/api/v1/lives/{live_id}/reminder", headers=fan["headers"])
        api.put(f"/api/v1/lives/{live_id}/reminder", headers=other["headers"])
        _start(db_run, live_id)
        lives.append(live_id)
    first = api.get("/api/v1/notifications", headers=fan["headers"], params={"limit": 2}).json()
    assert [item["subject_id"] for item in first["items"]] == [lives[2], lives[1]] and first["unread"] == 3
    second = api.get("/api/v1/notifications", headers=fan["headers"],
                     params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["subject_id"] for item in second["items"]] == [lives[0]] and second["next_cursor"] is None

    others = [item["id"] for item in _notes(api, other)["items"]]
    refused = api.post("/api/v1/notifications/read", headers=fan["headers"], json={"ids": others})
    assert refused.json() == {"marked": 0, "unread": 3}
    assert _notes(api, other)["unread"] == 3  # nothing changed for its owner
    one = api.post("/api/v1/notifications/read", headers=fan["headers"], json={"ids": [first["items"][0]["id"]]})
    assert one.json() == {"marked": 1, "unread": 2}
    assert api.get("/api/v1/notifications").status_code == 401
    assert api.post("/api/v1/notifications/read", json={}).status_code == 401
