"""Every query of the orders domain (carts, addresses, checkouts, orders, events, returns,
refunds, reviews, tax rates), and the statements it composes with other domains' fragments.

The buying loop's hot statements are plain SQL (``kit.sql`` :class:`InTransaction`); the rest
uses the ORM. Reads of other domains' tables are never written here: where one statement must
read them (the cart's joined lines, an email's names and addresses, the flash-sale gate's
facts) the owning domain's repository supplies the SQL fragment and this module only puts the
pieces together, so the statement count of the hot paths stays the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Product, Shop, Variant
from mercato.kit.sql.committed import CommittedReads
from mercato.kit.sql.statements import insert_sql, update_sql
from mercato.kit.sql.transaction import InTransaction, snapshot
from mercato.orders import hooks
from mercato.orders.models import (
    Address,
    CartItem,
    Checkout,
    Order,
    OrderEvent,
    OrderLine,
    Refund,
    ReturnRequest,
    Review,
    TaxRate,
)

# --- cart ----------------------------------------------------------------------------------

_CART_LINES_SQL = (f"SELECT {catalog_repo.PURCHASE_LINE_COLUMNS}, cart_items.quantity, cart_items.id "  # noqa: S608
                   f"FROM cart_items JOIN variants ON variants.id = cart_items.variant_id "
                   f"{catalog_repo.PURCHASE_LINE_JOIN} WHERE cart_items.user_id = :user ORDER BY cart_items.id")
_CART_ITEM_SQL = "SELECT id, quantity FROM cart_items WHERE user_id = :user AND variant_id = :variant"
_CART_INSERT_SQL = insert_sql(CartItem, ("user_id", "variant_id", "quantity", "created_at", "updated_at"))
_CART_SET_SQL = update_sql(CartItem, ("quantity", "updated_at"))
_CART_TAKE_ALL_SQL = "DELETE FROM cart_items WHERE user_id = :user AND variant_id = :variant AND quantity <= :q"
_CART_TAKE_SOME_SQL = ("UPDATE cart_items SET quantity = quantity - :q, updated_at = :now "
                       "WHERE user_id = :user AND variant_id = :variant AND quantity > :q")

PurchaseLine = tuple[Variant, Product, Shop]


def _line_objects(row: Sequence[Any]) -> PurchaseLine:
    """Detached model objects (read-only snapshots, never added to the session) from a
    ``PURCHASE_LINE_COLUMNS`` row: cheaper than the ORM loading three full rows."""
    (variant_id, product_id, price, currency, title, sku, stock, reserved, allocated, product_title, status,
     shop_id, slug, shop_name, shop_currency, shipping_fee, free_above) = row[:17]
    return (snapshot(Variant, dict(id=variant_id, product_id=product_id, shop_id=shop_id, price=price,
                                   currency=currency, title=title, sku=sku, stock=stock, reserved=reserved,
                                   allocated=allocated)),
            snapshot(Product, dict(id=product_id, shop_id=shop_id, title=product_title, status=status)),
            snapshot(Shop, dict(id=shop_id, slug=slug, name=shop_name, currency=shop_currency,
                                shipping_fee=shipping_fee, free_shipping_above=free_above)))


async def purchase_line(db: AsyncSession, variant_id: int) -> PurchaseLine | None:
    """A variant with its product and shop (snapshots), whatever the product's status; one
    plain joined statement."""
    row = await catalog_repo.purchase_line(db, variant_id)
    return None if row is None else _line_objects(row)


async def cart_lines(db: AsyncSession, user_id: int) -> list[tuple[PurchaseLine, int, int]]:
    """The cart's lines in the order they were added: (line objects, quantity, cart item id)."""
    rows = await InTransaction.of(db).all(_CART_LINES_SQL, {"user": user_id})
    return [(_line_objects(row), int(row[17]), int(row[18])) for row in rows]


async def cart_item_for(db: AsyncSession, user_id: int, variant_id: int) -> tuple[int, int] | None:
    """(id, quantity) of the user's cart item of the variant."""
    row = await InTransaction.of(db).first(_CART_ITEM_SQL, {"user": user_id, "variant": variant_id})
    return None if row is None else (int(row[0]), int(row[1]))


async def insert_cart_item(db: AsyncSession, user_id: int, variant_id: int, quantity: int, now: datetime) -> None:
    await InTransaction.of(db).execute(_CART_INSERT_SQL, {"user_id": user_id, "variant_id": variant_id,
                                                          "quantity": quantity, "created_at": now, "updated_at": now})


