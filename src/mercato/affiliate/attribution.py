"""Attribution: which creator (at most one) an order line is credited to, decided when the order
is paid and stored with its reasons (docs/affiliate.md, "Attribution").

Rules, in order:

1. ``live_own_shop`` / ``live_purchase``: a purchase made in a LIVE (``orders.source = live``)
   credits the host — with no commission when the host is a member of the selling shop, with
   the host's plan terms otherwise. A host with neither leaves the line to the rules below.
2. ``last_click``: among the buyer's clicks (affiliate link, video product card, share link) on
   the product or on a creator's showcase within ``affiliate_click_window_days`` before payment,
   by a creator with plan terms for the product at the click's time, the latest wins.
3. ``last_view``: with no such click, the latest view (a showcase visit) within
   ``affiliate_view_window_hours`` by a creator with terms wins.
4. Otherwise ``no_touchpoint`` (nothing considered) or ``none_eligible``.

Every touchpoint considered is kept with the reason it won or lost, so the creator can read why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import money_repository as repository
from mercato.affiliate.money_models import CLICK_KINDS, VIEW_KINDS, Attribution, Touchpoint
from mercato.affiliate.plans import PlanTerms
from mercato.config import Settings

Terms = PlanTerms
#: ``plans.terms_for`` (passed in, so the decision reads like a function of its inputs).
TermsFor = Callable[..., Awaitable[PlanTerms | None]]


@dataclass
class LineDecision:
    creator_id: int | None
    touchpoint: Touchpoint | None
    rule: str
    terms: Terms | None
    candidates: list[dict[str, Any]]
    commission: bool  # False for the host's own shop: credited, nothing earned


def _candidate(tp: Touchpoint, product_id: int, reason: str, eligible: bool) -> dict[str, Any]:
    return {"touchpoint_id": tp.id, "kind": tp.kind, "at": tp.at.isoformat(), "creator_id": tp.creator_id,
            "product_id": tp.product_id if tp.product_id is not None else None, "for_product": product_id,
            "eligible": eligible, "reason": reason}


async def decide_line(db: AsyncSession, settings: Settings, terms_for: TermsFor, *, product_id: int,
                      touchpoints: list[Touchpoint], paid_at: datetime, live_host: int | None,
                      host_is_seller: bool, live_touchpoint: Touchpoint | None) -> LineDecision:
    """The decision for one line from the buyer's touchpoints (oldest first)."""
    candidates: list[dict[str, Any]] = []
    if live_host is not None and live_touchpoint is not None:
        if host_is_seller:
            candidates.append(_candidate(live_touchpoint, product_id, "won: bought in the host's own LIVE", True))
            return LineDecision(live_host, live_touchpoint, "live_own_shop", None, candidates, False)
        terms = await terms_for(db, creator_id=live_host, product_id=product_id, at=live_touchpoint.at)
        if terms is not None:
            candidates.append(_candidate(live_touchpoint, product_id, "won: bought in the host's LIVE", True))
            return LineDecision(live_host, live_touchpoint, "live_purchase", terms, candidates, True)
        candidates.append(_candidate(live_touchpoint, product_id, "the host has no plan for this product", False))
    click_since = paid_at - timedelta(days=settings.affiliate_click_window_days)
    view_since = paid_at - timedelta(hours=settings.affiliate_view_window_hours)
    relevant = [tp for tp in touchpoints if tp.product_id in (None, product_id) and tp.kind != "live"]
    eligible_clicks: list[tuple[Touchpoint, Terms]] = []
    eligible_views: list[tuple[Touchpoint, Terms]] = []
    reasons: dict[int, tuple[str, bool]] = {}
    for tp in relevant:
        window = click_since if tp.kind in CLICK_KINDS else view_since
        if tp.at < window:
            reasons[tp.id] = ("outside the attribution window", False)
            continue
        terms = await terms_for(db, creator_id=tp.creator_id, product_id=product_id, at=tp.at)
        if terms is None:
            reasons[tp.id] = ("the creator had no plan for this product", False)
            continue
        if tp.kind in CLICK_KINDS:
            eligible_clicks.append((tp, terms))
        elif tp.kind in VIEW_KINDS:
            eligible_views.append((tp, terms))
    winner: tuple[Touchpoint, Terms] | None = None
    rule = "no_touchpoint" if not relevant and not candidates else "none_eligible"
    if eligible_clicks:
        winner, rule = max(eligible_clicks, key=lambda pair: (pair[0].at, pair[0].id)), "last_click"
        for tp, _ in eligible_clicks:
            if tp is not winner[0]:
                reasons[tp.id] = ("a later click won", True)
        for tp, _ in eligible_views:
            reasons[tp.id] = ("a click beats a view", True)
    elif eligible_views:
        winner, rule = max(eligible_views, key=lambda pair: (pair[0].at, pair[0].id)), "last_view"
        for tp, _ in eligible_views:
            if tp is not winner[0]:
                reasons[tp.id] = ("a later view won", True)
    if winner is not None:
        reasons[winner[0].id] = ("won", True)
    for tp in relevant:
        reason, eligible = reasons[tp.id]
        candidates.append(_candidate(tp, product_id, reason, eligible))
    if winner is None:
        return LineDecision(None, None, rule, None, candidates, False)
    return LineDecision(winner[0].creator_id, winner[0], rule, winner[1], candidates, True)


async def store(db: AsyncSession, *, order_id: int, order_line_id: int, product_id: int,
                decision: LineDecision, at: datetime) -> Attribution:
    row = Attribution(order_id=order_id, order_line_id=order_line_id, product_id=product_id,
                      creator_id=decision.creator_id,
                      touchpoint_id=decision.touchpoint.id if decision.touchpoint is not None else None,
                      rule=decision.rule, candidates=decision.candidates, decided_at=at)
    await repository.add(db, row)
    return row
