"""App-wide pages: LIVE (until the LIVE issue) and the error page's route-less helpers.

The home page (``/``) is the For You feed: see ``mercato/feed/pages.py``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mercato.accounts.deps import MaybeUser
from mercato.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/live", response_class=HTMLResponse)
async def live(request: Request, user: MaybeUser) -> HTMLResponse:
    return render(request, "live.html", {}, user=user)