async def set_cart_quantity(db: AsyncSession, item_id: int, quantity: int, now: datetime) -> None:
    raw = InTransaction.of(db)
    await raw.execute(_CART_SET_SQL, {"quantity": quantity, "updated_at": now, "id": item_id})
    raw.sync(CartItem, item_id, quantity=quantity, updated_at=now)


async def cart_item(db: AsyncSession, item_id: int) -> CartItem | None:
    return await db.get(CartItem, item_id)


async def delete_row(db: AsyncSession, row: CartItem | Address) -> None:
    await db.delete(row)
    await db.flush()


async def take_from_cart(db: AsyncSession, user_id: int, bought: Mapping[int, int], now: datetime) -> None:
    """Take the bought quantities out of the user's cart: an item with no more than was bought
    goes, a larger one shrinks (rows in variant order; loaded rows are not kept current)."""
    raw = InTransaction.of(db)
    for variant_id, quantity in sorted(bought.items()):
        params = {"user": user_id, "variant": variant_id, "q": quantity, "now": now}
        if not await raw.execute(_CART_TAKE_ALL_SQL, params):
            await raw.execute(_CART_TAKE_SOME_SQL, params)


async def cart_count(db: AsyncSession, user_id: int) -> int:
    return int((await db.execute(select(func.coalesce(func.sum(CartItem.quantity), 0))
                                 .where(CartItem.user_id == user_id))).scalar_one())


# --- addresses -----------------------------------------------------------------------------


async def addresses_of(db: AsyncSession, user_id: int, *, default_first: bool = False) -> list[Address]:
    """The address book in the order entered, or default first then newest (checkout's choice)."""
    order = (Address.is_default.desc(), Address.id.desc()) if default_first else (Address.id,)
    return list((await db.execute(select(Address).where(Address.user_id == user_id).order_by(*order))).scalars())


async def address(db: AsyncSession, address_id: int) -> Address | None:
    return await db.get(Address, address_id)


async def default_address(db: AsyncSession, user_id: int) -> Address | None:
    return (await db.execute(select(Address).where(Address.user_id == user_id)
                             .order_by(Address.is_default.desc(), Address.id.desc()).limit(1))).scalar_one_or_none()


async def add_address(db: AsyncSession, user_id: int, values: Mapping[str, Any]) -> Address:
    if values.get("is_default"):
        await db.execute(update(Address).where(Address.user_id == user_id).values(is_default=False))
    row = Address(user_id=user_id, **values)
    db.add(row)
    await db.flush()
    return row


# --- checkouts and orders ------------------------------------------------------------------

_CHECKOUT_SQL = f"SELECT {InTransaction.columns(Checkout, 'c')} FROM checkouts c WHERE c.id = :id"  # noqa: S608
_CHECKOUT_COLUMNS = ("buyer_id", "status", "address", "expires_at", "source", "created_at", "updated_at")
_CHECKOUT_INSERT_SQL = insert_sql(Checkout, _CHECKOUT_COLUMNS, returning="id")
#: What checkout writes of a new order (the columns left out keep their defaults: no timestamps
#: of later steps, no carrier).
ORDER_COLUMNS = ("checkout_id", "buyer_id", "shop_id", "status", "currency", "subtotal", "seller_discount",
                 "platform_discount", "shipping", "tax", "total", "fee", "refunded", "address", "seller_coupon_id",
                 "platform_coupon_id", "payment_intent_id", "live_id", "source", "credits", "created_at",
                 "updated_at")
_ORDER_INSERT_SQL = insert_sql(Order, ORDER_COLUMNS, returning="id")
LINE_COLUMNS = ("order_id", "product_id", "variant_id", "title", "variant_title", "sku", "unit_price", "quantity",
                "discount", "total", "refunded_quantity")
_LINE_INSERT_SQL = insert_sql(OrderLine, LINE_COLUMNS, returning="id")
_ORDERS_OF_INTENT_SQL = ("SELECT id, status, checkout_id, shop_id, buyer_id, currency, total, tax, "
                         "platform_discount, refunded, credits, live_id FROM orders WHERE payment_intent_id = :intent "
                         "ORDER BY id")
_MARK_PAID_SQL = update_sql(Order, ("status", "paid_at", "fee", "updated_at"),
                            where="id = :id AND status = :from_status")
