"""Pin and the bag, reports, the operators' page; frames raised by requests reach the room after commit."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
from tests.conftest import run_async
from tests.live.room.conftest import chats_until, join, recv, until

from mercato.kit.db import Database
from mercato.live import broadcast


def test_pin_a_product_of_the_bag(server: str, api: httpx.Client, make_user: Callable[..., Any],
                                  make_shop: Callable[..., Any], make_product: Callable[..., Any],
                                  make_live: Callable[..., int]) -> None:
    host, viewer = make_user("host"), make_user("viewer")
    shop = make_shop(owner=host)
    mine = [make_product(shop, title=f"Mine {i}") for i in range(3)]
    elsewhere = make_product(make_shop(), title="Not in the bag")
    live_id = make_live(host)
    base = f"/api/v1/lives/{live_id}"
    page = api.get(f"{base}/bag").json()
    assert [p["id"] for p in page["items"]] == [p["id"] for p in reversed(mine)] and page["next_cursor"] is None

    async def go() -> None:
        http = httpx.AsyncClient(base_url=server, timeout=60)
        v = await join(server, live_id, viewer["token"])
        assert (await recv(v))["pinned"] is None
        # another shop's product the host has no affiliate plan for (docs/affiliate.md, anchoring permission)
        refused = await http.put(f"{base}/pin", headers=host["headers"], json={"product_id": elsewhere["id"]})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "pin_not_allowed"
        refused = await http.put(f"{base}/pin", headers=viewer["headers"], json={"product_id": mine[0]["id"]})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_room_staff"
        r = await http.put(f"{base}/pin", headers=host["headers"], json={"product_id": mine[0]["id"]})
        assert r.status_code == 200 and r.json()["product"]["id"] == mine[0]["id"]
        frame = await until(v, "pinned")
        assert frame["product"]["id"] == mine[0]["id"] and frame["product"]["title"] == "Mine 0"
        await v.close()
        v = await join(server, live_id, viewer["token"])  # the snapshot shows it too
        snapshot = await recv(v)
        assert snapshot["pinned"]["id"] == mine[0]["id"]
        assert [p["id"] for p in snapshot["bag"]] == [p["id"] for p in reversed(mine)]
        assert (await http.delete(f"{base}/pin", headers=host["headers"])).json() == {"product": None}
        assert (await until(v, "pinned"))["product"] is None
        await v.close()
        await http.aclose()

    run_async(go())


def test_a_refused_request_sends_no_frame(server: str, api: httpx.Client, make_user: Callable[..., Any],
                                          make_shop: Callable[..., Any], make_product: Callable[..., Any],
                                          make_live: Callable[..., int]) -> None:
    host = make_user("host")
    live_id = make_live(host)
    other = make_product(make_shop(), title="Elsewhere")

    async def go() -> None:
        http = httpx.AsyncClient(base_url=server, timeout=60)
        h = await join(server, live_id, host["token"])
        await recv(h)
        refused = await http.put(f"/api/v1/lives/{live_id}/pin", headers=host["headers"],
                                 json={"product_id": other["id"]})
        assert refused.status_code == 403
        refused = await http.post(f"/api/v1/lives/{live_id}/mutes", headers=host["headers"],
                                  json={"user_id": host["user"]["id"], "minutes": 1})
        assert refused.status_code == 409
        seen: list[dict[str, Any]] = []
        await h.send('{"type": "chat", "text": "fence"}')
        while (frame := await recv(h))["type"] != "chat":
            seen.append(frame)
        assert [f for f in seen if f["type"] in ("pinned", "system")] == []
        await h.close()
        await http.aclose()

    run_async(go())


def test_after_commit_frames_reach_members_only_once_committed(
        server: str, clean_db: str, make_user: Callable[..., Any], make_live: Callable[..., int]) -> None:
    host = make_user("host")
    live_id = make_live(host)

    async def go() -> None:
        h = await join(server, live_id, host["token"])
        await recv(h)
        db = Database(clean_db, pool=False)
        try:
            async with db.unit_of_work() as session:
                broadcast.after_commit(session, live_id, {"type": "system", "kind": "notice", "text": "committed"})
                assert await chats_until(h, h, "before commit") == []
                early = [f async for f in _frames_until_chat(h, "still before")]
                assert [f for f in early if f["type"] == "system"] == []
            assert (await until(h, "system", kind="notice"))["text"] == "committed"
            try:
                async with db.unit_of_work() as session:
                    broadcast.after_commit(session, live_id,
                                           {"type": "system", "kind": "notice", "text": "rolled back"})
                    raise RuntimeError("the use case failed")
            except RuntimeError:
                pass
            assert [f async for f in _frames_until_chat(h, "after rollback") if f["type"] == "system"] == []
        finally:
            await db.dispose()
        await h.close()

    run_async(go())


async def _frames_until_chat(ws: Any, fence: str) -> Any:
    await ws.send(json.dumps({"type": "chat", "text": fence}))
    while (frame := await recv(ws))["type"] != "chat" or frame["text"] != fence:
        yield frame


def test_reports_and_the_operators_page(server: str, api: httpx.Client, make_user: Callable[..., Any],
                                        make_live: Callable[..., int], db_run: Callable[..., Any]) -> None:
    host, viewer, operator = make_user("host"), make_user("viewer"), make_user("operator")
    live_id = make_live(host)

    async def promote(session: Any) -> None:
        from sqlalchemy import update  # lint: local-import (a test's one-off write)

        from mercato.accounts.models import User  # lint: local-import (a test's one-off write)
        await session.execute(update(User).where(User.id == operator["user"]["id"]).values(is_admin=True))
    db_run(promote)
    r = api.post(f"/api/v1/lives/{live_id}/reports", headers=viewer["headers"], json={"reason": "Fake giveaway"})
    assert r.status_code == 201 and r.json()["reason"] == "Fake giveaway"
    again = api.post(f"/api/v1/lives/{live_id}/reports", headers=viewer["headers"], json={"reason": "Again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reported"
    assert api.get("/admin/lives", headers=viewer["headers"]).status_code == 403
    page = api.get("/admin/lives", headers=operator["headers"])
    assert page.status_code == 200 and "Fake giveaway" in page.text and "Again" not in page.text

    async def go() -> None:
        v = await join(server, live_id, viewer["token"])
        await recv(v)
        async with httpx.AsyncClient(base_url=server) as browser:
            form = re.search(r'name="csrf_token" value="([^"]+)"', (await browser.get("/login")).text)
            assert form is not None
            login = await browser.post("/login", data={
                "email": "operator@example.com", "password": operator["password"], "csrf_token": form.group(1)})
            assert login.status_code == 303
            html = (await browser.get("/admin/lives")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', html)
            assert token is not None
            ended = await browser.post(f"/admin/lives/{live_id}/end", data={"csrf_token": token.group(1)})
            assert ended.status_code == 303
        assert (await until(v, "ended"))["type"] == "ended"
        await say_refused(v)
        await v.close()

    run_async(go())


async def say_refused(ws: Any) -> None:
    await ws.send('{"type": "chat", "text": "still here?"}')
    assert (await until(ws, "error"))["code"] == "live_ended"


def test_pages_and_bodies_count_the_rooms_viewers(server: str, api: httpx.Client, make_user: Callable[..., Any],
                                                  make_live: Callable[..., int]) -> None:
    """The LIVE's body shows the room's viewer count (live/audience.py, installed by the hub)."""
    host, viewer = make_user(), make_user()
    live_id = make_live(host)
    assert api.get(f"/api/v1/lives/{live_id}").json()["viewers"] == 0

    async def scenario() -> None:
        ws = await join(server, live_id, viewer["token"])
        await until(ws, "viewers", count=1)
        async with httpx.AsyncClient(base_url=server) as client:
            assert (await client.get(f"/api/v1/lives/{live_id}")).json()["viewers"] == 1
        await ws.close()

    run_async(scenario())
