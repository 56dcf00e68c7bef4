"""Shipping and tax rules (service layer): computed on the server, never taken from a client."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Shop
from mercato.kit.money import allocate, apply_rate_bps
from mercato.orders import repository
from mercato.orders.models import TaxRate


def shipping_fee(shop: Shop, subtotal: int) -> int:
    """The shop's flat fee per order, free at or above ``free_shipping_above`` (items subtotal)."""
    if shop.free_shipping_above is not None and subtotal >= shop.free_shipping_above:
        return 0
    return shop.shipping_fee


async def tax_rate_bps(db: AsyncSession, region: str, country: str) -> int:
    """The rate for the region (``US-CA``), else for the country (``DE``), else 0."""
    rows = await repository.tax_rates_of(db, [region.upper(), country.upper()])
    return rows.get(region.upper(), rows.get(country.upper(), 0))


def tax_amount(taxable: int, rate_bps: int) -> int:
    """Tax on the discounted items total (shipping is not taxed), rounded half-even."""
    return apply_rate_bps(max(0, taxable), rate_bps)


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """Split a discount over lines in proportion to their totals, exactly."""
    if amount == 0 or not weights or sum(weights) == 0:
        return [0] * len(weights)
    return allocate(amount, list(weights))


async def set_tax_rate(db: AsyncSession, region: str, rate_bps: int, label: str = "") -> TaxRate:
    existing = await repository.tax_rate(db, region.upper())
    if existing is None:
        existing = TaxRate(region=region.upper(), rate_bps=rate_bps, label=label)
        await repository.add(db, existing)
    else:
        existing.rate_bps, existing.label = rate_bps, label
        await db.flush()
    return existing


async def tax_rates(db: AsyncSession) -> list[TaxRate]:
    return await repository.tax_rates(db)