_SOLD_LINES_SQL = "SELECT id, variant_id, product_id, quantity FROM order_lines WHERE order_id IN :ids ORDER BY id"
_CHECKOUT_STATE_SQL = "SELECT status, source, buyer_id FROM checkouts WHERE id = :id"
_CLOSE_PAID_SQL = ("UPDATE checkouts SET status = 'paid', updated_at = :now WHERE id = :id AND status = 'open' "
                   "AND NOT EXISTS (SELECT 1 FROM orders WHERE checkout_id = :id AND status = 'awaiting_payment')")
_ORDER_LINES_SQL = (f"SELECT {InTransaction.columns(OrderLine, 'l')} FROM order_lines l "  # noqa: S608
                    "WHERE l.order_id IN :ids ORDER BY l.id")
_ORDER_EVENTS_SQL = (f"SELECT {InTransaction.columns(OrderEvent, 'e')} FROM order_events e "  # noqa: S608
                     "WHERE e.order_id IN :ids ORDER BY e.id")
_CHECKOUT_ORDERS_SQL = (f"SELECT {InTransaction.columns(Order, 'o')} FROM orders o "  # noqa: S608
                        "WHERE o.checkout_id = :id ORDER BY o.id")


async def insert_checkout(db: AsyncSession, values: Mapping[str, Any]) -> int:
    """A new checkout from the values of :data:`_CHECKOUT_COLUMNS`; its id."""
    return int(await InTransaction.of(db).scalar(_CHECKOUT_INSERT_SQL, values))


async def insert_order(db: AsyncSession, values: Mapping[str, Any]) -> int:
    """A new order from the values of :data:`ORDER_COLUMNS`; its id."""
    return int(await InTransaction.of(db).scalar(_ORDER_INSERT_SQL, values))


async def insert_order_line(db: AsyncSession, values: Mapping[str, Any]) -> int:
    """A new order line from the values of :data:`LINE_COLUMNS`; its id."""
    return int(await InTransaction.of(db).scalar(_LINE_INSERT_SQL, values))


async def checkout(db: AsyncSession, checkout_id: int) -> Checkout | None:
    """The checkout, loaded into the session (one plain statement)."""
    return await InTransaction.of(db).load_one(Checkout, _CHECKOUT_SQL, {"id": checkout_id})


async def loaded_checkout(db: AsyncSession, checkout_id: int) -> Checkout | None:
    """The checkout through the session (its held copy if loaded, pending changes included)."""
    return await db.get(Checkout, checkout_id)


async def checkout_state(db: AsyncSession, checkout_id: int) -> tuple[str, str, int] | None:
    """(status, source, buyer id) of a checkout."""
    row = await InTransaction.of(db).first(_CHECKOUT_STATE_SQL, {"id": checkout_id})
    return None if row is None else (str(row[0]), str(row[1]), int(row[2]))


async def close_checkout_paid(db: AsyncSession, checkout_id: int, now: datetime) -> bool:
    """Guarded: an open checkout none of whose orders still waits for payment becomes paid."""
    raw = InTransaction.of(db)
    if not await raw.execute(_CLOSE_PAID_SQL, {"now": now, "id": checkout_id}):
        return False
    raw.sync(Checkout, checkout_id, status="paid", updated_at=now)
    return True


async def orders_of_checkout(db: AsyncSession, checkout_id: int) -> list[Order]:
    return list((await db.execute(select(Order).where(Order.checkout_id == checkout_id).order_by(Order.id))).scalars())


async def checkout_order_snapshots(db: AsyncSession, checkout_id: int) -> list[Order]:
    """The checkout's orders as detached read-only objects (one plain statement)."""
    return await InTransaction.of(db).load_all(Order, _CHECKOUT_ORDERS_SQL, {"id": checkout_id}, attach=False)


async def order(db: AsyncSession, order_id: int) -> Order | None:
    return await db.get(Order, order_id)


async def orders_page(db: AsyncSession, *, limit: int, buyer_id: int | None = None, shop_id: int | None = None,
                      status: str | None = None, before_id: int | None = None) -> list[Order]:
    """Newest first, of a buyer or of a shop, optionally below ``before_id`` (keyset page)."""
    stmt = select(Order).order_by(Order.id.desc()).limit(limit)
    if buyer_id is not None:
        stmt = stmt.where(Order.buyer_id == buyer_id)
    if shop_id is not None:
        stmt = stmt.where(Order.shop_id == shop_id)
    if status:
        stmt = stmt.where(Order.status == status)
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return list((await db.execute(stmt)).scalars())


