"""JSON routes of coins and gifts (docs/gifts.md, "API")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from mercato.accounts.deps import AdminUser, CurrentUser
from mercato.kit import idempotency
from mercato.kit.errors import AppError
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.pagination import clamp_limit
from mercato.live.gifts import service
from mercato.live.gifts.presenters import gift_out, purchase_out
from mercato.live.gifts.schemas import CoinPurchaseIn, GiftIn, GiftSendIn, GiftUpdate
from mercato.payments.provider import get_provider

router = APIRouter(prefix="/api/v1", tags=["gifts"])


async def _idempotent(request: Request, db: DbSession, settings: AppSettings, scope: str, body: Any,
                      work: Any) -> Response:
    """Money-moving routes require an ``Idempotency-Key``: a retry replays the first answer."""
    call = await idempotency.begin(db, request, scope, body, lock_seconds=settings.idempotency_lock_seconds,
                                   required=True)
    if call.replay is not None:
        return call.replay
    try:
        status, payload = await work()
    except AppError:
        await call.abandon()
        raise
    return await call.done(status, payload)


@router.get("/coins/packs")
async def coin_packs(settings: AppSettings) -> list[dict[str, Any]]:
    """The coin packs on sale (``settings.coin_packs``)."""
    return [{"key": p.key, "coins": p.coins, "amount": p.amount, "currency": p.currency}
            for p in service.packs(settings)]


@router.post("/coins/purchases", status_code=201)
async def buy_coins(body: CoinPurchaseIn, request: Request, user: CurrentUser, db: DbSession,
                    settings: AppSettings) -> Response:
    """Start buying a coin pack: answers the pending purchase and its ``payment_intent_id``; pay it
    with ``POST /api/v1/payments/{id}/confirm``. Coins are credited once the payment succeeds.
    Requires ``Idempotency-Key``; 18+ only (``403 age_restricted``)."""

    async def work() -> tuple[int, Any]:
        purchase, intent = await service.start_purchase(db, user, body.pack, settings)
        return 201, {**purchase_out(purchase), "payment_intent_id": intent.id}

    return await _idempotent(request, db, settings, f"user:{user.id}:coins", body.model_dump(), work)


@router.post("/coins/purchases/{purchase_id:int}/refund")
async def refund_coins(purchase_id: PathId, request: Request, user: CurrentUser, db: DbSession,
                       settings: AppSettings) -> Response:
    """Refund the purchase's unspent coins to the card (``409`` when none is left). Requires
    ``Idempotency-Key``."""

    async def work() -> tuple[int, Any]:
        provider = get_provider(settings, get_database(request))
        purchase = await service.refund_purchase(db, user, purchase_id, provider=provider)
        return 200, purchase_out(purchase)

    return await _idempotent(request, db, settings, f"user:{user.id}:coin_refund", {"purchase": purchase_id}, work)


@router.get("/coins")
async def my_coins(user: CurrentUser, db: DbSession, settings: AppSettings, cursor: str | None = None,
                   limit: int | None = None) -> dict[str, Any]:
    """The caller's coin balance (and the money behind it) with their purchases and gifts, newest first."""
    return await service.wallet(db, user, settings, cursor, clamp_limit(limit, 20, 100))


@router.get("/gifts")
async def gift_catalog(db: DbSession) -> list[dict[str, Any]]:
    """The active gifts, cheapest first."""
    return [gift_out(g) for g in await service.catalog(db)]


@router.get("/admin/gifts")
async def admin_gifts(user: AdminUser, db: DbSession) -> list[dict[str, Any]]:
    return [gift_out(g) for g in await service.catalog(db, active_only=False)]


@router.post("/admin/gifts", status_code=201)
async def create_gift(body: GiftIn, user: AdminUser, db: DbSession) -> dict[str, Any]:
    """Add a gift to the catalog (operators)."""
    return gift_out(await service.create_gift(db, name=body.name, coins=body.coins, animation=body.animation,
                                              active=body.active, joins_fan_club=body.joins_fan_club))


@router.patch("/admin/gifts/{gift_id:int}")
async def update_gift(gift_id: PathId, body: GiftUpdate, user: AdminUser, db: DbSession) -> dict[str, Any]:
    """Change a gift (operators); ``active: false`` takes it out of the drawer."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return gift_out(await service.update_gift(db, gift_id, changes))


@router.post("/lives/{live_id:int}/gifts", status_code=201)
async def send_gift(live_id: PathId, body: GiftSendIn, request: Request, user: CurrentUser, db: DbSession,
                    settings: AppSettings) -> Response:
    """Send ``quantity`` (1–99) of a gift in a LIVE on air. ``402 insufficient_coins`` when the
    balance does not cover it; 18+ sender and host (``403 age_restricted``). Requires
    ``Idempotency-Key``."""

    async def work() -> tuple[int, Any]:
        return 201, await service.send_gift(db, user, live_id, body.gift_id, body.quantity, settings)

    return await _idempotent(request, db, settings, f"user:{user.id}:gifts",
                             {"live": live_id, **body.model_dump()}, work)


@router.get("/lives/{live_id:int}/gifts/leaderboard")
async def live_leaderboard(live_id: PathId, db: DbSession) -> list[dict[str, Any]]:
    """The LIVE's top gifters by coins."""
    return await service.leaderboard(db, live_id=live_id)


@router.get("/creators/{creator_id:int}/gifts/leaderboard")
async def creator_leaderboard(creator_id: PathId, db: DbSession) -> list[dict[str, Any]]:
    """A creator's top gifters over all their LIVEs."""
    return await service.leaderboard(db, host_id=creator_id)


@router.get("/creators/me/diamonds")
async def my_diamonds(user: CurrentUser, db: DbSession, settings: AppSettings) -> dict[str, Any]:
    """The caller's diamonds (one per coin received as diamonds) and their money value."""
    return await service.diamonds(db, user.id, settings)
