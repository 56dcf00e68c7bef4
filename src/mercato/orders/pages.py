"""Web pages of the buying loop: cart, checkout and payment, orders, and the Seller Center's
orders and returns; plus the dev inbox of recorded emails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.deps import CurrentUser, rate_limited
from mercato.catalog import shops as catalog_shops
from mercato.catalog.presenters import shop_out
from mercato.catalog.seller_pages import decimal_input
from mercato.config import Settings
from mercato.kit import outbox
from mercato.kit.errors import AppError, ValidationFailed
from mercato.kit.fields import MAX_ID, PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.money import MoneyError, format_money, parse_amount
from mercato.kit.ratelimit import rate_limiter
from mercato.orders import cart as carts
from mercato.orders import checkout as checkouts
from mercato.orders import hooks as order_hooks
from mercato.orders import lifecycle, payflow, refunds, reviews
from mercato.orders.errors import OrdersError
from mercato.orders.presenters import checkout_out, order_out, orders_out, return_out
from mercato.orders.schemas import AddressIn, BuyNowItem, CardIn, CheckoutIn
from mercato.promotions import credits as shopping_credits
from mercato.web.forms import error_messages, form_data, rollback
from mercato.web.render import redirect, render

if TYPE_CHECKING:  # for annotations only: routes import no models at run time
    from mercato.accounts.models import User
    from mercato.catalog.models import Shop
    from mercato.orders.models import Order

router = APIRouter(include_in_schema=False)
FormErrors = (ValidationError, AppError)
TEST_CARDS = [
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "is declined"),
    ("4000 0000 0000 9995", "has insufficient funds"),
    ("4000 0027 6000 3184", "asks for a confirmation step"),
]


def _int(value: str | None, default: int = 0) -> int:
    try:
        number = int(value or default)
    except ValueError as exc:
        raise ValidationFailed("Enter a whole number.", code=OrdersError.INVALID_NUMBER) from exc
    if not -MAX_ID <= number <= MAX_ID:  # ids and quantities fit in the databases' BIGINT
        raise ValidationFailed("Enter a whole number.", code=OrdersError.INVALID_NUMBER)
    return number


# --- cart ----------------------------------------------------------------------------------


@router.get("/cart", response_class=HTMLResponse)
async def cart_page(request: Request, user: CurrentUser, db: DbSession) -> Response:
    return render(request, "orders/cart.html", {"cart": await carts.view(db, user.id),
                                                "error": request.query_params.get("error")}, user=user)


@router.post("/cart/add")
async def cart_add(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    form = await form_data(request)
    variant_id, quantity = _int(form.get("variant_id")), _int(form.get("quantity"), 1)
    if form.get("buy_now") and variant_id >= 1 and 1 <= quantity <= min(99, settings.max_cart_quantity):
        # Buy now checks out this item alone and leaves the cart as it is (docs/orders.md).
        return redirect(f"/checkout?item={variant_id}&qty={quantity}")
    try:
        await carts.add_item(db, user, variant_id, quantity, settings.max_cart_quantity)
    except AppError as exc:
        await rollback(db, user)
        if request.headers.get("hx-request"):
            return render(request, "orders/_cart_feedback.html", {"error": exc.message}, user=user, status=200)
        return redirect(f"/cart?error={exc.message}")
    if request.headers.get("hx-request"):
        return render(request, "orders/_cart_feedback.html",
                      {"added": True, "count": await carts.count(db, user.id)}, user=user)
    return redirect("/cart")


@router.post("/cart/items/{item_id:int}")
async def cart_update(request: Request, item_id: PathId, user: CurrentUser, db: DbSession,
                      settings: AppSettings) -> Response:
    form = await form_data(request)
    quantity = 0 if form.get("action") == "remove" else _int(form.get("quantity"), 1)
    try:
        await carts.set_quantity(db, user, item_id, quantity, settings.max_cart_quantity)
    except AppError as exc:
        await rollback(db, user)
        return redirect(f"/cart?error={exc.message}")
    return redirect("/cart")


# --- checkout ------------------------------------------------------------------------------


def _checkout_body(form: dict[str, str], item: int | None, qty: int) -> CheckoutIn:
    items = [BuyNowItem(variant_id=item, quantity=qty)] if item else None
    codes = [c for c in form.get("coupon_codes", "").replace(",", " ").split() if c]
    address: AddressIn | None = None
    address_id = _int(form.get("address_id")) if form.get("address_id") not in (None, "", "new") else None
    if address_id is None and form.get("line1"):
        address = AddressIn(name=form.get("name", ""), line1=form.get("line1", ""), line2=form.get("line2", ""),
                            city=form.get("city", ""), region=form.get("region", ""),
                            postal_code=form.get("postal_code", ""), country=form.get("country", ""),
                            phone=form.get("phone", ""), is_default=True)
    return CheckoutIn(address_id=address_id, address=address, coupon_codes=codes, items=items,
                      use_credits=form.get("use_credits") == "1")


async def _count_coupon_codes(request: Request, user: User, form: dict[str, str]) -> None:
    """Totals with coupon codes say whether a code exists: the API's ``coupon`` budget."""
    if form.get("coupon_codes", "").strip():
        await rate_limiter(request).check("coupon", request, user_id=user.id)


