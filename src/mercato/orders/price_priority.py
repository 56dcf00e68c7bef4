"""Which price a line is sold at when several apply (PRODUCT.md C7/C8): the offer of the highest
tier wins, LIVE flash > campaign > flash deal > discount, whatever their amounts — a seller
who runs a LIVE flash deal means that price in that room.

Tiers that exist today:

- ``live_flash``: a LIVE flash deal open in the room the buyer buys from (``live/selling``,
  offered through ``orders.hooks``);
- ``discount``: the variant's own price when it is below its compare-at price (the strikethrough
  the product page shows); ``list`` is the variant's price without a compare-at.

``campaign`` and ``flash_deal`` (platform campaigns and shop flash deals, C8) do not exist yet:
they are tiers in :data:`TIERS`, so an offer of theirs slots into :func:`resolve` unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Highest priority first.
TIERS = ("live_flash", "campaign", "flash_deal", "discount", "list")


@dataclass(frozen=True)
class Offer:
    tier: str
    unit_price: int
    deal_id: int | None = None


def base_offer(price: int, compare_at_price: int | None) -> Offer:
    """The variant's own price: a ``discount`` when below its compare-at, else ``list``."""
    tier = "discount" if compare_at_price is not None and compare_at_price > price else "list"
    return Offer(tier=tier, unit_price=price)


def resolve(price: int, compare_at_price: int | None, offers: Sequence[Offer] = ()) -> Offer:
    """The offer a line is sold at: of ``offers`` and the variant's own price, the one of the
    highest tier (the first of :data:`TIERS`)."""
    candidates = [base_offer(price, compare_at_price), *offers]
    for offer in candidates:
        if offer.tier not in TIERS:
            raise ValueError(f"unknown price tier {offer.tier!r}")
    return min(candidates, key=lambda offer: TIERS.index(offer.tier))
