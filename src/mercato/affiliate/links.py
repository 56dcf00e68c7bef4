"""Affiliate links and the touchpoints the web records (docs/affiliate.md, "Links and touchpoints").

A creator in a plan for a product (``plans.may_promote``) makes one link per product, or one for
their showcase; the link is ``/a/{code}``. Opening it records a ``link_click`` touchpoint for the
signed-in shopper, or for the anonymous visitor of the signed visitor cookie (made on the spot
when missing), then lands on the product page (or the showcase).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import money_repository as repository
from mercato.affiliate import plans, touchpoints, visitor
from mercato.affiliate.errors import AffiliateError
from mercato.affiliate.money_models import AffiliateLink
from mercato.config import Settings
from mercato.kit.errors import Forbidden, NotFound

LINK_PREFIX = "/a/"


def url_of(link: AffiliateLink) -> str:
    return f"{LINK_PREFIX}{link.code}"


async def make_link(db: AsyncSession, creator_id: int, product_id: int | None) -> tuple[AffiliateLink, bool]:
    """The creator's link for the product (or showcase), made on first ask; ``(link, created)``.
    ``403 product_not_promotable`` unless the creator may promote the product; nothing is written then."""
    if product_id is not None:
        if await repository.product_shop(db, product_id) is None:
            raise NotFound("No such product.")
        if not await plans.may_promote(db, creator_id, product_id):
            raise Forbidden("Join a plan for this product before you promote it.",
                            code=AffiliateError.NOT_PROMOTABLE)
    existing = await repository.link_of(db, creator_id, product_id)
    if existing is not None:
        return existing, False
    link = AffiliateLink(creator_id=creator_id, product_id=product_id, code=secrets.token_urlsafe(9), clicks=0)
    await repository.add(db, link)
    return link, True


def visitor_of(cookies: Mapping[str, str], settings: Settings) -> tuple[str, list[tuple[str, str, int]]]:
    """The anonymous visitor id of the request's genuine cookie, or a new one and the cookie to set
    (a forged or altered cookie is ignored and replaced)."""
    known = visitor.verify(cookies.get(visitor.COOKIE), settings)
    if known is not None:
        return known, []
    fresh = visitor.new_visitor_id()
    return fresh, [(visitor.COOKIE, visitor.sign(fresh, settings), settings.affiliate_visitor_cookie_days * 86400)]


async def open_link(db: AsyncSession, settings: Settings, code: str, *, user_id: int | None,
                    cookies: Mapping[str, str], at: datetime) -> tuple[AffiliateLink, list[tuple[str, str, int]]]:
    link = await repository.link_by_code(db, code) if 0 < len(code) <= 24 else None
    if link is None:
        raise NotFound("This link does not exist.")
    set_cookies: list[tuple[str, str, int]] = []
    visitor_id: str | None = None
    if user_id is None:
        visitor_id, set_cookies = visitor_of(cookies, settings)
    await repository.count_click(db, link.id)
    await touchpoints.record(db, settings, kind="link_click", creator_id=link.creator_id, product_id=link.product_id,
                             at=at, user_id=user_id, visitor_id=visitor_id, link_id=link.id)
    return link, set_cookies


async def links_of(db: AsyncSession, creator_id: int, limit: int = 200) -> list[AffiliateLink]:
    return await repository.links_of_creator(db, creator_id, limit)


async def showcase_url(db: AsyncSession, creator_id: int) -> str:
    """The creator's profile page, where their showcase is."""
    handle = await repository.user_handle(db, creator_id)
    return f"/@{handle}" if handle else "/"