async def _checkout_context(db: AsyncSession, user: User, settings: Settings, form: dict[str, str],
                            item: int | None, qty: int) -> dict[str, Any]:
    addresses = await payflow.addresses(db, user, default_first=True)
    context: dict[str, Any] = {"addresses": addresses, "values": form, "item": item, "qty": qty, "quote": None,
                               "errors": {}}
    try:
        body = _checkout_body(form, item, qty)
        if addresses or body.address is not None:
            context["quote"] = quote = await checkouts.quote(db, user, body, settings)
            context["credits"] = await _usable_credits(db, user, quote.totals())
    except FormErrors as exc:
        context["error"], context["errors"] = error_messages(exc)
    return context


async def _usable_credits(db: AsyncSession, user: User, totals: dict[str, int]) -> dict[str, int]:
    """Per currency of the checkout, how much of its total the buyer's shopping credits can pay
    (currencies where they have none are left out): the "Use $X of credits" box."""
    return {cur: min(amount, totals[cur]) for cur, amount in (await shopping_credits.balances(db, user.id)).items()
            if totals.get(cur, 0) > 0 and amount > 0}


@router.get("/checkout", response_class=HTMLResponse)
async def checkout_page(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings,
                        item: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                        qty: Annotated[int, Query(ge=1, le=99)] = 1) -> Response:
    await _count_coupon_codes(request, user, dict(request.query_params))
    context = await _checkout_context(db, user, settings, dict(request.query_params), item, qty)
    return render(request, "orders/checkout.html", context, user=user)


