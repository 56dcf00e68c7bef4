"""Connects affiliate money to the lower domains at app start (``install``): order money events
(attribution and commissions), product-card clicks and opened share links (touchpoints), sign-up
and log-in (an anonymous visitor's touchpoints go to the user), and the Earnings page section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import hooks as accounts_hooks
from mercato.accounts.models import User
from mercato.affiliate import commissions, links, plans, reports, touch, touchpoints, visitor
from mercato.affiliate import money_repository as repository
from mercato.config import Settings, get_settings
from mercato.content import hooks as content_hooks
from mercato.ledger import earnings
from mercato.orders import hooks as orders_hooks

_settings: list[Settings] = []


def settings() -> Settings:
    return _settings[0] if _settings else get_settings()


async def order_money(db: AsyncSession, event: orders_hooks.OrderMoneyEvent) -> None:
    if event.kind == "paid":
        await commissions.on_paid(db, settings(), plans.terms_for, event)
    elif event.kind == "refunded":
        await commissions.on_refunded(db, event)
    elif event.kind == "settled":
        await commissions.on_settled(db, event)


async def promotion_touch(db: AsyncSession, touch: content_hooks.PromotionTouch) -> list[tuple[str, str, int]]:
    current = settings()
    visitor_id: str | None = None
    set_cookies: list[tuple[str, str, int]] = []
    if touch.viewer_id is None:
        visitor_id, set_cookies = links.visitor_of(touch.cookies, current)
    for product_id in touch.product_ids:
        await touchpoints.record(db, current, kind=touch.kind, creator_id=touch.creator_id, product_id=product_id,
                                 at=touch.at, user_id=touch.viewer_id, visitor_id=visitor_id,
                                 video_id=touch.video_id)
    return set_cookies


async def showcase_visit(visit: touch.ShowcaseVisit) -> None:
    """A view of a creator's showcase: a ``showcase_view`` touchpoint (any product of theirs)."""
    current = settings()
    visitor_id: str | None = None
    if visit.viewer_id is None:
        visitor_id, set_cookies = links.visitor_of(visit.request_cookies, current)
        visit.cookies.extend(set_cookies)
    await touchpoints.record(visit.db, current, kind="showcase_view", creator_id=visit.creator_id, product_id=None,
                             at=datetime.now(UTC), user_id=visit.viewer_id, visitor_id=visitor_id)


async def gmv(db: AsyncSession, creator_ids: Sequence[int], currency: str) -> dict[int, int]:
    """GMV a creator drove: what buyers paid for the lines credited to them, less refunds."""
    return await repository.gmv_of(db, creator_ids, currency)


async def signed_in(db: AsyncSession, user: User, cookies: Mapping[str, str]) -> None:
    await touchpoints.attach_visitor(db, visitor.verify(cookies.get(visitor.COOKIE), settings()), user.id)


def install(app_settings: Settings | None = None) -> None:
    """Idempotent: the registries ignore a second registration of the same function."""
    if app_settings is not None:
        _settings[:] = [app_settings]
    orders_hooks.register_order_money(order_money)
    content_hooks.register_promotion_touch(promotion_touch)
    accounts_hooks.register_signed_in(signed_in)
    earnings.register_earnings_section(reports.earnings_sections)
    touch.register_showcase_visit(showcase_visit)
    touch.register_gmv_source(gmv)
