"""App-wide pages: the For You home, LIVE, and the error page's route-less helpers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mercato.accounts import repository as accounts_repo
from mercato.accounts.deps import MaybeUser
from mercato.catalog import browse as browsing
from mercato.kit.http import DbSession, get_database
from mercato.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, db: DbSession, user: MaybeUser) -> HTMLResponse:
    """For You. Until shoppable videos land, it shows what is popular in the shops and creators."""
    dialect = "sqlite" if get_database(request).is_sqlite else "postgresql"
    popular = await browsing.browse(db, browsing.BrowseParams(sort="saved", limit=12), dialect=dialect)
    creators = await accounts_repo.top_creators(db, 8)
    return render(request, "home.html", {"products": popular.items, "creators": creators}, user=user)


@router.get("/live", response_class=HTMLResponse)
async def live(request: Request, user: MaybeUser) -> HTMLResponse:
    return render(request, "live.html", {}, user=user)
