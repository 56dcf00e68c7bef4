"""Connects gifts to the Earnings page at app start: the "Diamonds by LIVE" section."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import get_settings
from mercato.kit.money import format_money
from mercato.ledger.earnings import EarningsSection, register_earnings_section
from mercato.live.gifts import service


async def diamonds_section(db: AsyncSession, user: User) -> list[EarningsSection]:
    """A row per LIVE with the diamonds received there and their money value (the host share); no
    section for someone who never received diamonds (the page stays about what they have)."""
    mine = await service.diamonds(db, user.id, get_settings())
    if not mine["by_live"]:
        return []
    rows = tuple((row["title"], f"{row['diamonds']:,}", format_money(row["value"], mine["currency"]))
                 for row in mine["by_live"])
    return [EarningsSection(key="diamonds_by_live", title="Diamonds by LIVE", columns=("LIVE", "Diamonds", "Value"),
                            rows=rows, empty="No gifts received as diamonds yet.")]


def install() -> None:
    """Idempotent: the registry ignores a second registration."""
    register_earnings_section(diamonds_section)
