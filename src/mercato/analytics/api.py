"""Analytics API: client beacons and the summaries (docs/analytics.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from mercato.accounts.deps import CurrentUser, MaybeUser, rate_limited
from mercato.analytics import queries, service
from mercato.analytics.schemas import BeaconsAccepted, BeaconsIn, SummaryOut
from mercato.catalog import shops
from mercato.kit.http import DbSession

router = APIRouter(prefix="/api/v1", tags=["analytics"])

From = Annotated[date, Query(alias="from", description="First day (YYYY-MM-DD, UTC), inclusive")]
To = Annotated[date, Query(alias="to", description="Last day (YYYY-MM-DD, UTC), inclusive")]


@router.post("/analytics/beacons", status_code=202, response_model=BeaconsAccepted,
             dependencies=[rate_limited("analytics_beacons")])
async def beacons(body: BeaconsIn, db: DbSession, user: MaybeUser) -> BeaconsAccepted:
    """What the client saw (impressions, watch time, product and shop views), up to 100 per
    call, signed in or not. Each carries the client's id: a re-sent beacon is accepted and not
    recorded again. Rate limited (``analytics_beacons``)."""
    accepted, recorded = await service.record_beacons(db, user, body.events)
    return BeaconsAccepted(accepted=accepted, recorded=recorded)


@router.get("/shops/{slug}/analytics/summary", response_model=SummaryOut, response_model_by_alias=True)
async def shop_summary(slug: str, start: From, end: To, user: CurrentUser, db: DbSession) -> dict[str, object]:
    """The shop's figures over the days ``from``–``to`` (members only), money in the shop's currency."""
    shop = await shops.member_shop(db, user, slug)
    return await service.summary(db, queries.Scope.shop(shop.id), start, end, shop.currency)


@router.get("/creators/me/analytics/summary", response_model=SummaryOut, response_model_by_alias=True)
async def creator_summary(start: From, end: To, user: CurrentUser, db: DbSession) -> dict[str, object]:
    """The caller's figures as a creator: their videos and LIVEs, and the orders credited to them."""
    return await service.summary(db, queries.Scope.creator(user.id), start, end, None)
