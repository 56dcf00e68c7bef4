"""JSON routes of the buying loop: cart, addresses, checkout, payment, orders, returns, reviews."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import service as accounts_service
from mercato.accounts.deps import AdminUser, CurrentUser, SignedInUnit, csrf_ok, token_from
from mercato.catalog import products as catalog_products
from mercato.catalog import shops as catalog_shops
from mercato.kit import idempotency
from mercato.kit.db import on_end
from mercato.kit.errors import AppError
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.money import format_money
from mercato.kit.pagination import Page, clamp_limit
from mercato.kit.ratelimit import rate_limiter
from mercato.orders import cart as carts
from mercato.orders import checkout as checkouts
from mercato.orders import flash_gate, hooks, lifecycle, payflow, pricing, refunds, reviews, sold_out
from mercato.orders.presenters import (
    checkout_out,
    order_out,
    orders_out,
    placed_checkout_out,
    refund_out,
    return_out,
)
from mercato.orders.schemas import (
    AddressIn,
    AddressOut,
    CardIn,
    CartItemIn,
    CartOut,
    CartQuantityIn,
    CheckoutIn,
    CheckoutOut,
    OrderOut,
    RefundIn,
    RefundOut,
    ReturnAnswerIn,
    ReturnIn,
    ReturnOut,
    ReviewIn,
    ReviewOut,
    ShipIn,
    ShippingRulesIn,
    TaxRateIn,
)

router = APIRouter(prefix="/api/v1", tags=["orders"])
#: The buying loop (add to cart, place a checkout, pay): included first in the app, because routes
#: are matched one by one and these three come before the rest of the API in every purchase.
buying = APIRouter(prefix="/api/v1", tags=["orders"])
Limit = Annotated[int | None, Query(ge=1)]


async def run_idempotent(request: Request, db: DbSession, settings: AppSettings, scope: str, body: Any,
                         work: Callable[[], Awaitable[tuple[int, Any]]]) -> Response:
    """Wrap a money-moving request in ``Idempotency-Key`` handling (docs/orders.md, "Idempotency")."""
    call = await idempotency.begin(db, request, scope, body, lock_seconds=settings.idempotency_lock_seconds)
    if call.replay is not None:
        return call.replay
    try:
        status, payload = await work()
    except AppError:
        await call.abandon()
        raise
    return await call.done(status, payload)


# --- cart ----------------------------------------------------------------------------------


@router.get("/cart", response_model=CartOut)
async def get_cart(user: CurrentUser, db: DbSession) -> CartOut:
    """The cart across shops, priced now, with stock problems flagged per line."""
    return await carts.view(db, user.id)


@buying.post("/cart/items", status_code=201, response_model=CartOut)
async def add_to_cart(body: CartItemIn, unit: SignedInUnit) -> CartOut:
    await carts.add_item(unit.db, unit.user, body.variant_id, body.quantity, unit.settings.max_cart_quantity)
    return await carts.view(unit.db, unit.user.id)


@router.patch("/cart/items/{item_id:int}", response_model=CartOut)
async def change_quantity(item_id: PathId, body: CartQuantityIn, user: CurrentUser, db: DbSession,
                          settings: AppSettings) -> CartOut:
    await carts.set_quantity(db, user, item_id, body.quantity, settings.max_cart_quantity)
    return await carts.view(db, user.id)


@router.delete("/cart/items/{item_id:int}", response_model=CartOut)
async def remove_from_cart(item_id: PathId, user: CurrentUser, db: DbSession) -> CartOut:
    await carts.remove_item(db, user, item_id)
    return await carts.view(db, user.id)


# --- addresses -----------------------------------------------------------------------------


@router.get("/me/addresses", response_model=list[AddressOut])
async def addresses(user: CurrentUser, db: DbSession) -> list[AddressOut]:
    return [AddressOut.model_validate(a, from_attributes=True) for a in await payflow.addresses(db, user)]


@router.post("/me/addresses", status_code=201, response_model=AddressOut)
async def add_address(body: AddressIn, user: CurrentUser, db: DbSession) -> AddressOut:
    return AddressOut.model_validate(await payflow.save_address(db, user, body), from_attributes=True)


@router.delete("/me/addresses/{address_id:int}", status_code=204)
async def delete_address(address_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    await payflow.delete_address(db, user, address_id)
    return Response(status_code=204)


# --- checkout and payment ------------------------------------------------------------------


@router.post("/checkout/quote")
async def quote(body: CheckoutIn, request: Request, user: CurrentUser, db: DbSession,
                settings: AppSettings) -> dict[str, Any]:
    """Totals before paying (orders per shop, shipping, coupons, tax); reserves nothing. With
    ``coupon_codes`` it is a coupon check too, so it counts toward the ``coupon`` rate limit."""
    if body.coupon_codes:
        await rate_limiter(request).check("coupon", request, user_id=user.id)
    priced = await checkouts.quote(db, user, body, settings)
    return {
        "orders": [{"shop_id": d.shop.id, "shop_name": d.shop.name, "currency": d.currency, "subtotal": d.subtotal,
                    "seller_discount": d.seller_discount, "platform_discount": d.platform_discount,
                    "shipping": d.shipping, "tax": d.tax, "total": d.total,
                    "total_display": format_money(d.total, d.currency), "coupons": d.coupon_codes}
                   for d in priced.orders],
        "totals": priced.totals(), "totals_display": priced.totals_display(),
    }


LIVE_BUY_COUNTED = flash_gate.LIVE_BUY_COUNTED


async def sold_out_gate(request: Request) -> None:
    """Runs before the request's write unit of work is opened (FastAPI solves dependencies in
    parameter order): a buy-now for something visibly sold out is refused from a read
    transaction (``sold_out.refuse_if_visibly_sold_out``) — in a flash sale that is nearly
    every request, and none of them then waits for SQLite's single writer. A request the
    ASGI gate (``orders/flash_gate.py``) already read and let through is not read again."""
    if request.scope.get(flash_gate.CHECKED):
        return
    token, via_cookie = token_from(request)
    if not token or (via_cookie and not await csrf_ok(request)):
        return
    try:
        body = CheckoutIn.model_validate_json(await request.body())
    except ValueError:
        return
    if body.items is None:  # a cart checkout: nothing to refuse here, so no read transaction
        return
    async with get_database(request).unit_of_work(write=False) as db:
        found = await accounts_service.resolve_token(db, token)
        if found is not None:
            if body.live_id is not None and not request.scope.get(LIVE_BUY_COUNTED):
                # Anti-scalping counts every LIVE buy, the refused ones too: before the early refusals.
                await rate_limiter(request).check("live_buy", request, user_id=found.id)
                request.scope[LIVE_BUY_COUNTED] = True
            await sold_out.refuse_if_visibly_sold_out(db, found.id, body, request.headers.get(idempotency.HEADER),
                                                       request.app.state.settings)
            if body.live_id is not None:
                await refuse_live_buy_early(db, found.id, body, request.headers.get(idempotency.HEADER))


async def refuse_live_buy_early(db: AsyncSession, user_id: int, body: CheckoutIn, key: str | None) -> None:
    """A LIVE flash deal's refusals (sold out, not open, over the per-buyer limit) from committed
    state on the read transaction, so that the crowd arriving after the last unit never waits for
    the write path (a replay of a known Idempotency-Key goes on to get its stored answer)."""
    selling = hooks.live_selling()
    if selling is None or body.live_id is None or body.items is None:
        return
    if key is not None and await idempotency.is_known(db, f"user:{user_id}:checkouts", key):
        return
    wanted: dict[int, int] = defaultdict(int)
    for item in body.items:
        wanted[item.variant_id] += item.quantity
    await selling.refuse_early(db, body.live_id, user_id, wanted, datetime.now(UTC))


@buying.post("/checkouts", status_code=201, response_model=CheckoutOut,
             dependencies=[Depends(sold_out_gate)])
async def create_checkout(body: CheckoutIn, request: Request, unit: SignedInUnit) -> Response:
    """Place the orders of the cart (or of ``items`` for buy-now): one order per shop, stock
    reserved for the TTL. Accepts ``Idempotency-Key``."""
    db, user, settings = unit.db, unit.user, unit.settings
    await rate_limiter(request).check("checkout", request, user_id=user.id)  # before anything is written
    if body.live_id is not None and not request.scope.get(LIVE_BUY_COUNTED):
        # anti-scalping: a scripted burst of LIVE buys from one account (counted once per request)
        await rate_limiter(request).check("live_buy", request, user_id=user.id)

    drop_claim = request.scope.get(flash_gate.DROP_CLAIM)
    if drop_claim is not None:  # a buy the flash-sale gate admitted: its claim ends with this transaction
        on_end(db, drop_claim)

    async def work() -> tuple[int, Any]:
        placed = checkouts.Placed()
        checkout = await checkouts.place(db, user, body, settings, placed)
        if placed.paid_by_credits:  # the orders were paid too: read the checkout as it now is
            paid = await checkouts.get_checkout(db, user, checkout.id)
            return 201, (await checkout_out(db, paid, settings)).model_dump(mode="json")
        # Built from the rows just written (no reads back); same body as checkout_out.
        return 201, placed_checkout_out(checkout, placed.orders, placed.shops, placed.lines, placed.events,
                                        placed.intents, settings).model_dump(mode="json")

    return await run_idempotent(request, db, settings, f"user:{user.id}:checkouts", body.model_dump(mode="json"),
                                work)


@router.get("/checkouts/{checkout_id:int}", response_model=CheckoutOut)
async def get_checkout(checkout_id: PathId, user: CurrentUser, db: DbSession, settings: AppSettings) -> CheckoutOut:
    return await checkout_out(db, await checkouts.get_checkout(db, user, checkout_id), settings)


@buying.post("/checkouts/{checkout_id:int}/pay", response_model=CheckoutOut,
             responses={402: {"description": "The card was declined (code card_declined or insufficient_funds)"}})
async def pay(checkout_id: PathId, body: CardIn, request: Request, unit: SignedInUnit) -> Response:
    """Pay every payment of the checkout with a card. Accepts ``Idempotency-Key``. A declined card
    answers ``402`` and leaves the orders waiting (and the cart intact) for another card."""
    db, user, settings = unit.db, unit.user, unit.settings
    checkout = await checkouts.get_checkout(db, user, checkout_id)
    fingerprint = {"checkout": checkout_id, "card": payflow.card_fingerprint(body)}

    async def work() -> tuple[int, Any]:
        outcome = await payflow.pay_checkout(db, checkout, body, settings, get_database(request))
        if outcome.declined is not None:
            return 402, outcome.declined
        return 200, (await checkout_out(db, checkout, settings)).model_dump(mode="json")

    return await run_idempotent(request, db, settings, f"user:{user.id}:pay", fingerprint, work)


# --- buyer: orders -------------------------------------------------------------------------


@router.get("/orders", response_model=Page[OrderOut])
async def my_orders(user: CurrentUser, db: DbSession, settings: AppSettings, cursor: str | None = None,
                    limit: Limit = None) -> Page[OrderOut]:
    page = await lifecycle.orders_page(db, limit=clamp_limit(limit, 20, settings.page_size_max), buyer=user,
                                       cursor=cursor)
    return Page[OrderOut](items=await orders_out(db, page.items, settings), next_cursor=page.next_cursor)


@router.get("/orders/{order_id:int}", response_model=OrderOut)
async def get_order(order_id: PathId, user: CurrentUser, db: DbSession, settings: AppSettings) -> OrderOut:
    return await order_out(db, await lifecycle.order_for_buyer(db, user, order_id), settings)


@router.post("/orders/{order_id:int}/cancel", response_model=OrderOut)
async def cancel_order(order_id: PathId, request: Request, user: CurrentUser, db: DbSession,
                       settings: AppSettings) -> Response:
    """Buyer cancel: any time before payment, within 1 hour after. Refunds in full."""
    order = await lifecycle.order_for_buyer(db, user, order_id)

    async def work() -> tuple[int, Any]:
        await lifecycle.cancel(db, order, user, by_seller=False, settings=settings)
        return 200, (await order_out(db, order, settings)).model_dump(mode="json")

    return await run_idempotent(request, db, settings, f"user:{user.id}:cancel", {"order": order_id}, work)


@router.post("/orders/{order_id:int}/returns", status_code=201, response_model=ReturnOut)
async def request_return(order_id: PathId, body: ReturnIn, user: CurrentUser, db: DbSession,
                         settings: AppSettings) -> ReturnOut:
    order = await lifecycle.order_for_buyer(db, user, order_id)
    created = await refunds.request_return(db, order, user, body.reason,
                                           [(line.line_id, line.quantity) for line in body.lines], settings)
    return return_out(created, order.currency)


@router.post("/orders/{order_id:int}/lines/{line_id:int}/review", status_code=201, response_model=ReviewOut)
async def review(order_id: PathId, line_id: PathId, body: ReviewIn, user: CurrentUser, db: DbSession,
                 settings: AppSettings) -> ReviewOut:
    order = await lifecycle.order_for_buyer(db, user, order_id)
    created = await reviews.review_line(db, user, order, line_id, body.rating, body.text, settings)
    return ReviewOut(id=created.id, product_id=created.product_id, rating=created.rating, text=created.text,
                     author=user.display_name, created_at=created.created_at)


@router.get("/products/{product_id:int}/reviews", response_model=list[ReviewOut])
async def product_reviews(product_id: PathId, db: DbSession) -> list[ReviewOut]:
    await catalog_products.visible_product(db, None, product_id)
    return [ReviewOut(id=r.id, product_id=r.product_id, rating=r.rating, text=r.text, author=name,
                      created_at=r.created_at) for r, name in await reviews.reviews_of_product(db, product_id, 50)]


# --- seller: orders, returns, refunds, shipping --------------------------------------------


@router.get("/shops/{slug}/orders", response_model=Page[OrderOut])
async def shop_orders(slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                      status: Annotated[str | None, Query(max_length=20)] = None, cursor: str | None = None,
                      limit: Limit = None) -> Page[OrderOut]:
    shop = await catalog_shops.member_shop(db, user, slug)
    page = await lifecycle.orders_page(db, limit=clamp_limit(limit, 20, settings.page_size_max), shop_id=shop.id,
                                       status=status, cursor=cursor)
    return Page[OrderOut](items=await orders_out(db, page.items, settings, seller_view=True),
                          next_cursor=page.next_cursor)


@router.get("/seller/orders/{order_id:int}", response_model=OrderOut)
async def seller_order(order_id: PathId, user: CurrentUser, db: DbSession, settings: AppSettings) -> OrderOut:
    return await order_out(db, await lifecycle.order_for_seller(db, user, order_id), settings, seller_view=True)


@router.post("/seller/orders/{order_id:int}/ship", response_model=OrderOut)
async def ship(order_id: PathId, body: ShipIn, user: CurrentUser, db: DbSession, settings: AppSettings) -> OrderOut:
    order = await lifecycle.order_for_seller(db, user, order_id)
    await lifecycle.ship(db, order, user, body.carrier, body.tracking_number)
    return await order_out(db, order, settings, seller_view=True)


@router.post("/seller/orders/{order_id:int}/deliver", response_model=OrderOut)
async def deliver(order_id: PathId, user: CurrentUser, db: DbSession, settings: AppSettings) -> OrderOut:
    order = await lifecycle.order_for_seller(db, user, order_id)
    await lifecycle.deliver(db, order, user)
    return await order_out(db, order, settings, seller_view=True)


@router.post("/seller/orders/{order_id:int}/cancel", response_model=OrderOut)
async def seller_cancel(order_id: PathId, request: Request, user: CurrentUser, db: DbSession,
                        settings: AppSettings) -> Response:
    order = await lifecycle.order_for_seller(db, user, order_id)

    async def work() -> tuple[int, Any]:
        await lifecycle.cancel(db, order, user, by_seller=True, settings=settings)
        return 200, (await order_out(db, order, settings, seller_view=True)).model_dump(mode="json")

    return await run_idempotent(request, db, settings, f"shop:{order.shop_id}:cancel", {"order": order_id}, work)


@router.post("/seller/orders/{order_id:int}/refunds", status_code=201, response_model=RefundOut)
async def refund(order_id: PathId, body: RefundIn, request: Request, user: CurrentUser, db: DbSession,
                 settings: AppSettings) -> Response:
    """A full or partial refund of a paid order. Accepts ``Idempotency-Key``."""
    order = await lifecycle.order_for_seller(db, user, order_id)

    async def work() -> tuple[int, Any]:
        created = await refunds.refund_order(db, order, body.amount, reason=body.reason, settings=settings,
                                             actor=user)
        return 201, refund_out(created, order.currency).model_dump(mode="json")

    return await run_idempotent(request, db, settings, f"shop:{order.shop_id}:refunds",
                                {"order": order_id, **body.model_dump()}, work)


@router.get("/shops/{slug}/returns", response_model=list[ReturnOut])
async def shop_returns(slug: str, user: CurrentUser, db: DbSession,
                       status: Annotated[str | None, Query(max_length=12)] = None) -> list[ReturnOut]:
    shop = await catalog_shops.member_shop(db, user, slug)
    return [return_out(row, currency) for row, currency in await refunds.returns_of_shop(db, shop.id, status)]


@router.post("/returns/{return_id:int}/approve", response_model=ReturnOut)
async def approve_return(return_id: PathId, body: ReturnAnswerIn, user: CurrentUser, db: DbSession,
                         settings: AppSettings) -> ReturnOut:
    request_row, order = await refunds.return_for_seller(db, user, return_id)
    await refunds.answer_return(db, request_row, order, approve=True, note=body.note, settings=settings, actor=user)
    return return_out(request_row, order.currency)


@router.post("/returns/{return_id:int}/refuse", response_model=ReturnOut)
async def refuse_return(return_id: PathId, body: ReturnAnswerIn, user: CurrentUser, db: DbSession,
                        settings: AppSettings) -> ReturnOut:
    request_row, order = await refunds.return_for_seller(db, user, return_id)
    await refunds.answer_return(db, request_row, order, approve=False, note=body.note, settings=settings, actor=user)
    return return_out(request_row, order.currency)


@router.put("/shops/{slug}/shipping")
async def shipping_rules(slug: str, body: ShippingRulesIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """The shop's flat shipping fee per order and the items subtotal from which shipping is free."""
    shop = await catalog_shops.member_shop(db, user, slug)
    await catalog_shops.set_shipping_rules(db, shop, body.shipping_fee, body.free_shipping_above)
    return {"shipping_fee": shop.shipping_fee, "free_shipping_above": shop.free_shipping_above}


@router.get("/admin/tax-rates", response_model=list[TaxRateIn])
async def list_tax_rates(admin: AdminUser, db: DbSession) -> list[TaxRateIn]:
    return [TaxRateIn(region=r.region, rate_bps=r.rate_bps, label=r.label) for r in await pricing.tax_rates(db)]


@router.put("/admin/tax-rates", response_model=TaxRateIn)
async def put_tax_rate(body: TaxRateIn, admin: AdminUser, db: DbSession) -> TaxRateIn:
    rate = await pricing.set_tax_rate(db, body.region, body.rate_bps, body.label)
    return TaxRateIn(region=rate.region, rate_bps=rate.rate_bps, label=rate.label)


__all__ = ["JSONResponse", "router"]
