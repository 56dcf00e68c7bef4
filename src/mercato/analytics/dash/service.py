"""Whose dashboard: a shop's for its members, a creator's for themselves (docs/analytics.md,
"Dashboards"). The figures are the same functions for both (figures.py, tables.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics.dash.figures import Audience, main_currency
from mercato.analytics.dash.periods import Period
from mercato.analytics.queries import Scope
from mercato.catalog import shops
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import is_supported
from mercato.ledger.errors import LedgerError

if TYPE_CHECKING:
    from mercato.accounts.models import User

CREATOR_DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class Subject:
    """The scope read, the currency money is shown in and who the dashboard is for."""

    scope: Scope
    currency: str
    audience: Audience
    name: str


async def shop_subject(db: AsyncSession, user: User, slug: str) -> Subject:
    """The shop's dashboard: members only (403; 404 for no such shop), in the shop's currency."""
    shop = await shops.member_shop(db, user, slug)
    return Subject(Scope.shop(shop.id), shop.currency, "seller", shop.name)


async def creator_subject(db: AsyncSession, user: User, period: Period, currency: str | None = None) -> Subject:
    """The caller's own creator dashboard (nobody reads another's), money in ``currency`` or the
    currency they sold most in over the period."""
    scope = Scope.creator(user.id)
    if currency and not is_supported(currency.upper()):
        raise ValidationFailed("Unknown currency.", code=LedgerError.INVALID_CURRENCY, details={"field": "currency"})
    chosen = currency.upper() if currency else await main_currency(db, scope, period, CREATOR_DEFAULT_CURRENCY)
    return Subject(scope, chosen, "creator", user.display_name)
