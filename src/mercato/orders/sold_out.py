"""The one place that decides "sold out" and words it.

Three places refuse a buy for want of stock: the ASGI flash-sale gate (``flash_gate.py``,
before the framework), the checkout route's read-only dependency (``api.sold_out_gate`` →
:func:`refuse_if_visibly_sold_out`, before the write transaction) and checkout itself
(``checkout.place``, on the rows it is about to reserve). They all ask :func:`short` and
answer with :func:`out_of_stock` / :func:`out_of_stock_body`, so the rule and the text are
the same whichever path answers. The guarded update in ``inventory.service.reserve`` alone
decides who gets a unit; these only refuse early what it would refuse.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit import idempotency
from mercato.kit.errors import Conflict, error_body
from mercato.orders import repository
from mercato.orders.errors import OrdersError
from mercato.orders.schemas import CheckoutIn


def short(available: int, quantity: int) -> bool:
    """Whether ``quantity`` units cannot be had when ``available`` are left."""
    return available < quantity


def stock_message(available: int) -> str:
    return "This item is out of stock." if available <= 0 else f"Only {available} left."


def message(product_title: str, variant_title: str, available: int) -> str:
    return f"{product_title} ({variant_title}): {stock_message(available)}"


def out_of_stock(variant_id: int, product_title: str, variant_title: str, available: int) -> Conflict:
    """The ``409 out_of_stock`` of a buy short of stock."""
    return Conflict(message(product_title, variant_title, available), code=OrdersError.OUT_OF_STOCK,
                    details={"variant_id": variant_id, "available": available})


def out_of_stock_body(variant_id: int, product_title: str, variant_title: str, available: int) -> dict[str, Any]:
    """The body of :func:`out_of_stock`, for the ASGI gate that answers without the framework."""
    return error_body(OrdersError.OUT_OF_STOCK, message(product_title, variant_title, available),
                      {"variant_id": variant_id, "available": available})


async def refuse_if_visibly_sold_out(db: AsyncSession, user_id: int, body: CheckoutIn, idempotency_key: str | None,
                                     settings: Settings) -> None:
    """The flash-sale fast path behind the ASGI gate: on a *read* transaction, before the write
    path is touched (on SQLite: before the process's write lock), answer ``409 out_of_stock``
    to a buy-now whose item is visibly sold out — what ``checkout.place`` would answer after
    four write transactions.

    Only a refusal is decided here; everything else (including any problem with the request)
    falls through to the normal path, which decides for real. A request whose Idempotency-Key
    is already known falls through too, so that a replay returns its stored answer even after
    the stock ran out (docs/orders.md, "Idempotency"). The snapshot may be a moment old; a
    refusal is then the answer the buyer would have had a moment earlier, never an oversell.
    """
    if body.items is None:
        return
    scope = f"user:{user_id}:checkouts"
    if idempotency_key is not None and await idempotency.is_known(db, scope, idempotency_key):
        return
    wanted: dict[int, int] = defaultdict(int)
    for item in body.items:
        wanted[item.variant_id] += item.quantity
    for variant_id, quantity in sorted(wanted.items()):
        found = await repository.purchase_line(db, variant_id)
        if found is None or found[1].status != "active":
            return  # the normal path answers 404
        variant, product, _ = found
        if short(variant.available, quantity) and quantity <= settings.max_cart_quantity:
            raise out_of_stock(variant_id, product.title, variant.title, variant.available)