async def change_status(db: AsyncSession, order_id: int, from_status: Sequence[str], to_status: str,
                        values: Mapping[str, object]) -> bool:
    """Guarded: ``order_id`` moves to ``to_status`` only from one of ``from_status``."""
    result = await db.execute(
        update(Order).where(Order.id == order_id, Order.status.in_(list(from_status)))
        .values(status=to_status, **values).execution_options(synchronize_session=False))
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def orders_of_intent(db: AsyncSession, intent_id: int) -> list[Sequence[Any]]:
    """(id, status, checkout_id, shop_id, buyer_id, currency, total, tax, platform_discount,
    refunded, credits, live_id) of the orders a payment intent pays, in id order."""
    return await InTransaction.of(db).all(_ORDERS_OF_INTENT_SQL, {"intent": intent_id})


async def mark_paid(db: AsyncSession, order_id: int, fee: int, now: datetime) -> bool:
    """Guarded: an order awaiting payment becomes paid, its fee stored by the same update."""
    raw = InTransaction.of(db)
    if not await raw.execute(_MARK_PAID_SQL, {"status": "paid", "paid_at": now, "fee": fee, "updated_at": now,
                                              "id": order_id, "from_status": "awaiting_payment"}):
        return False
    raw.sync(Order, order_id, status="paid", paid_at=now, fee=fee, updated_at=now)
    return True


