"""The room's WebSocket route, ``/api/v1/lives/{id}/room`` (protocol: docs/live.md, "The room").

Who is calling: ``Authorization: Bearer <token>`` or the session cookie, looked up like any
request (``accounts.service.resolve_token``). A browser sends the cookie with a WebSocket opened
from any site, so a cookie is honoured only when the ``Origin`` is the site's own (cross-site
WebSocket hijacking); anonymous viewers read, never write. Refusals after the handshake are an
``error`` frame then a close with code 1008 (policy): unknown LIVE, banned member, bad token,
foreign origin.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from mercato.accounts import service as accounts_service
from mercato.accounts.deps import SESSION_COOKIE
from mercato.live.room.errors import RoomError
from mercato.live.room.hub import POLICY_VIOLATION, Hub, error_frame
from mercato.live.room.snapshot import user_brief

router = APIRouter()


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: nothing rides on a cookie it did not choose to send
    return urlsplit(origin).netloc.lower() == ws.headers.get("host", "").lower()


async def _refuse(ws: WebSocket, code: str, message: str) -> None:
    await ws.accept()
    await ws.send_text(error_frame(code, message))
    await ws.close(POLICY_VIOLATION)


@router.websocket("/api/v1/lives/{live_id:int}/room")
async def room(ws: WebSocket, live_id: int) -> None:
    hub: Hub = ws.app.state.live_hub
    auth = ws.headers.get("authorization", "")
    token, via_cookie = (auth[7:].strip(), False) if auth.lower().startswith("bearer ") else (
        ws.cookies.get(SESSION_COOKIE), True)
    if token and via_cookie and not _same_origin(ws):
        await _refuse(ws, RoomError.FORBIDDEN_ORIGIN, "This room cannot be joined from another site.")
        return
    user: dict[str, Any] | None = None
    if token:
        async with ws.app.state.db.unit_of_work(write=False) as db:
            found = await accounts_service.resolve_token(db, token)
        if found is None and not via_cookie:
            await _refuse(ws, "invalid_session", "Your session has ended. Log in again.")
            return
        user = user_brief(found) if found is not None else None
    rules = await hub.rules(live_id) if 1 <= live_id < 2**63 else None
    if rules is None:
        await _refuse(ws, "live_not_found", "No such LIVE.")
        return
    if user is not None and user["id"] in rules.banned:
        await _refuse(ws, RoomError.BANNED, "You were removed from this room.")
        return
    await ws.accept()
    member = await hub.join(live_id, ws, user)
    try:
        while not member.closing:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                member.push(error_frame(RoomError.INVALID_FRAME, "Frames are JSON text."))
                continue
            await hub.handle(live_id, member, text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        with contextlib.suppress(Exception):
            await hub.leave(live_id, member)