@router.post("/checkout", response_class=HTMLResponse, dependencies=[rate_limited("checkout")])
async def checkout_submit(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    form = await form_data(request)
    await _count_coupon_codes(request, user, form)
    item = _int(form.get("item")) or None
    qty = _int(form.get("qty"), 1)
    if form.get("action") == "apply":
        context = await _checkout_context(db, user, settings, form, item, qty)
        return render(request, "orders/checkout.html", context, user=user)
    try:
        body = _checkout_body(form, item, qty)
        if body.address is not None:
            saved = await payflow.save_address(db, user, body.address)
            body = body.model_copy(update={"address": None, "address_id": saved.id})
        checkout = await checkouts.place(db, user, body, settings)
    except FormErrors as exc:
        await rollback(db, user)
        context = await _checkout_context(db, user, settings, form, item, qty)
        context["error"], context["errors"] = error_messages(exc)
        return render(request, "orders/checkout.html", context, user=user,
                      status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/checkout/{checkout.id}/pay")


@router.get("/checkout/{checkout_id:int}/pay", response_class=HTMLResponse)
async def pay_page(request: Request, checkout_id: PathId, user: CurrentUser, db: DbSession,
                   settings: AppSettings) -> Response:
    checkout = await checkouts.get_checkout(db, user, checkout_id)
    if checkout.status == "paid" and not request.headers.get("hx-request"):  # the poll gets "Paid!" in place
        return redirect(f"/orders?placed={checkout.id}")
    data = await checkout_out(db, checkout, settings)
    template = "orders/_pay_status.html" if request.headers.get("hx-request") else "orders/pay.html"
    return render(request, template, {"checkout": data, "cards": TEST_CARDS, "values": {}}, user=user)


@router.post("/checkout/{checkout_id:int}/pay", response_class=HTMLResponse)
async def pay_submit(request: Request, checkout_id: PathId, user: CurrentUser, db: DbSession,
                     settings: AppSettings) -> Response:
    checkout = await checkouts.get_checkout(db, user, checkout_id)
    form = await form_data(request)
    values = {"name": form.get("name", ""), "exp": form.get("exp", "")}
    try:
        month, _, year = form.get("exp", "").partition("/")
        year_int = _int(year.strip()) if year.strip() else 0
        card = CardIn(card_number=form.get("card_number", ""), exp_month=_int(month.strip()) if month.strip() else 0,
                      exp_year=year_int + 2000 if 0 < year_int < 100 else year_int, cvc=form.get("cvc", ""),
                      name=form.get("name", ""))
        outcome = await payflow.pay_checkout(db, checkout, card, settings, get_database(request))
    except FormErrors as exc:
        await rollback(db, user, checkout)
        message, errors = error_messages(exc)
        data = await checkout_out(db, checkout, settings)
        return render(request, "orders/pay.html", {"checkout": data, "cards": TEST_CARDS, "error": message,
                                                   "errors": errors, "values": values}, user=user,
                      status=exc.status if isinstance(exc, AppError) else 422)
    if outcome.declined is not None:
        data = await checkout_out(db, checkout, settings)
        return render(request, "orders/pay.html", {"checkout": data, "cards": TEST_CARDS, "values": values,
                                                   "error": outcome.declined["error"]["message"]},
                      user=user, status=402)
    data = await checkout_out(db, checkout, settings)
    for payment in data.payments:
        if payment.status == "requires_action" and payment.next_action:
            url = str(payment.next_action.get("url", ""))
            if url.startswith("/"):  # the sandbox's page links back here once answered
                return redirect(f"{url}{'&' if '?' in url else '?'}return_to={quote(f'/checkout/{checkout.id}/pay')}")
    if checkout.status == "paid":
        return redirect(f"/orders?placed={checkout.id}")
    return redirect(f"/checkout/{checkout.id}/pay")


# --- buyer orders --------------------------------------------------------------------------


@router.get("/orders", response_class=HTMLResponse)
async def orders_page(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    rows = await lifecycle.recent_orders(db, limit=100, buyer=user)
    return render(request, "orders/orders.html", {
        "orders": await orders_out(db, rows, settings),
        "placed": request.query_params.get("placed")}, user=user)


@router.get("/orders/{order_id:int}", response_class=HTMLResponse)
async def order_page(request: Request, order_id: PathId, user: CurrentUser, db: DbSession,
                     settings: AppSettings) -> Response:
    order = await lifecycle.order_for_buyer(db, user, order_id)
    return await _order_page(request, db, user, order, settings)


async def _order_page(request: Request, db: AsyncSession, user: User, order: Order, settings: Settings,
                      error: str | None = None, status: int = 200) -> Response:
    returns = await refunds.returns_of_order(db, order)
    return render(request, "orders/order.html", {
        "o": await order_out(db, order, settings), "returns": [return_out(r, order.currency) for r in returns],
        "error": error, "saved": request.query_params.get("saved")}, user=user, status=status)


@router.post("/orders/{order_id:int}/action", response_class=HTMLResponse)
async def order_action(request: Request, order_id: PathId, user: CurrentUser, db: DbSession,
                       settings: AppSettings) -> Response:
    order = await lifecycle.order_for_buyer(db, user, order_id)
    form = await form_data(request)
    action = form.get("action")
    try:
        if action == "cancel":
            await lifecycle.cancel(db, order, user, by_seller=False, settings=settings)
        elif action == "return":
            lines = [(int(key.removeprefix("return_qty_")), _int(value)) for key, value in form.items()
                     if key.startswith("return_qty_") and _int(value) > 0]
            if not lines:
                raise ValidationFailed("Choose at least one item to return.", code=OrdersError.NO_ITEMS)
            await refunds.request_return(db, order, user, form.get("reason", ""), lines, settings)
        elif action == "review":
            await reviews.review_line(db, user, order, _int(form.get("line_id")), _int(form.get("rating")),
                                      form.get("text", ""), settings)
        else:
            raise ValidationFailed("Unknown action.", code=OrdersError.UNKNOWN_ACTION)
    except FormErrors as exc:
        await rollback(db, user, order)
        message, _ = error_messages(exc)
        return await _order_page(request, db, user, order, settings, error=message,
                                 status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/orders/{order.id}?saved={action}")


# --- seller --------------------------------------------------------------------------------


async def _seller_nav(db: AsyncSession, user: User, shop: Shop) -> dict[str, Any]:
    role = await catalog_shops.member_role(db, shop, user)
    return {"shop": shop_out(shop, role)}


@router.get("/seller/{slug}/orders", response_class=HTMLResponse)
async def seller_orders(request: Request, slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                        status: str | None = None) -> Response:
    shop = await catalog_shops.member_shop(db, user, slug)
    rows = await lifecycle.recent_orders(db, limit=100, shop_id=shop.id, status=status)
    return render(request, "orders/seller_orders.html", {
        **await _seller_nav(db, user, shop), "orders": await orders_out(db, rows, settings, seller_view=True),
        "status": status or "", "raw_shop": shop, "decimal_input": decimal_input}, user=user)


@router.post("/seller/{slug}/shipping", response_class=HTMLResponse)
async def seller_shipping(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    shop = await catalog_shops.member_shop(db, user, slug)
    form = await form_data(request)
    try:
        fee = parse_amount(form.get("shipping_fee") or "0", shop.currency)
        free = form.get("free_shipping_above", "").strip()
        await catalog_shops.set_shipping_rules(db, shop, fee, parse_amount(free, shop.currency) if free else None)
    except MoneyError:
        await rollback(db, user, shop)
        return redirect(f"/seller/{slug}/orders?error=shipping")
    return redirect(f"/seller/{slug}/orders")


@router.get("/seller/{slug}/orders/{order_id:int}", response_class=HTMLResponse)
async def seller_order_page(request: Request, slug: str, order_id: PathId, user: CurrentUser, db: DbSession,
                            settings: AppSettings) -> Response:
    shop = await catalog_shops.member_shop(db, user, slug)
    order = await lifecycle.order_for_seller(db, user, order_id)
    return await _seller_order_page(request, db, user, shop, order, settings)


async def _seller_order_page(request: Request, db: AsyncSession, user: User, shop: Shop, order: Order,
                             settings: Settings, error: str | None = None, status: int = 200) -> Response:
    returns = await refunds.returns_of_order(db, order)
    return render(request, "orders/seller_order.html", {
        **await _seller_nav(db, user, shop), "o": await order_out(db, order, settings, seller_view=True),
        "returns": [return_out(r, order.currency) for r in returns], "error": error,
        "panels": await order_hooks.panels_of_order(db, order.id),
        "saved": request.query_params.get("saved")}, user=user, status=status)


@router.post("/seller/{slug}/orders/{order_id:int}", response_class=HTMLResponse)
async def seller_order_action(request: Request, slug: str, order_id: PathId, user: CurrentUser, db: DbSession,
                              settings: AppSettings) -> Response:
    shop = await catalog_shops.member_shop(db, user, slug)
    order = await lifecycle.order_for_seller(db, user, order_id)
    form = await form_data(request)
    action = form.get("action", "")
    try:
        if action == "ship":
            carrier, tracking = form.get("carrier", "").strip(), form.get("tracking_number", "").strip()
            if len(carrier) < 2 or len(tracking) < 3:
                raise ValidationFailed("Enter the carrier and the tracking number.",
                                       code=OrdersError.TRACKING_REQUIRED)
            await lifecycle.ship(db, order, user, carrier, tracking)
        elif action == "deliver":
            await lifecycle.deliver(db, order, user)
        elif action == "cancel":
            await lifecycle.cancel(db, order, user, by_seller=True, settings=settings)
        elif action == "refund":
            try:
                amount = parse_amount(form.get("amount", ""), order.currency)
            except MoneyError as exc:
                raise ValidationFailed(f"Refund amount: {exc}.", code=OrdersError.INVALID_AMOUNT) from exc
            await refunds.refund_order(db, order, amount, reason=form.get("reason", ""), settings=settings, actor=user)
        elif action in ("approve_return", "refuse_return"):
            request_row, _ = await refunds.return_for_seller(db, user, _int(form.get("return_id")))
            await refunds.answer_return(db, request_row, order, approve=action == "approve_return",
                                        note=form.get("note", ""), settings=settings, actor=user)
        else:
            raise ValidationFailed("Unknown action.", code=OrdersError.UNKNOWN_ACTION)
    except FormErrors as exc:
        await rollback(db, user, shop, order)
        message, _ = error_messages(exc)
        return await _seller_order_page(request, db, user, shop, order, settings, error=message,
                                        status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/seller/{slug}/orders/{order.id}?saved={action}")


@router.get("/seller/{slug}/returns", response_class=HTMLResponse)
async def seller_returns(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    shop = await catalog_shops.member_shop(db, user, slug)
    rows = await refunds.returns_of_shop(db, shop.id)
    return render(request, "orders/seller_returns.html", {
        **await _seller_nav(db, user, shop), "returns": [return_out(r, cur) for r, cur in rows]}, user=user)


# --- dev inbox -----------------------------------------------------------------------------


@router.get("/dev/inbox", response_class=HTMLResponse)
async def dev_inbox(request: Request, user: CurrentUser, db: DbSession) -> Response:
    """Emails Mercato recorded instead of sending: operators see all, everyone else their own."""
    emails = await outbox.recent_emails(db, 100, None if user.is_admin else user.email)
    return render(request, "orders/inbox.html", {"emails": emails}, user=user)


__all__ = ["format_money", "router"]
