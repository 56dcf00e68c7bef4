"""JSON routes of the dashboards (docs/analytics.md, "Dashboards", "LIVE dashboard"): a shop's and
the caller's own creator figures over a period — ``overview`` (big numbers against the previous
period), ``timeseries`` (uPlot's columns), ``breakdown`` (a sortable, paginated table, or its CSV
with ``format=csv``) — and a LIVE's dashboard as JSON (GET) or pushed over a WebSocket at the same
path. The ``summary`` route is the capture's (analytics/api.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from mercato.accounts import service as accounts_service
from mercato.accounts.deps import SESSION_COOKIE, CurrentUser
from mercato.accounts.errors import AccountsError
from mercato.analytics.dash import figures, live_board, tables
from mercato.analytics.dash.periods import Period, parse_period
from mercato.analytics.dash.service import Subject, creator_subject, shop_subject
from mercato.kit.errors import AppError
from mercato.kit.fields import IsoDate, PathId
from mercato.kit.http import DbSession
from mercato.live.errors import LiveError
from mercato.live.room.errors import RoomError

router = APIRouter(prefix="/api/v1", tags=["analytics"])
ws_router = APIRouter()

From = Annotated[IsoDate | None, Query(alias="from", description="First day (ISO date, inclusive).")]
To = Annotated[IsoDate | None, Query(alias="to", description="Last day (ISO date, inclusive).")]
Days = Annotated[int | None, Query(ge=1, le=366, description="Length of the period ending `to` (or today).")]
By = Annotated[Literal["video", "live", "product", "creator", "source"], Query()]
Sort = Annotated[str | None, Query(max_length=20, description="A column; `-` first for descending (default `-gmv`).")]
Page = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=tables.MAX_PER_PAGE)]
Format = Annotated[Literal["json", "csv"], Query()]
Currency = Annotated[str | None, Query(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")]
PUSH_SECONDS = 0.5


def _period_body(period: Period) -> dict[str, Any]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat(), "days": period.days}


async def _overview(db: DbSession, subject: Subject, period: Period) -> dict[str, Any]:
    both = await figures.summary(db, subject.scope, period, subject.currency)
    return {"period": _period_body(period), "previous": _period_body(period.previous()),
            "currency": subject.currency, "figures": [
                {"key": f.key, "label": f.label, "value": f.value, "previous": f.previous, "change_pct": f.change}
                for f in await figures.big_numbers(db, subject.scope, period, subject.currency, subject.audience)],
            "now": both["now"], "before": both["before"]}


async def _timeseries(db: DbSession, subject: Subject, period: Period) -> dict[str, Any]:
    return {"period": _period_body(period),
            **await figures.timeseries(db, subject.scope, period, subject.currency)}


async def _breakdown(db: DbSession, subject: Subject, period: Period, by: str, sort: str | None, page: int,
                     per_page: int, fmt: str) -> Any:
    if fmt == "csv":
        text = await tables.table_csv(db, subject.scope, period, by=by, currency=subject.currency,
                                      audience=subject.audience, sort=sort)
        name = f"analytics-{by}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    table = await tables.table(db, subject.scope, period, by=by, currency=subject.currency,
                               audience=subject.audience, sort=sort, page=page, per_page=per_page)
    return {"period": _period_body(period), "by": table.by, "currency": table.currency, "sort": table.sort,
            "page": table.page, "per_page": table.per_page, "total": table.total, "pages": table.pages,
            "items": table.rows}


@router.get("/shops/{slug}/analytics/overview")
async def shop_overview(slug: str, user: CurrentUser, db: DbSession, start: From = None, end: To = None,
                        days: Days = None) -> dict[str, Any]:
    """Big numbers of the shop over the period, with the previous period's and the change in %."""
    period = parse_period(start, end, days)
    return await _overview(db, await shop_subject(db, user, slug), period)


@router.get("/shops/{slug}/analytics/timeseries")
async def shop_timeseries(slug: str, user: CurrentUser, db: DbSession, start: From = None, end: To = None,
                          days: Days = None) -> dict[str, Any]:
    """Views, product clicks, orders and GMV per day (per hour for a period of up to 2 days)."""
    period = parse_period(start, end, days)
    return await _timeseries(db, await shop_subject(db, user, slug), period)


@router.get("/shops/{slug}/analytics/breakdown", response_model=None)
async def shop_breakdown(slug: str, user: CurrentUser, db: DbSession, by: By = "product", start: From = None,
                         end: To = None, days: Days = None, sort: Sort = None, page: Page = 1,
                         per_page: PerPage = 20, format: Format = "json") -> Any:
    """Figures by video, LIVE, product, creator or traffic source; ``format=csv`` exports every row."""
    period = parse_period(start, end, days)
    return await _breakdown(db, await shop_subject(db, user, slug), period, by, sort, page, per_page, format)


