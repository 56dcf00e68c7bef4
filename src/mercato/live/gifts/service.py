"""Coins, gifts and diamonds (docs/gifts.md). Services only flush; the caller's unit of work commits.

Money (R9): a coin purchase is a *lot* — its coins and what they cost. Its unspent money is always
``amount_left = ⌊coins_left × amount / coins⌋``, so spending ``k`` coins takes
``amount_left − ⌊(coins_left − k) × amount / coins⌋``: exact integers, and the last coin of a lot
takes whatever remains. Gifts spend lots oldest first. The ledger therefore always says
money in (``platform:cash``) = unspent coins (``user:U:coins``) + host shares + gift revenue, and
the coin liability of a user equals the money left in their lots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.errors import AccountsError
from mercato.accounts.models import User
from mercato.accounts.service import age_on, require_adult
from mercato.config import Settings
from mercato.kit.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.ledger import service as ledger
from mercato.ledger.service import Posting, creator_account, platform_account, user_account
from mercato.live import broadcast
from mercato.live import repository as live_repository
from mercato.live.errors import LiveError
from mercato.live.gifts import hooks
from mercato.live.gifts import repository as repo
from mercato.live.gifts.errors import GiftsError
from mercato.live.gifts.models import CoinPurchase, Gift
from mercato.payments import hooks as payment_hooks
from mercato.payments import service as payments
from mercato.payments.models import PaymentIntent
from mercato.payments.provider import PaymentProvider

#: The CSS animations a gift may use (web/static/live/gifts.css).
ANIMATIONS = ("float", "pulse", "spin", "burst", "rain", "galaxy")
#: The catalog a fresh installation starts with (the operator edits it on /admin/gifts).
DEFAULT_GIFTS: tuple[dict[str, Any], ...] = (
    {"name": "Rose", "coins": 1, "animation": "float", "joins_fan_club": False},
    {"name": "Fan Club", "coins": 1, "animation": "pulse", "joins_fan_club": True},
    {"name": "Heart", "coins": 5, "animation": "pulse", "joins_fan_club": False},
    {"name": "Finger Heart", "coins": 10, "animation": "spin", "joins_fan_club": False},
    {"name": "Star", "coins": 99, "animation": "burst", "joins_fan_club": False},
    {"name": "Galaxy", "coins": 1000, "animation": "galaxy", "joins_fan_club": False},
)


class InsufficientCoins(AppError):
    """``402``: the balance does not cover the gift (nothing changed)."""

    status = 402
    code = GiftsError.INSUFFICIENT_COINS


@dataclass(frozen=True)
class CoinPack:
    key: str
    coins: int
    amount: int
    currency: str


def packs(settings: Settings) -> list[CoinPack]:
    return sorted((CoinPack(key, coins, amount, settings.coin_currency.upper())
                   for key, (coins, amount) in settings.coin_packs.items()), key=lambda pack: pack.coins)


def lot_value(coins_left: int, *, coins: int, amount: int) -> int:
    """The money still behind ``coins_left`` coins of a lot of ``coins`` bought for ``amount``."""
    return coins_left * amount // coins if coins else 0


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- buying coins


async def start_purchase(db: AsyncSession, user: User, pack_key: str, settings: Settings) -> tuple[CoinPurchase,
                                                                                                  PaymentIntent]:
    """A pending purchase of a pack and the payment intent that pays it (coins come on success)."""
    require_adult(user, settings, "buy coins")
    pack = next((p for p in packs(settings) if p.key == pack_key), None)
    if pack is None:
        raise ValidationFailed(f"No coin pack {pack_key!r}.", code=GiftsError.COIN_PACK_NOT_FOUND,
                               details={"field": "pack"})
    now = _now()
    purchase_id = await repo.insert_purchase(db, dict(user_id=user.id, pack=pack.key, coins=pack.coins,
                                                      amount=pack.amount, currency=pack.currency, status="pending",
                                                      coins_left=0, amount_left=0, refunded_coins=0,
                                                      refunded_amount=0, created_at=now))
    intent = await payments.create_intent(db, checkout_id=None, buyer_id=user.id, currency=pack.currency,
                                          amount=pack.amount, provider_name=settings.payment_provider.lower())
    await repo.set_purchase_intent(db, purchase_id, intent.id)
    found = await repo.purchase(db, purchase_id)
    assert found is not None
    return found, intent


async def on_intent_succeeded(db: AsyncSession, intent: PaymentIntent) -> None:
    """A coin purchase's payment went through (synchronously or by webhook): its coins are
    credited, once (the guarded pending → paid decides), and the money enters the ledger."""
    if intent.checkout_id is not None:  # a checkout's payment: orders' (no statement spent on it here)
        return
    purchase = await repo.purchase_of_intent(db, intent.id)
    if purchase is None:
        return
    now = _now()
    if not await repo.mark_paid(db, purchase.id, now):
        return
    await repo.credit_wallet(db, purchase.user_id, purchase.coins, now)
    await repo.add_entry(db, dict(user_id=purchase.user_id, kind="purchase", coins=purchase.coins,
                                  amount=purchase.amount, currency=purchase.currency, purchase_id=purchase.id,
                                  gift_send_id=None, created_at=now))
    if purchase.amount:
        await ledger.post(db, kind="coin_purchase", reference=f"coin_purchase:{purchase.id}",
                          currency=purchase.currency, memo=f"{purchase.coins} coins",
                          postings=[Posting(platform_account("cash", purchase.currency), purchase.amount),
                                    Posting(user_account(purchase.user_id, "coins", purchase.currency),
                                            -purchase.amount)])


async def refund_purchase(db: AsyncSession, user: User, purchase_id: int, *, provider: PaymentProvider) -> \
        CoinPurchase:
    """Give back the purchase's unspent coins: they leave the wallet, their money goes back to the
    card and the ledger reverses it. ``409`` when none of its coins is left."""
    purchase = await repo.purchase(db, purchase_id)
    if purchase is None or purchase.user_id != user.id:
        raise NotFound("No such coin purchase.", code=GiftsError.COIN_PURCHASE_NOT_FOUND)
    if purchase.status != "paid" or purchase.coins_left == 0 or purchase.intent_id is None:
        raise Conflict("Only a paid coin purchase with unspent coins can be refunded.",
                       code=GiftsError.COIN_PURCHASE_NOT_REFUNDABLE,
                       details={"status": purchase.status, "coins_left": purchase.coins_left})
    coins, amount = purchase.coins_left, purchase.amount_left
    now = _now()
    # The wallet first: its row is what serialises a user's coin moves.
    if not await repo.debit_wallet(db, user.id, coins, now) or \
            not await repo.mark_refunded(db, purchase.id, coins_left=coins, amount_left=amount):
        raise Conflict("The coins of this purchase changed meanwhile; reload.",
                       code=GiftsError.COIN_PURCHASE_NOT_REFUNDABLE)
    intent = await payments.get_for_buyer(db, purchase.intent_id, user.id)
    if amount:
        await payments.refund(db, intent, amount, provider=provider, idempotency_key=f"coin_refund_{purchase.id}")
        await ledger.post(db, kind="coin_refund", reference=f"coin_refund:{purchase.id}", currency=purchase.currency,
                          memo=f"{coins} unspent coins refunded",
                          postings=[Posting(user_account(user.id, "coins", purchase.currency), amount),
                                    Posting(platform_account("cash", purchase.currency), -amount)])
    await repo.add_entry(db, dict(user_id=user.id, kind="refund", coins=-coins, amount=-amount,
                                  currency=purchase.currency, purchase_id=purchase.id, gift_send_id=None,
                                  created_at=now))
    found = await repo.purchase(db, purchase.id)
    assert found is not None
    return found


async def wallet(db: AsyncSession, user: User, settings: Settings, cursor: str | None, limit: int) -> dict[str, Any]:
    """Balance (coins and the money behind them) and a page of the coin history, newest first."""
    decoded = decode_cursor(cursor, (int,))
    before = int(decoded[0]) if decoded else None
    rows = list(await repo.entries(db, user.id, before_id=before, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    purchases = await repo.purchases_by_ids(db, [r.purchase_id for r in rows if r.purchase_id])
    sends = await repo.sends_by_ids(db, [r.gift_send_id for r in rows if r.gift_send_id])
    items = []
    for row in rows:
        item: dict[str, Any] = {"id": row.id, "kind": row.kind, "coins": row.coins, "amount": row.amount,
                                "currency": row.currency, "at": row.created_at}
        if row.purchase_id and row.purchase_id in purchases:
            p = purchases[row.purchase_id]
            item["purchase"] = {"id": p.id, "pack": p.pack, "status": p.status, "coins_left": p.coins_left}
        if row.gift_send_id and row.gift_send_id in sends:
            s = sends[row.gift_send_id]
            item["gift"] = {"id": s.gift_id, "live_id": s.live_id, "quantity": s.quantity}
        items.append(item)
    coins = await repo.wallet_coins(db, user.id)
    _, value = await repo.lots_left(db, user.id)
    return {"coins": coins, "value": value, "currency": settings.coin_currency.upper(), "items": items,
            "next_cursor": encode_cursor([rows[-1].id]) if more and rows else None}


# --------------------------------------------------------------------------- the catalog


async def catalog(db: AsyncSession, *, active_only: bool = True) -> list[Gift]:
    """The gift catalog; an empty one is seeded with :data:`DEFAULT_GIFTS` first."""
    if await repo.gift_count(db) == 0:
        for values in DEFAULT_GIFTS:
            await repo.insert_gift_if_absent(db, {**values, "active": True, "created_at": _now()})
    return list(await repo.gifts(db, active_only=active_only))


def _check_animation(animation: str) -> None:
    if animation not in ANIMATIONS:
        raise ValidationFailed(f"The animation is one of {', '.join(ANIMATIONS)}.", details={"field": "animation"})


async def create_gift(db: AsyncSession, *, name: str, coins: int, animation: str, active: bool,
                      joins_fan_club: bool) -> Gift:
    _check_animation(animation)
    await catalog(db)  # the defaults first, so that they keep their names
    gift_id = await repo.insert_gift_if_absent(db, dict(name=name.strip(), coins=coins, animation=animation,
                                                        active=active, joins_fan_club=joins_fan_club,
                                                        created_at=_now()))
    if gift_id is None:
        raise Conflict("A gift has this name already.", code=GiftsError.GIFT_NAME_TAKEN, details={"field": "name"})
    forget_catalog()
    found = await repo.gift(db, gift_id)
    assert found is not None
    return found


async def update_gift(db: AsyncSession, gift_id: int, changes: dict[str, Any]) -> Gift:
    found = await repo.gift(db, gift_id)
    if found is None:
        raise NotFound("No such gift.", code=GiftsError.GIFT_NOT_FOUND)
    if "animation" in changes:
        _check_animation(str(changes["animation"]))
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
        other = await repo.gift_by_name(db, changes["name"])
        if other is not None and other.id != gift_id:
            raise Conflict("A gift has this name already.", code=GiftsError.GIFT_NAME_TAKEN,
                           details={"field": "name"})
    if changes:
        await repo.update_gift(db, gift_id, changes)
        forget_catalog()
    updated = await repo.gift(db, gift_id)
    assert updated is not None
    return updated


# --------------------------------------------------------------------------- sending


async def spend(db: AsyncSession, user_id: int, coins: int) -> tuple[int, str]:
    """Take ``coins`` from the user's lots, oldest first: their money value and currency. The
    caller debited the wallet first (which serialises the user's coin moves). One read, and one
    guarded update per lot touched (one, unless a lot runs out)."""
    left, value, currency = coins, 0, ""
    for lot in await repo.open_lots(db, user_id):
        if left == 0:
            break
        take = min(left, lot.coins_left)
        remaining = lot.coins_left - take
        amount = lot.amount_left - lot_value(remaining, coins=lot.coins, amount=lot.amount)
        if not await repo.take_from_lot(db, lot.id, coins_left=lot.coins_left, coins=take, amount=amount):
            raise RuntimeError(f"coin lot {lot.id} changed under a debited wallet")
        left -= take
        value += amount
        currency = lot.currency
    if left:
        raise RuntimeError(f"user {user_id}'s wallet holds more coins than their lots")
    return value, currency


#: How long this process trusts its copy of the gift catalog: an operator's edit made in another
#: process shows here within this time (an edit made in this process shows at once).
CATALOG_TTL_S = 5.0
#: database URL → (loaded at, gift id → gift): the catalog as the send path reads it.
_catalogs: dict[str, tuple[float, dict[int, repo.CatalogGift]]] = {}


def forget_catalog() -> None:
    """Drop this process's copies of the gift catalog (an operator edit; a database replaced)."""
    _catalogs.clear()


async def _catalog_gift(db: AsyncSession, gift_id: int) -> repo.CatalogGift | None:
    """A gift of the catalog from this process's copy, read again when older than
    :data:`CATALOG_TTL_S` or when it lacks the gift (one created meanwhile)."""
    key = str(db.get_bind().engine.url)
    now = time.monotonic()
    cached = _catalogs.get(key)
    if cached is not None and now - cached[0] <= CATALOG_TTL_S and gift_id in cached[1]:
        return cached[1][gift_id]
    gifts = {gift.id: gift for gift in await repo.catalog_rows(db)}
    _catalogs[key] = (now, gifts)
    return gifts.get(gift_id)


async def send_gift(db: AsyncSession, sender: User, live_id: int, gift_id: int, quantity: int,
                    settings: Settings) -> dict[str, Any]:
    """Send ``quantity`` of a gift in a LIVE that is on air: coins debited (``402`` if the balance
    does not cover them, nothing changed), the value split between the host's share (routed by
    :func:`hooks.route_host_share`) and gift revenue in one ledger transaction, listeners told,
    and a ``gift`` frame for the room once committed. Answers the frame."""
    require_adult(sender, settings, "send gifts")
    context = await repo.send_context(db, live_id, sender.id)
    if context is None:
        raise NotFound("No such LIVE.", code=LiveError.LIVE_NOT_FOUND)
    if context.status != "live":
        raise Conflict("This LIVE is not on air.", code=LiveError.LIVE_NOT_ON_AIR, details={"status": context.status})
    host_id = context.host_id
    if host_id == sender.id:
        raise Conflict("You cannot send gifts to yourself.", code=GiftsError.CANNOT_GIFT_YOURSELF)
    if context.host_born is None or age_on(context.host_born, datetime.now(UTC).date()) < settings.adult_age:
        raise Forbidden(f"This host cannot receive gifts (under {settings.adult_age}).",
                        code=AccountsError.AGE_RESTRICTED)
    gift = await _catalog_gift(db, gift_id)
    if gift is None or not gift.active:
        raise NotFound("No such gift.", code=GiftsError.GIFT_NOT_FOUND)
    coins = gift.coins * quantity
    now = _now()
    balance = await repo.debit_wallet_returning(db, sender.id, coins, now)
    if balance is None:
        had = await repo.wallet_coins(db, sender.id)
        raise InsufficientCoins(f"This gift needs {coins} coins; you have {had}.",
                                details={"coins": had, "needed": coins})
    value, currency = await spend(db, sender.id, coins)
    currency = currency or settings.coin_currency.upper()
    route = await hooks.route_host_share(db, host_id, now)
    host_share = value * settings.gift_host_share_bps // 10_000
    recent = context.last_gift_id == gift.id and context.last_at is not None and \
        (now - context.last_at).total_seconds() <= settings.gift_combo_seconds
    combo = (context.last_combo if recent else 0) + quantity
    send_id = await repo.insert_send(db, dict(live_id=live_id, host_id=host_id, sender_id=sender.id,
                                              gift_id=gift.id, quantity=quantity, coins=coins, value=value,
                                              currency=currency, host_share=host_share, route=route, combo=combo,
                                              created_at=now))
    await repo.add_entry(db, dict(user_id=sender.id, kind="gift", coins=-coins, amount=-value, currency=currency,
                                  purchase_id=None, gift_send_id=send_id, created_at=now))
    if value:
        share_account = {"diamonds": creator_account(host_id, "available", currency),
                         "credits": user_account(host_id, "credits", currency),
                         "commission": creator_account(host_id, "pending", currency)}[route]
        lines = [Posting(user_account(sender.id, "coins", currency), value),
                 Posting(share_account, -host_share), Posting(platform_account("gift_revenue", currency),
                                                              -(value - host_share))]
        await ledger.post(db, kind="gift", reference=f"gift:{send_id}", currency=currency,
                          memo=f"{quantity} × {gift.name} in LIVE {live_id} ({route})",
                          postings=[line for line in lines if line.amount])
    await hooks.gift_sent(db, hooks.GiftSent(
        gift_tx_id=send_id, sender_id=sender.id, host_id=host_id, live_id=live_id, gift_id=gift.id,
        gift_name=gift.name, coins=coins, value=value, currency=currency, joins_fan_club=gift.joins_fan_club,
        at=now, quantity=quantity, sender_born=sender.date_of_birth))
    frame: dict[str, Any] = {
        "type": "gift", "id": send_id, "sender": {"id": sender.id, "name": sender.display_name},
        "gift": {"id": gift.id, "name": gift.name, "animation": gift.animation, "coins": gift.coins},
        "quantity": quantity, "combo": combo, "coins": coins,
    }
    broadcast.after_commit(db, live_id, frame)
    return {**frame, "route": route, "balance": balance}


# --------------------------------------------------------------------------- leaderboards, diamonds


async def leaderboard(db: AsyncSession, *, live_id: int | None = None, host_id: int | None = None,
                      limit: int = 10) -> list[dict[str, Any]]:
    if live_id is not None and await live_repository.live(db, live_id) is None:
        raise NotFound("No such LIVE.", code=LiveError.LIVE_NOT_FOUND)
    rows = await repo.top_gifters(db, live_id=live_id, host_id=host_id, limit=limit)
    return [{"rank": i + 1, "user_id": uid, "display_name": name, "coins": coins, "gifts": count}
            for i, (uid, name, coins, count) in enumerate(rows)]


async def diamonds(db: AsyncSession, host_id: int, settings: Settings) -> dict[str, Any]:
    """A host's diamonds: one per coin of the gifts they received as diamonds, worth the host share."""
    coins, value, sends = await repo.received(db, host_id, "diamonds")
    by_live = [{"live_id": lid, "title": title, "diamonds": d, "value": v}
               for lid, title, d, v in await repo.received_by_live(db, host_id)]
    return {"diamonds": coins, "value": value, "currency": settings.coin_currency.upper(), "gifts": sends,
            "by_live": by_live}


# Coin purchases learn that their payment went through from the payments domain's hooks
# (payments never imports gifts). Importing this module is enough (idempotent).
payment_hooks.register_succeeded(on_intent_succeeded)
