"""The price resolver: the offer of the highest tier wins (LIVE flash > campaign > flash deal >
discount), whatever the amounts."""

from __future__ import annotations

import pytest

from mercato.orders.price_priority import TIERS, Offer, base_offer, resolve


def test_the_tiers_in_priority_order() -> None:
    assert TIERS == ("live_flash", "campaign", "flash_deal", "discount", "list")


def test_the_variant_price_is_a_discount_below_its_compare_at() -> None:
    assert base_offer(2000, 2500) == Offer(tier="discount", unit_price=2000)
    assert base_offer(2000, None) == Offer(tier="list", unit_price=2000)
    assert resolve(2000, 2500) == Offer(tier="discount", unit_price=2000)


def test_the_highest_tier_wins_even_when_another_is_cheaper() -> None:
    live = Offer(tier="live_flash", unit_price=1500, deal_id=7)
    campaign = Offer(tier="campaign", unit_price=1000)
    shop_flash = Offer(tier="flash_deal", unit_price=900)
    assert resolve(2000, 2500, [shop_flash, campaign, live]) == live
    assert resolve(2000, 2500, [shop_flash, campaign]) == campaign
    assert resolve(2000, 2500, [shop_flash]) == shop_flash
    assert resolve(800, 2500, [shop_flash]) == shop_flash  # a flash deal outranks a deeper discount


def test_an_unknown_tier_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown price tier"):
        resolve(2000, None, [Offer(tier="bogus", unit_price=1)])