@router.get("/creators/me/analytics/overview")
async def creator_overview(user: CurrentUser, db: DbSession, start: From = None, end: To = None,
                           days: Days = None, currency: Currency = None) -> dict[str, Any]:
    period = parse_period(start, end, days)
    return await _overview(db, await creator_subject(db, user, period, currency), period)


@router.get("/creators/me/analytics/timeseries")
async def creator_timeseries(user: CurrentUser, db: DbSession, start: From = None, end: To = None,
                             days: Days = None, currency: Currency = None) -> dict[str, Any]:
    period = parse_period(start, end, days)
    return await _timeseries(db, await creator_subject(db, user, period, currency), period)


@router.get("/creators/me/analytics/breakdown", response_model=None)
async def creator_breakdown(user: CurrentUser, db: DbSession, by: By = "video", start: From = None,
                            end: To = None, days: Days = None, sort: Sort = None, page: Page = 1,
                            per_page: PerPage = 20, format: Format = "json", currency: Currency = None) -> Any:
    period = parse_period(start, end, days)
    subject = await creator_subject(db, user, period, currency)
    return await _breakdown(db, subject, period, by, sort, page, per_page, format)


@router.get("/lives/{live_id:int}/dashboard")
async def live_dashboard(live_id: PathId, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """The LIVE's dashboard now (the WebSocket at the same path pushes it as it changes)."""
    live = await live_board.watchable_live(db, user, live_id)
    return (await live_board.board(db, live)).body()


# --- the pushed LIVE dashboard --------------------------------------------------------------------

async def _refuse(ws: WebSocket, code: str, message: str) -> None:
    """After the handshake, like the room: an error frame then a close with 1008 (policy)."""
    await ws.accept()
    await ws.send_text(orjson.dumps({"type": "error", "error": {"code": code, "message": message}}).decode())
    await ws.close(1008)


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    return origin.split("://", 1)[-1].lower() == ws.headers.get("host", "").lower()


@ws_router.websocket("/api/v1/lives/{live_id:int}/dashboard")
async def live_dashboard_ws(ws: WebSocket, live_id: int) -> None:
    """Pushes ``{"type": "dashboard", ...}`` at once, then whenever it changed, checked every
    :data:`PUSH_SECONDS` (a figure moved by an order shows within a second). Who: the bearer token
    or the session cookie (the cookie only from the site's own origin); refusals as in the room
    (``invalid_session``, ``not_host``, ``live_not_found``, ``forbidden_origin``)."""
    database = ws.app.state.db
    auth = ws.headers.get("authorization", "")
    token, via_cookie = (auth[7:].strip(), False) if auth.lower().startswith("bearer ") else (
        ws.cookies.get(SESSION_COOKIE), True)
    if token and via_cookie and not _same_origin(ws):
        await _refuse(ws, RoomError.FORBIDDEN_ORIGIN, "This dashboard cannot be opened from another site.")
        return
    if not 1 <= live_id < 2**63 or not token:
        await _refuse(ws, LiveError.LIVE_NOT_FOUND if token else AccountsError.INVALID_SESSION,
                      "No such LIVE." if token else "Log in to see this dashboard.")
        return
    try:
        async with database.unit_of_work(write=False) as db:
            user = await accounts_service.resolve_token(db, token)
            if user is None:
                await _refuse(ws, AccountsError.INVALID_SESSION, "Your session has ended. Log in again.")
                return
            live = await live_board.watchable_live(db, user, live_id)
            current = await live_board.board(db, live)
    except AppError as exc:
        await _refuse(ws, exc.code, exc.message)
        return
    await ws.accept()
    medians, currency = current.medians, current.currency
    sent = b""
    closed = asyncio.Event()

    async def listen() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        closed.set()

    listener = asyncio.create_task(listen())
    try:
        while not closed.is_set():
            frame = orjson.dumps({"type": "dashboard", **current.body()})
            if frame != sent:
                await ws.send_text(frame.decode())
                sent = frame
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), PUSH_SECONDS)
            if closed.is_set():
                break
            async with database.unit_of_work(write=False) as db:
                live = await live_board.watchable_live(db, user, live_id)
                current = await live_board.board(db, live, medians=medians, currency=currency)
    except (WebSocketDisconnect, RuntimeError, AppError):
        pass
    finally:
        listener.cancel()
        with contextlib.suppress(Exception):
            await ws.close()
