"""LIVE's core API: create (the 201 contract and who may), list and paginate, schedule, edit,
end, reminders, stream keys, clips."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit.security import token_digest
from mercato.live import service
from mercato.live.ingest.server import publish_url
from mercato.live.models import Live, LiveReminder, StreamKey

Maker = Callable[..., dict[str, Any]]


def _count(db_run: Callable[..., Any], model: type[Any]) -> int:
    async def go(db: AsyncSession) -> int:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)

    return int(db_run(go))


def _later(**delta: int) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_create_answers_the_contract_and_the_key_feeds_this_live(
        api: httpx.Client, make_host: Maker, db_run: Callable[..., Any], settings: Settings) -> None:
    host = make_host()
    response = api.post("/api/v1/lives", headers=host["headers"], json={"title": "  Spring   haul  "})
    assert response.status_code == 201, response.text
    body = response.json()
    live_id = body["id"]
    assert body["status"] == "scheduled" and body["title"] == "Spring haul"
    assert body["host"]["id"] == host["user"]["id"]
    prefix = publish_url(settings) + "/"
    assert body["ingest_url"].startswith(prefix) and len(body["ingest_url"]) > len(prefix) + 20
    base = settings.public_base_url.rstrip("/")
    assert body["playback_url"] == f"{base}/live/{live_id}/hls/index.m3u8"
    assert body["room_url"] == f"ws://{base.split('://', 1)[1]}/api/v1/lives/{live_id}/room"
    assert body["replay_url"] is None and body["viewers"] == 0 and body["cover_url"] is None
    key = body["ingest_url"][len(prefix):]

    # The key is shown once: reading the LIVE again never shows it.
    again = api.get(f"/api/v1/lives/{live_id}", headers=host["headers"]).json()
    assert again["ingest_url"] is None and again["ingest_server"] == publish_url(settings)
    assert api.get(f"/api/v1/lives/{live_id}").json()["ingest_server"] is None

    async def check(db: AsyncSession) -> None:
        live = await db.get(Live, live_id)
        assert live is not None and live.publish_key_digest == token_digest(key)  # only the digest is stored
        assert await service.authorize_publish(db, key) is live
        assert await service.authorize_publish(db, key + "x") is None
        await service.end_live(db, live, reason="test")
        assert await service.authorize_publish(db, key) is None  # an ended LIVE takes no publisher

    db_run(check)


def test_who_may_not_create_and_nothing_is_written(api: httpx.Client, make_user: Maker,
                                                    db_run: Callable[..., Any], settings: Settings) -> None:
    minor, newcomer = make_user(dob="2012-01-01"), make_user()

    async def famous_minor(db: AsyncSession) -> None:
        user = await db.get(User, minor["user"]["id"])
        assert user is not None
        user.is_creator, user.followers_count = True, settings.live_host_min_followers * 10

    db_run(famous_minor)
    for who in (minor, newcomer):
        response = api.post("/api/v1/lives", headers=who["headers"], json={"title": "Hi"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_eligible_host"
        key = api.post("/api/v1/lives/stream-key", headers=who["headers"])
        assert key.status_code == 403 and key.json()["error"]["code"] == "not_eligible_host"
    anonymous = api.post("/api/v1/lives", json={"title": "Hi"})
    assert anonymous.status_code == 401
    assert _count(db_run, Live) == 0 and _count(db_run, StreamKey) == 0


def test_a_shop_member_may_host_for_their_shop_only(api: httpx.Client, make_shop: Maker, make_host: Maker,
                                                    db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    response = api.post("/api/v1/lives", headers=shop["owner"]["headers"], json={"title": "Shop live",
                                                                                "shop_id": shop["id"]})
    assert response.status_code == 201 and response.json()["shop_id"] == shop["id"]
    other = make_host()
    refused = api.post("/api/v1/lives", headers=other["headers"], json={"title": "Not mine", "shop_id": shop["id"]})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_your_shop"
    assert _count(db_run, Live) == 1


def test_schedule_is_validated(api: httpx.Client, make_host: Maker, db_run: Callable[..., Any],
                               settings: Settings) -> None:
    host = make_host()
    for when, code in ((_later(minutes=-1), "invalid_schedule"),
                       (_later(days=settings.live_schedule_max_days + 1), "invalid_schedule"),
                       ("2030-01-01T10:00:00", "invalid_schedule"),  # no time zone
                       (1893456000, "validation_error")):  # a number is not a time
        response = api.post("/api/v1/lives", headers=host["headers"], json={"title": "Later", "scheduled_at": when})
        assert response.status_code == 422, when
        assert response.json()["error"]["code"] == code
    for title in ("", "   ", "x" * 121):
        response = api.post("/api/v1/lives", headers=host["headers"], json={"title": title})
        assert response.status_code == 422
    assert _count(db_run, Live) == 0
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    response = api.post("/api/v1/lives", headers=host["headers"],
                        json={"title": "Later", "scheduled_at": at.isoformat()})
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["scheduled_at"]) == at


def test_list_by_status_and_paginate(api: httpx.Client, make_host: Maker, db_run: Callable[..., Any]) -> None:
    host = make_host()
    soon = [api.post("/api/v1/lives", headers=host["headers"],
                     json={"title": f"Soon {n}", "scheduled_at": _later(hours=5 - n)}).json()["id"] for n in range(5)]
    on_air = api.post("/api/v1/lives", headers=host["headers"], json={"title": "Now"}).json()["id"]

    async def start(db: AsyncSession) -> None:
        live = await db.get(Live, on_air)
        assert live is not None
        await service.publisher_started(db, live)

    db_run(start)
    live_now = api.get("/api/v1/lives", params={"status": "live"}).json()
    assert [item["id"] for item in live_now["items"]] == [on_air] and live_now["next_cursor"] is None
    assert live_now["items"][0]["status"] == "live" and live_now["items"][0]["started_at"] is not None

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "scheduled", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/lives", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(soon))  # soonest first
    assert api.get("/api/v1/lives", params={"status": "ended"}).json()["items"] == []
    assert api.get("/api/v1/lives", params={"status": "paused"}).status_code == 422
    bad = api.get("/api/v1/lives", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


def test_edit_and_end_by_host_or_operator_only(api: httpx.Client, make_host: Maker, make_user: Maker,
                                               db_run: Callable[..., Any]) -> None:
    host, stranger, operator = make_host(), make_user(), make_user()

    async def promote(db: AsyncSession) -> None:
        user = await db.get(User, operator["user"]["id"])
        assert user is not None
        user.is_admin = True

    db_run(promote)
    live_id = api.post("/api/v1/lives", headers=host["headers"], json={"title": "First"}).json()["id"]
    other_id = api.post("/api/v1/lives", headers=host["headers"], json={"title": "Second"}).json()["id"]

    refused = api.patch(f"/api/v1/lives/{live_id}", headers=stranger["headers"], json={"title": "Mine now"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "live_not_found"
    refused = api.post(f"/api/v1/lives/{live_id}/end", headers=stranger["headers"])
    assert refused.status_code == 404
    assert api.get(f"/api/v1/lives/{live_id}").json()["title"] == "First"
    assert api.get(f"/api/v1/lives/{live_id}").json()["status"] == "scheduled"

    at = (datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3))
    edited = api.patch(f"/api/v1/lives/{live_id}", headers=host["headers"],
                       json={"title": "Renamed", "scheduled_at": at.isoformat()})
    assert edited.status_code == 200
    assert edited.json()["title"] == "Renamed" and datetime.fromisoformat(edited.json()["scheduled_at"]) == at
    kept = api.patch(f"/api/v1/lives/{live_id}", headers=host["headers"], json={"title": "Again"}).json()
    assert datetime.fromisoformat(kept["scheduled_at"]) == at  # left out: unchanged

    ended = api.post(f"/api/v1/lives/{live_id}/end", headers=host["headers"])
    assert ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["ended_at"]
    by_operator = api.post(f"/api/v1/lives/{other_id}/end", headers=operator["headers"])
    assert by_operator.status_code == 200 and by_operator.json()["status"] == "ended"

    async def reasons(db: AsyncSession) -> list[str | None]:
        return [(await db.get(Live, i)).ended_reason for i in (live_id, other_id)]  # type: ignore[union-attr]

    assert db_run(reasons) == ["host", "operator"]
    late = api.patch(f"/api/v1/lives/{live_id}", headers=host["headers"], json={"title": "Too late"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "live_ended"
    assert api.get(f"/api/v1/lives/{live_id}").json()["title"] == "Again"
    assert api.get("/api/v1/lives/999999").status_code == 404


def test_reminders(api: httpx.Client, make_host: Maker, make_user: Maker, db_run: Callable[..., Any]) -> None:
    host, fan = make_host(), make_user()
    live_id = api.post("/api/v1/lives", headers=host["headers"],
                       json={"title": "Later", "scheduled_at": _later(hours=1)}).json()["id"]
    for _ in range(2):  # idempotent
        response = api.put(f"/api/v1/lives/{live_id}/reminder", headers=fan["headers"])
        assert response.status_code == 200 and response.json() == {"live_id": live_id, "reminded": True}
    body = api.get(f"/api/v1/lives/{live_id}", headers=fan["headers"]).json()
    assert body["reminded"] is True and body["reminders"] == 1
    assert api.get(f"/api/v1/lives/{live_id}").json()["reminded"] is False
    assert api.delete(f"/api/v1/lives/{live_id}/reminder", headers=fan["headers"]).json()["reminded"] is False
    assert _count(db_run, LiveReminder) == 0
    assert api.put(f"/api/v1/lives/{live_id}/reminder").status_code == 401

    api.post(f"/api/v1/lives/{live_id}/end", headers=host["headers"])
    refused = api.put(f"/api/v1/lives/{live_id}/reminder", headers=fan["headers"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "live_not_scheduled"
    assert _count(db_run, LiveReminder) == 0


def test_stream_key_rotation_over_http(api: httpx.Client, make_host: Maker, db_run: Callable[..., Any],
                                       settings: Settings) -> None:
    host = make_host()
    first = api.post("/api/v1/lives/stream-key", headers=host["headers"]).json()
    assert first["server_url"] == publish_url(settings)
    assert first["ingest_url"] == f"{publish_url(settings)}/{first['stream_key']}"
    assert first["key_hint"] == first["stream_key"][-4:]
    second = api.post("/api/v1/lives/stream-key", headers=host["headers"]).json()
    assert second["stream_key"] != first["stream_key"]
    live_id = api.post("/api/v1/lives", headers=host["headers"], json={"title": "Now"}).json()["id"]

    async def check(db: AsyncSession) -> list[int | None]:
        found = [await service.authorize_publish(db, k) for k in (first["stream_key"], second["stream_key"])]
        return [live.id if live else None for live in found]

    assert db_run(check) == [None, live_id]  # the host's key feeds their LIVE; the old one is revoked


def test_clips_are_checked_before_anything_is_cut(api: httpx.Client, make_host: Maker, make_user: Maker,
                                                  db_run: Callable[..., Any]) -> None:
    host, stranger = make_host(), make_user()
    live_id = api.post("/api/v1/lives", headers=host["headers"], json={"title": "Clip me"}).json()["id"]
    clip = {"start_ms": 0, "end_ms": 5000, "caption": "Best bit"}
    not_ended = api.post(f"/api/v1/lives/{live_id}/clips", headers=host["headers"], json=clip)
    assert not_ended.status_code == 409 and not_ended.json()["error"]["code"] == "live_not_ended"

    async def ten_minutes(db: AsyncSession) -> None:
        live = await db.get(Live, live_id)
        assert live is not None
        now = datetime.now(UTC)
        live.status, live.started_at, live.ended_at = "ended", now - timedelta(minutes=10), now

    db_run(ten_minutes)
    assert api.post(f"/api/v1/lives/{live_id}/clips", headers=stranger["headers"], json=clip).status_code == 404
    assert api.post(f"/api/v1/lives/{live_id}/clips", json=clip).status_code == 401
    for start, end in ((5000, 5000), (6000, 5000), (0, 999), (0, 11 * 60 * 1000), (590_000, 601_000)):
        response = api.post(f"/api/v1/lives/{live_id}/clips", headers=host["headers"],
                            json={"start_ms": start, "end_ms": end})
        assert response.status_code == 422, (start, end)
        assert response.json()["error"]["code"] == "clip_range_invalid"
    assert api.post(f"/api/v1/lives/{live_id}/clips", headers=host["headers"],
                    json={"start_ms": -1, "end_ms": 5000}).status_code == 422
    no_replay = api.post(f"/api/v1/lives/{live_id}/clips", headers=host["headers"], json=clip)
    assert no_replay.status_code == 409 and no_replay.json()["error"]["code"] == "replay_not_ready"
    assert api.get(f"/api/v1/users/{host['user']['id']}/videos").json()["items"] == []


def test_cover_image(api: httpx.Client, make_host: Maker, make_user: Maker, settings: Settings) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 80)).save(buffer, format="PNG")
    host, stranger = make_host(), make_user()
    live_id = api.post("/api/v1/lives", headers=host["headers"], json={"title": "Covered"}).json()["id"]
    files = {"file": ("cover.png", buffer.getvalue(), "image/png")}
    refused = api.post(f"/api/v1/lives/{live_id}/cover", headers=stranger["headers"], files=files)
    assert refused.status_code == 404
    assert api.get(f"/api/v1/lives/{live_id}").json()["cover_url"] is None
    bad = api.post(f"/api/v1/lives/{live_id}/cover", headers=host["headers"],
                   files={"file": ("cover.png", b"not an image", "image/png")})
    assert bad.status_code == 422
    done = api.post(f"/api/v1/lives/{live_id}/cover", headers=host["headers"], files=files)
    assert done.status_code == 200, done.text
    url = done.json()["cover_url"]
    assert url and url.startswith(f"/media/lives/{live_id}/")
    assert api.get(url).status_code == 200
    assert (settings.media_dir / url.removeprefix("/media/")).is_file()
