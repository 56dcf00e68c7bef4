"""JSON shapes of coins and gifts."""

from __future__ import annotations

from typing import Any

from mercato.live.gifts.models import CoinPurchase, Gift


def gift_out(gift: Gift) -> dict[str, Any]:
    return {"id": gift.id, "name": gift.name, "coins": gift.coins, "animation": gift.animation,
            "active": gift.active, "joins_fan_club": gift.joins_fan_club}


def purchase_out(purchase: CoinPurchase) -> dict[str, Any]:
    return {"id": purchase.id, "pack": purchase.pack, "coins": purchase.coins, "amount": purchase.amount,
            "currency": purchase.currency, "status": purchase.status, "coins_left": purchase.coins_left,
            "amount_left": purchase.amount_left, "refunded_coins": purchase.refunded_coins,
            "refunded_amount": purchase.refunded_amount}