async def sold_lines(db: AsyncSession, order_ids: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """(line id, variant id, product id, quantity) of the orders' lines, in id order."""
    rows = await InTransaction.of(db).all(_SOLD_LINES_SQL, {"ids": list(order_ids)})
    return [(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


async def add_refunded(db: AsyncSession, order_id: int, amount: int) -> bool:
    """Guarded: ``refunded`` grows by ``amount`` only while it stays within the total."""
    result = await db.execute(
        update(Order).where(Order.id == order_id, Order.refunded + amount <= Order.total)
        .values(refunded=Order.refunded + amount).execution_options(synchronize_session=False))
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def due_for_settlement(db: AsyncSession, delivered_before: datetime, limit: int) -> list[Order]:
    return list((await db.execute(select(Order).where(
        Order.status == "delivered", Order.settled_at.is_(None),
        Order.delivered_at <= delivered_before).limit(limit))).scalars())


async def lines_of(db: AsyncSession, order_id: int) -> list[OrderLine]:
    return list((await db.execute(select(OrderLine).where(OrderLine.order_id == order_id)
                                  .order_by(OrderLine.id))).scalars())


async def order_line(db: AsyncSession, line_id: int) -> OrderLine | None:
    return await db.get(OrderLine, line_id)


async def line_snapshots(db: AsyncSession, order_ids: Sequence[int]) -> list[OrderLine]:
    """The orders' lines in id order, detached (one plain statement)."""
    return await InTransaction.of(db).load_all(OrderLine, _ORDER_LINES_SQL, {"ids": list(order_ids)}, attach=False)


async def event_snapshots(db: AsyncSession, order_ids: Sequence[int]) -> list[OrderEvent]:
    """The orders' histories in id order, detached (one plain statement)."""
    return await InTransaction.of(db).load_all(OrderEvent, _ORDER_EVENTS_SQL, {"ids": list(order_ids)},
                                               attach=False)


# --- order events (written by orders/events.py only) ---------------------------------------

_EVENT_INSERT_SQL = insert_sql(OrderEvent, ("order_id", "status", "note", "actor_id", "created_at"))


async def insert_events(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Order events (``order_id``, ``status``, ``note``, ``actor_id``, ``created_at``): one statement."""
    raw = InTransaction.of(db)
    if len(rows) == 1:
        await raw.execute(_EVENT_INSERT_SQL, rows[0])
    else:
        await raw.executemany(_EVENT_INSERT_SQL, rows)


# --- the names and addresses an order's emails need -----------------------------------------

_CONTACTS_SQL = "SELECT {shop_name}, {buyer_email}, {buyer_name}, {owner_email}".format(
    shop_name=catalog_repo.SHOP_NAME_SQL,
    buyer_email=accounts_repo.user_field_sql("email", ":buyer"),
    buyer_name=accounts_repo.user_field_sql("display_name", ":buyer"),
    owner_email=accounts_repo.user_field_sql("email", catalog_repo.SHOP_OWNER_SQL),
)


async def order_contacts(db: AsyncSession, shop_id: int, buyer_id: int) -> tuple[str | None, str | None,
                                                                                  str | None, str | None]:
    """(shop name, buyer email, buyer name, shop owner's email): one statement composed of the
    catalog's and accounts' subqueries."""
    row = await InTransaction.of(db).first(_CONTACTS_SQL, {"shop": shop_id, "buyer": buyer_id})
    assert row is not None
    return row[0], row[1], row[2], row[3]


# --- the flash-sale gate's one read ---------------------------------------------------------

#: Everything the gate needs in one statement: the live session's user (accounts' fragment),
#: whether the Idempotency-Key is known in ``user:{id}:checkouts`` (``kit.idempotency``'s
#: table), and the variant's availability, titles, product status and creation time (the
#: catalog's fragment). No row: no live session.
GATE_FACTS_SQL = (
    "SELECT s.user_id, "  # noqa: S608 (constant fragments)
    "(SELECT 1 FROM idempotency_keys k WHERE k.scope = 'user:' || CAST(s.user_id AS TEXT) || ':checkouts' "
    "AND k.key = :key) AS key_known, "
    f"{catalog_repo.GATE_VARIANT_COLUMNS} "
    f"FROM {accounts_repo.LIVE_SESSION_FROM} {catalog_repo.GATE_VARIANT_JOIN} "
    f"WHERE {accounts_repo.LIVE_SESSION_WHERE}"
)


_live_gate_sql: dict[int, str] = {}


def live_gate_facts_sql(live: hooks.LiveGate) -> str:
    """:data:`GATE_FACTS_SQL` with the LIVE selling's fragment (``orders.hooks.LiveGate``): the
    same row, then the running deal of ``:live_id`` on the variant and the buyer's count of it.
    Composed once per registered fragment."""
    sql = _live_gate_sql.get(id(live))
    if sql is None:
        sql = (f"SELECT s.user_id, "  # noqa: S608 (constant fragments)
               "(SELECT 1 FROM idempotency_keys k WHERE k.scope = 'user:' || CAST(s.user_id AS TEXT) || ':checkouts' "
               "AND k.key = :key) AS key_known, "
               f"{catalog_repo.GATE_VARIANT_COLUMNS}, {live.columns} "
               f"FROM {accounts_repo.LIVE_SESSION_FROM} {catalog_repo.GATE_VARIANT_JOIN} {live.join} "
               f"WHERE {accounts_repo.LIVE_SESSION_WHERE}")
        _live_gate_sql.clear()
        _live_gate_sql[id(live)] = sql
    return sql


async def gate_facts(reads: CommittedReads, digest: str, key: str | None, variant_id: int,
                     now: datetime, live_id: int | None = None,
                     live: hooks.LiveGate | None = None) -> Sequence[Any] | None:
    """The row of :data:`GATE_FACTS_SQL` on the database's committed fast read path; for a LIVE
    buy (``live_id`` and the fragment ``live``), the row of :func:`live_gate_facts_sql`."""
    params: dict[str, Any] = {"key": key, "variant_id": variant_id, "digest": digest, "now": now}
    if live_id is not None and live is not None:
        params["live_id"] = live_id
        rows = await reads.rows(live_gate_facts_sql(live), params)
    else:
        rows = await reads.rows(GATE_FACTS_SQL, params)
    return rows[0] if rows else None


# --- returns and refunds -------------------------------------------------------------------


async def returns_of_order(db: AsyncSession, order_id: int) -> list[ReturnRequest]:
    return list((await db.execute(select(ReturnRequest).where(ReturnRequest.order_id == order_id)
                                  .order_by(ReturnRequest.id))).scalars())


async def returns_of_shop(db: AsyncSession, shop_id: int, status: str | None = None,
                          limit: int = 200) -> list[tuple[ReturnRequest, str]]:
    """The shop's returns, newest first, each with its order's currency."""
    stmt = (select(ReturnRequest, Order.currency).join(Order, Order.id == ReturnRequest.order_id)
            .where(Order.shop_id == shop_id).order_by(ReturnRequest.id.desc()).limit(limit))
    if status:
        stmt = stmt.where(ReturnRequest.status == status)
    return [(row[0], str(row[1])) for row in (await db.execute(stmt)).all()]


async def return_request(db: AsyncSession, return_id: int) -> ReturnRequest | None:
    return await db.get(ReturnRequest, return_id)


async def has_open_return(db: AsyncSession, order_id: int) -> bool:
    return (await db.execute(select(ReturnRequest.id).where(
        ReturnRequest.order_id == order_id, ReturnRequest.status == "requested"))).first() is not None


async def answer_return(db: AsyncSession, return_id: int, values: Mapping[str, Any]) -> bool:
    """Guarded: only a return still ``requested`` is answered."""
    result = await db.execute(
        update(ReturnRequest).where(ReturnRequest.id == return_id, ReturnRequest.status == "requested")
        .values(**values).execution_options(synchronize_session=False))
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def returns_due(db: AsyncSession, requested_before: datetime, limit: int) -> list[ReturnRequest]:
    return list((await db.execute(select(ReturnRequest).where(
        ReturnRequest.status == "requested", ReturnRequest.created_at <= requested_before).limit(limit))).scalars())


async def add(db: AsyncSession, row: ReturnRequest | Refund | Review | TaxRate) -> None:
    db.add(row)
    await db.flush()


# --- reviews -------------------------------------------------------------------------------


async def review_stats_of_product(db: AsyncSession, product_id: int) -> tuple[float, int]:
    avg, count = (await db.execute(select(func.avg(Review.rating), func.count())
                                   .where(Review.product_id == product_id))).one()
    return float(avg or 0), int(count)


async def review_stats_of_shop(db: AsyncSession, shop_id: int) -> tuple[float, int]:
    """Mean and count of the reviews of the shop's products (the catalog's subquery names them)."""
    avg, count = (await db.execute(
        select(func.avg(Review.rating), func.count())
        .where(Review.product_id.in_(catalog_repo.shop_product_ids(shop_id))))).one()
    return float(avg or 0), int(count)


async def reviews_of_product(db: AsyncSession, product_id: int, limit: int) -> list[Review]:
    return list((await db.execute(select(Review).where(Review.product_id == product_id)
                                  .order_by(Review.id.desc()).limit(limit))).scalars())


async def reviewed_line_ids(db: AsyncSession, line_ids: Sequence[int]) -> set[int]:
    if not line_ids:
        return set()
    return set((await db.execute(select(Review.order_line_id)
                                 .where(Review.order_line_id.in_(list(line_ids))))).scalars())


# --- tax rates -----------------------------------------------------------------------------

_TAX_RATES_SQL = "SELECT region, rate_bps FROM tax_rates WHERE region IN :regions"


async def tax_rates_of(db: AsyncSession, regions: Sequence[str]) -> dict[str, int]:
    rows = await InTransaction.of(db).all(_TAX_RATES_SQL, {"regions": list(regions)})
    return {str(r[0]): int(r[1]) for r in rows}


async def tax_rate(db: AsyncSession, region: str) -> TaxRate | None:
    return (await db.execute(select(TaxRate).where(TaxRate.region == region))).scalar_one_or_none()


async def tax_rates(db: AsyncSession) -> list[TaxRate]:
    return list((await db.execute(select(TaxRate).order_by(TaxRate.region))).scalars())


# --- the shared cart page's check (orders/read_cache.py), on the committed-read path ----------

_CART_PAGE_FACTS_SQL = (
    "SELECT s.user_id, u.display_name, u.avatar_path, ci.id, ci.quantity, "  # noqa: S608 (fragments)
    f"{catalog_repo.product_version_of_variant_sql('ci.variant_id')} "
    f"FROM {accounts_repo.LIVE_SESSION_FROM} LEFT JOIN cart_items ci ON ci.user_id = s.user_id "
    f"WHERE {accounts_repo.LIVE_SESSION_WHERE} ORDER BY ci.id"
)


async def cart_page_facts(reads: CommittedReads, digest: str, now: datetime) -> tuple[
        int, str, str | None, tuple[tuple[int, int, int], ...]] | None:
    """One statement: the reader of the live session ``digest`` (id, display name, avatar) and
    what their cart page shows, as (cart item id, quantity, product version) per line; ``None``
    when the session is not live."""
    rows = await reads.rows(_CART_PAGE_FACTS_SQL, {"digest": digest, "now": now})
    if not rows:
        return None
    lines = tuple((int(r[3]), int(r[4]), int(r[5] or 0)) for r in rows if r[3] is not None)
    return int(rows[0][0]), rows[0][1], rows[0][2], lines
