"""At app start: the Seller Center home shows each shop's figures of today (catalog/hooks.py;
the catalog sits below analytics and asks its registry)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.analytics.dash import figures
from mercato.analytics.queries import Scope
from mercato.catalog import hooks as catalog_hooks
from mercato.web.render import env


async def shop_today(db: AsyncSession, shop_id: int, currency: str) -> str:
    """Today's big numbers of the shop (against yesterday), as an HTML fragment."""
    big = await figures.big_numbers(db, Scope.shop(shop_id), figures.today(), currency, "seller")
    shown = [f for f in big if f.key in ("views", "product_clicks", "orders", "items_sold", "gmv")]
    return env.get_template("dash/_shop_today.html").render(figures=shown, shop_id=shop_id)


def install() -> None:
    catalog_hooks.register_shop_panel(shop_today)
