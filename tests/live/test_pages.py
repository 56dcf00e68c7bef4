"""LIVE's pages over plain HTTP: the LIVE tab (on now, upcoming, empty states, "Remind me"), the
rail on For You, the room and the replay, the console (create with CSRF, the key shown once,
rotate), the notifications page and the bell. Titles are shown as text, never as HTML."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.live import service
from mercato.live.models import Live, LiveReminder

Maker = Callable[..., dict[str, Any]]
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


@pytest.fixture
def cookie_login(server: str) -> Iterator[Callable[[dict[str, Any]], tuple[httpx.Client, str]]]:
    """A browser-like client logged in through the form; returns it and its CSRF token."""
    clients: list[httpx.Client] = []

    def go(who: dict[str, Any]) -> tuple[httpx.Client, str]:
        client = httpx.Client(base_url=server, timeout=60)
        clients.append(client)
        token = _csrf(client.get("/login").text)
        done = client.post("/login", data={"email": who["user"]["email"], "password": who["password"],
                                           "csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303, done.text
        return client, token

    yield go
    for client in clients:
        client.close()


def _start(db_run: Callable[..., Any], live_id: int) -> None:
    async def go(db: AsyncSession) -> None:
        live = await db.get(Live, live_id)
        assert live is not None
        await service.publisher_started(db, live)

    db_run(go)


def test_tab_empty_then_on_air_and_upcoming(api: httpx.Client, make_host: Maker, db_run: Callable[..., Any]) -> None:
    empty = api.get("/live")
    assert empty.status_code == 200
    assert 'data-testid="live-now-empty"' in empty.text and "Nothing scheduled yet" in empty.text
    assert api.get("/live/rail").text.strip() == ""

    host = make_host()
    on_air = api.post("/api/v1/lives", headers=host["headers"], json={"title": XSS}).json()["id"]
    later = api.post("/api/v1/lives", headers=host["headers"],
                     json={"title": "Tomorrow's drop",
                           "scheduled_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}).json()["id"]
    _start(db_run, on_air)
    page = api.get("/live").text
    assert f'data-live-id="{on_air}"' in page and f'data-live-id="{later}"' in page
    assert XSS not in page and XSS_ESCAPED in page
    assert "Tomorrow&#39;s drop" in page and "Log in to get a reminder" in page
    assert 'data-testid="live-now-empty"' not in page
    rail = api.get("/live/rail").text
    assert f'href="/live/{on_air}"' in rail and XSS not in rail
    assert 'hx-get="/live/rail"' in api.get("/").text


def test_room_and_replay_pages(api: httpx.Client, make_host: Maker, db_run: Callable[..., Any]) -> None:
    host = make_host()
    live_id = api.post("/api/v1/lives", headers=host["headers"], json={"title": XSS}).json()["id"]
    page = api.get(f"/live/{live_id}")
    assert page.status_code == 200
    for testid in ("live-player", "chat-form", "pinned-card", "bag-button", "flash-banner", "like-button"):
        assert f'data-testid="{testid}"' in page.text
    assert XSS not in page.text and XSS_ESCAPED in page.text
    assert "/static/vendor/hls.min.js" in page.text and "has not started yet" in page.text
    assert f'data-playback="/live/{live_id}/hls/index.m3u8"' in page.text
    assert api.get("/live/999999").status_code == 404

    async def ended_with_replay(db: AsyncSession) -> None:
        live = await db.get(Live, live_id)
        assert live is not None
        live.replay_path = f"live/{live_id}/replay.m3u8"
        await service.end_live(db, live, reason="test")

    db_run(ended_with_replay)
    replay = api.get(f"/live/{live_id}").text
    assert f'data-playback="/live/{live_id}/hls/replay.m3u8"' in replay
    assert 'data-status="ended"' in replay and "Replay" in replay and 'data-testid="chat-form"' not in replay


def test_remind_me_button(api: httpx.Client, make_host: Maker, make_user: Maker, db_run: Callable[..., Any],
                          cookie_login: Callable[[dict[str, Any]], tuple[httpx.Client, str]]) -> None:
    host, fan = make_host(), make_user()
    live_id = api.post("/api/v1/lives", headers=host["headers"],
                       json={"title": "Later", "scheduled_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}
                       ).json()["id"]
    client, token = cookie_login(fan)
    assert "Remind me" in client.get("/live").text
    refused = client.post(f"/live/{live_id}/remind", data={"on": "1"})
    assert refused.status_code == 403

    async def count(db: AsyncSession) -> int:
        return int(await db.scalar(select(func.count()).select_from(LiveReminder)) or 0)

    assert db_run(count) == 0
    swapped = client.post(f"/live/{live_id}/remind", data={"on": "1", "csrf_token": token},
                          headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and "Reminder set ✓" in swapped.text and 'value="0"' in swapped.text
    assert db_run(count) == 1
    assert "Reminder set ✓" in client.get("/live").text
    off = client.post(f"/live/{live_id}/remind", data={"on": "0", "csrf_token": token}, follow_redirects=False)
    assert off.status_code == 303 and db_run(count) == 0


def test_console_create_shows_the_key_once_and_rotates(
        api: httpx.Client, make_host: Maker, make_user: Maker, db_run: Callable[..., Any],
        cookie_login: Callable[[dict[str, Any]], tuple[httpx.Client, str]]) -> None:
    newcomer = make_user()
    client, token = cookie_login(newcomer)
    page = client.get("/live/studio")
    assert page.status_code == 200 and 'data-testid="not-eligible"' in page.text
    refused = client.post("/live/studio", data={"title": "Me", "csrf_token": token})
    assert refused.status_code == 403 and "Going LIVE needs" in refused.text

    async def lives(db: AsyncSession) -> int:
        return int(await db.scalar(select(func.count()).select_from(Live)) or 0)

    assert db_run(lives) == 0
    assert api.get("/live/studio", follow_redirects=False).status_code == 303

    host = make_host()
    client, token = cookie_login(host)
    assert client.post("/live/studio", data={"title": "No token"}).status_code == 403
    bad = client.post("/live/studio", data={"title": "Past", "scheduled_at": "2001-01-01T10:00",
                                            "tz_offset": "0", "csrf_token": token})
    assert bad.status_code == 422 and "in the future" in bad.text and 'value="Past"' in bad.text
    assert db_run(lives) == 0
    made = client.post("/live/studio", data={"title": XSS, "scheduled_at": "", "csrf_token": token})
    assert made.status_code == 201
    key = re.search(r'value="(live_[^"]+)"[^>]*data-testid="created-key"', made.text)
    assert key and key.group(1)
    assert XSS not in made.text
    again = client.get("/live/studio").text
    assert key.group(1) not in again  # shown once

    live_id = api.get("/api/v1/lives").json()["items"][0]["id"]
    console = client.get(f"/live/{live_id}/console")
    assert console.status_code == 200 and 'data-testid="console-preview"' in console.text
    assert XSS not in console.text
    other, _ = cookie_login(make_user())
    assert other.get(f"/live/{live_id}/console").status_code == 404
    clip = {"start_ms": 0, "end_ms": 5000}
    no_csrf = client.post(f"/api/v1/lives/{live_id}/clips", json=clip)  # a cookie session needs the header
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    with_csrf = client.post(f"/api/v1/lives/{live_id}/clips", json=clip, headers={"X-CSRF-Token": token})
    assert with_csrf.status_code == 409 and with_csrf.json()["error"]["code"] == "live_not_ended"

    rotated = client.post("/live/studio/stream-key", data={"csrf_token": token})
    assert rotated.status_code == 200
    new_key = re.search(r'value="(live_[^"]+)"[^>]*data-testid="new-key"', rotated.text)
    assert new_key and new_key.group(1) not in client.get("/live/studio").text

    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(picture, format="PNG")
    files = {"file": ("cover.png", picture.getvalue(), "image/png")}
    assert client.post(f"/live/{live_id}/cover", files=files).status_code == 403  # no CSRF field
    assert api.get(f"/api/v1/lives/{live_id}").json()["cover_url"] is None
    covered = client.post(f"/live/{live_id}/cover", files=files, data={"csrf_token": token}, follow_redirects=False)
    assert covered.status_code == 303
    assert api.get(f"/api/v1/lives/{live_id}").json()["cover_url"].startswith(f"/media/lives/{live_id}/")

    ended = client.post(f"/live/{live_id}/end", data={"csrf_token": token}, follow_redirects=False)
    assert ended.status_code == 303
    assert api.get(f"/api/v1/lives/{live_id}").json()["status"] == "ended"


def test_notifications_page_and_bell(api: httpx.Client, make_host: Maker, make_user: Maker,
                                     db_run: Callable[..., Any],
                                     cookie_login: Callable[[dict[str, Any]], tuple[httpx.Client, str]]) -> None:
    host, fan = make_host(), make_user()
    live_id = api.post("/api/v1/lives", headers=host["headers"],
                       json={"title": XSS, "scheduled_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}
                       ).json()["id"]
    api.put(f"/api/v1/lives/{live_id}/reminder", headers=fan["headers"])
    client, token = cookie_login(fan)
    assert client.get("/notifications/badge").text == ""
    assert "Nothing yet" in client.get("/notifications").text
    _start(db_run, live_id)
    assert 'data-testid="bell-count">1<' in client.get("/notifications/badge").text
    assert 'hx-get="/notifications/badge"' in client.get("/live").text
    page = client.get("/notifications").text
    assert f'href="/live/{live_id}"' in page and XSS not in page and XSS_ESCAPED in page
    assert client.post("/notifications/read", data={}).status_code == 403
    assert api.get("/api/v1/notifications", headers=fan["headers"]).json()["unread"] == 1
    done = client.post("/notifications/read", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and client.get("/notifications/badge").text == ""
    assert api.get("/notifications", follow_redirects=False).status_code == 303
