"""Chat in the room: delivery to every member, who may write, the rules a message must pass."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from tests.conftest import run_async
from tests.live.room.conftest import chats_until, join, recv, say, until


def test_chat_reaches_every_member_verbatim(server: str, make_user: Callable[..., Any],
                                            make_live: Callable[..., int]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)

    async def go() -> None:
        a, b, anon = await join(server, live_id, host["token"]), await join(server, live_id, viewer["token"]), \
            await join(server, live_id)
        first = [await recv(ws) for ws in (a, b, anon)]
        assert [f["type"] for f in first] == ["snapshot"] * 3
        assert first[0]["you"]["role"] == "host" and first[1]["you"]["role"] == "viewer"
        assert first[2]["you"] == {"user": None, "role": "anonymous", "muted_until": None}
        assert first[1]["live"]["id"] == live_id and first[1]["chat"] == []
        text = "<script>alert(1)</script> hi"
        await say(b, "  " + text + "  ")
        for ws in (a, b, anon):
            chat = await until(ws, "chat")
            assert chat["text"] == text  # trimmed, not escaped: clients display it as text
            assert chat["user"]["id"] == viewer["user"]["id"]
            assert chat["user"]["display_name"] == "Viewer" and chat["user"]["badges"] == []
        await say(a, "welcome")
        assert (await until(b, "chat"))["user"]["badges"] == ["host"]
        for ws in (a, b, anon):
            await ws.close()

    run_async(go())


def test_anonymous_and_bad_frames_get_error_frames_and_stay(server: str, make_user: Callable[..., Any],
                                                            make_live: Callable[..., int]) -> None:
    host = make_user("host")
    live_id = make_live(host)

    async def go() -> None:
        anon, h = await join(server, live_id), await join(server, live_id, host["token"])
        await recv(anon), await recv(h)
        await say(anon, "hello")
        assert (await recv(anon))["code"] == "not_authenticated"
        await anon.send("not json")
        assert (await recv(anon))["code"] == "invalid_frame"
        await say(h, "x" * 201)
        assert (await until(h, "error"))["code"] == "text_too_long"
        await say(h, "   ")
        assert (await until(h, "error"))["code"] == "invalid_frame"
        assert await chats_until(anon, h, "fence") == []  # still connected, and nothing was broadcast
        await anon.close(), await h.close()

    run_async(go())


def test_rate_limit_answers_an_error_frame_and_keeps_the_connection(
        server: str, make_user: Callable[..., Any], make_live: Callable[..., int],
        set_rates: Callable[..., None]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)
    set_rates(live_chat="2/minute")

    async def go() -> None:
        v, h = await join(server, live_id, viewer["token"]), await join(server, live_id, host["token"])
        await recv(v), await recv(h)
        await say(v, "one"), await say(v, "two"), await say(v, "three")
        error = await until(v, "error")
        assert error["code"] == "rate_limited" and error["retry_after"] >= 1
        set_rates(live_chat="100/minute")
        assert await chats_until(h, h, "fence") == ["one", "two"]
        await say(v, "four")
        assert (await until(h, "chat"))["text"] == "four"
        await v.close(), await h.close()

    run_async(go())


def test_moderation(server: str, api: httpx.Client, make_user: Callable[..., Any],
                    make_live: Callable[..., int]) -> None:
    host, mod, viewer, other = make_user("host"), make_user("mod"), make_user("viewer"), make_user("other")
    live_id = make_live(host)
    base = f"/api/v1/lives/{live_id}"
    # Only the host appoints; a viewer may not moderate.
    refused = api.put(f"{base}/moderators/{mod['user']['id']}", headers=viewer["headers"])
    assert refused.status_code == 404
    assert api.post(f"{base}/mutes", headers=viewer["headers"],
                    json={"user_id": other["user"]["id"], "minutes": 5}).json()["error"]["code"] == "not_room_staff"
    r = api.put(f"{base}/moderators/{mod['user']['id']}", headers=host["headers"])
    assert r.status_code == 200 and r.json() == {"moderators": [mod["user"]["id"]]}
    # A moderator cannot mute the host.
    r = api.post(f"{base}/mutes", headers=mod["headers"], json={"user_id": host["user"]["id"], "minutes": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "cannot_moderate"

    async def go() -> None:
        http = httpx.AsyncClient(base_url=server, timeout=60)
        v, o, h = (await join(server, live_id, viewer["token"]), await join(server, live_id, other["token"]),
                   await join(server, live_id, host["token"]))
        for ws in (v, o, h):
            await recv(ws)
        # mute
        r = await http.post(f"{base}/mutes", headers=mod["headers"],
                            json={"user_id": viewer["user"]["id"], "minutes": 5})
        assert r.status_code == 201
        notice = await until(v, "system", kind="muted")
        assert notice["user_id"] == viewer["user"]["id"]
        await say(v, "let me talk")
        error = await until(v, "error")
        assert error["code"] == "muted" and 240 <= error["retry_after"] <= 300
        # keyword filter
        r = await http.patch(f"{base}/room", headers=host["headers"], json={"keywords": ["Spam"]})
        assert r.status_code == 200 and r.json()["keywords"] == ["spam"]
        await until(o, "system", kind="settings")
        await say(o, "buy SPAM here")
        assert (await until(o, "error"))["code"] == "keyword_blocked"
        # slow mode (the host is exempt)
        await http.patch(f"{base}/room", headers=mod["headers"], json={"slow_mode_seconds": 300, "keywords": []})
        await until(o, "system", kind="settings")
        await say(o, "first")
        assert (await until(o, "chat"))["text"] == "first"
        await say(o, "second")
        error = await until(o, "error")
        assert error["code"] == "slow_mode" and 1 <= error["retry_after"] <= 300
        # comments off
        await http.patch(f"{base}/room", headers=host["headers"], json={"comments": "off", "slow_mode_seconds": 0})
        await until(o, "system", kind="settings")
        await say(o, "anyone?")
        assert (await until(o, "error"))["code"] == "comments_off"
        await say(h, "host still talks")
        assert (await until(o, "chat"))["text"] == "host still talks"
        # none of the refused messages reached anyone
        assert await chats_until(v, h, "fence") == ["first", "host still talks"]
        # ban: kicked, and cannot rejoin
        r = await http.post(f"{base}/bans", headers=host["headers"], json={"user_id": other["user"]["id"]})
        assert r.status_code == 201
        assert (await until(o, "error"))["code"] == "banned"
        await asyncio.wait_for(o.wait_closed(), 10)
        assert o.close_code == 1008
        again = await join(server, live_id, other["token"])
        assert (await recv(again))["code"] == "banned"
        await asyncio.wait_for(again.wait_closed(), 10)
        assert again.close_code == 1008
        for ws in (v, h):
            await ws.close()
        await http.aclose()

    run_async(go())


def test_reconnect_gets_snapshot_with_recent_chat(server: str, make_user: Callable[..., Any],
                                                  make_live: Callable[..., int]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)

    async def go() -> None:
        h = await join(server, live_id, host["token"])
        await recv(h)
        for text in ("a", "b", "c"):
            await say(h, text)
            await until(h, "chat", text=text)
        v = await join(server, live_id, viewer["token"])
        snapshot = await recv(v)
        assert [c["text"] for c in snapshot["chat"]] == ["a", "b", "c"]
        await v.close()
        await say(h, "d")
        await until(h, "chat", text="d")
        v = await join(server, live_id, viewer["token"])
        snapshot = await recv(v)
        assert [c["text"] for c in snapshot["chat"]] == ["a", "b", "c", "d"]
        assert snapshot["viewers"] >= 1
        await v.close(), await h.close()

    run_async(go())


def test_unknown_live_and_foreign_origin_are_refused(server: str, make_user: Callable[..., Any],
                                                     make_live: Callable[..., int]) -> None:
    host = make_user("host")
    live_id = make_live(host)

    async def go() -> None:
        ws = await join(server, live_id + 1000)
        assert (await recv(ws))["code"] == "live_not_found"
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 1008
        ws = await join(server, live_id, Cookie=f"mercato_session={host['token']}", Origin="https://evil.example")
        assert (await recv(ws))["code"] == "forbidden_origin"
        await asyncio.wait_for(ws.wait_closed(), 10)
        host_port = server.removeprefix("http://")
        ws = await join(server, live_id, Cookie=f"mercato_session={host['token']}", Origin=f"http://{host_port}")
        assert (await recv(ws))["you"]["role"] == "host"
        await ws.close()
        ws = await join(server, live_id, token="not-a-token")
        assert (await recv(ws))["code"] == "invalid_session"
        await ws.close()

    run_async(go())


def test_likes_are_aggregated_into_bursts(server: str, make_user: Callable[..., Any],
                                          make_live: Callable[..., int]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)

    async def go() -> None:
        v, h = await join(server, live_id, viewer["token"]), await join(server, live_id, host["token"])
        await recv(v), await recv(h)
        for _ in range(10):
            await v.send(json.dumps({"type": "like", "count": 3}))
        total, bursts = 0, 0
        while total < 30:
            frame = await until(h, "likes")
            bursts += 1
            total = frame["total"]
        assert total == 30 and bursts < 10
        await v.send(json.dumps({"type": "like", "count": 51}))
        assert (await until(v, "error"))["code"] == "invalid_frame"
        await v.close(), await h.close()

    run_async(go())


def test_shares_are_counted_for_signed_in_members(server: str, make_user: Callable[..., Any],
                                                  make_live: Callable[..., int]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    live_id = make_live(host)

    async def go() -> None:
        v, anon = await join(server, live_id, viewer["token"]), await join(server, live_id)
        await recv(v), await recv(anon)
        await anon.send(json.dumps({"type": "share"}))
        assert (await until(anon, "error"))["code"] == "not_authenticated"
        await v.send(json.dumps({"type": "share"}))
        await v.send(json.dumps({"type": "share"}))
        assert (await until(anon, "share", total=2))["total"] == 2
        await v.close(), await anon.close()

    run_async(go())
