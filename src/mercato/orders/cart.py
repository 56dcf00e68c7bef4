"""The shopper's cart across shops (service layer). Prices are always read fresh from the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Product, Shop, Variant
from mercato.catalog.presenters import image_out
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.money import format_money
from mercato.kit.sql.transaction import InTransaction, snapshot
from mercato.orders.models import CartItem
from mercato.orders.schemas import CartLineOut, CartOut, CartShopOut


@dataclass
class Line:
    """A wanted quantity of a variant with everything needed to price it."""

    variant: Variant
    product: Product
    shop: Shop
    quantity: int
    item_id: int = 0


#: What pricing, the cart and checkout need of a variant, its product and its shop (one join).
_LINE_COLUMNS = (
    "variants.id, variants.product_id, variants.price, variants.currency, variants.title, variants.sku, "
    "variants.stock, variants.reserved, variants.allocated, products.title, products.status, products.shop_id, "
    "shops.slug, shops.name, shops.currency, shops.shipping_fee, shops.free_shipping_above"
)
_LINE_JOIN = "JOIN products ON products.id = variants.product_id JOIN shops ON shops.id = products.shop_id"
_PURCHASABLE_SQL = f"SELECT {_LINE_COLUMNS} FROM variants {_LINE_JOIN} WHERE variants.id = :id"  # noqa: S608 (constants)
_CART_LINES_SQL = (f"SELECT {_LINE_COLUMNS}, cart_items.quantity, cart_items.id FROM cart_items "  # noqa: S608
                   f"JOIN variants ON variants.id = cart_items.variant_id {_LINE_JOIN} "
                   "WHERE cart_items.user_id = :user ORDER BY cart_items.id")


def _line_objects(row: Sequence[Any]) -> tuple[Variant, Product, Shop]:
    """Detached model objects (read-only snapshots, never added to the session) from a
    ``_LINE_COLUMNS`` row: cheaper than the ORM loading three full rows."""
    (variant_id, product_id, price, currency, title, sku, stock, reserved, allocated, product_title, status,
     shop_id, slug, shop_name, shop_currency, shipping_fee, free_above) = row[:17]
    return (snapshot(Variant, dict(id=variant_id, product_id=product_id, shop_id=shop_id, price=price,
                                   currency=currency, title=title, sku=sku, stock=stock, reserved=reserved,
                                   allocated=allocated)),
            snapshot(Product, dict(id=product_id, shop_id=shop_id, title=product_title, status=status)),
            snapshot(Shop, dict(id=shop_id, slug=slug, name=shop_name, currency=shop_currency,
                                shipping_fee=shipping_fee, free_shipping_above=free_above)))


async def _purchasable(db: AsyncSession, variant_id: int) -> tuple[Variant, Product, Shop]:
    """The variant with its product and shop (snapshots, see :func:`_line_objects`); 404 unless
    the product is active. One plain joined statement."""
    row = await InTransaction.of(db).first(_PURCHASABLE_SQL, {"id": variant_id})
    if row is None or row[10] != "active":
        raise NotFound("This product is not available.", code="product_unavailable")
    return _line_objects(row)


async def add_item(db: AsyncSession, user: User, variant_id: int, quantity: int, max_quantity: int) -> None:
    """Add to the cart (merging with what is there); refuses more than is available. Plain
    statements (the first step of every purchase)."""
    variant, _, _ = await _purchasable(db, variant_id)
    raw = InTransaction.of(db)
    item = await raw.first("SELECT id, quantity FROM cart_items WHERE user_id = :user AND variant_id = :variant",
                           {"user": user.id, "variant": variant_id})
    wanted = quantity + (int(item[1]) if item else 0)
    if wanted > max_quantity:
        raise ValidationFailed(f"At most {max_quantity} of one item per order.", code="quantity_too_large",
                               details={"field": "quantity", "max": max_quantity})
    if wanted > variant.available:
        raise Conflict(_stock_message(variant.available), code="out_of_stock" if variant.available <= 0
                       else "not_enough_stock", details={"variant_id": variant_id, "available": variant.available})
    now = utcnow()
    if item is None:
        await raw.execute("INSERT INTO cart_items (user_id, variant_id, quantity, created_at, updated_at) "
                          "VALUES (:user, :variant, :q, :now, :now)",
                          {"user": user.id, "variant": variant_id, "q": wanted, "now": now})
    else:
        await raw.execute("UPDATE cart_items SET quantity = :q, updated_at = :now WHERE id = :id",
                          {"q": wanted, "now": now, "id": item[0]})
        raw.sync(CartItem, item[0], quantity=wanted, updated_at=now)


def _stock_message(available: int) -> str:
    return "This item is out of stock." if available <= 0 else f"Only {available} left."


async def set_quantity(db: AsyncSession, user: User, item_id: int, quantity: int, max_quantity: int) -> None:
    item = await db.get(CartItem, item_id)
    if item is None or item.user_id != user.id:
        raise NotFound("No such cart item.")
    if quantity == 0:
        await db.delete(item)
        await db.flush()
        return
    if quantity > max_quantity:
        raise ValidationFailed(f"At most {max_quantity} of one item per order.", code="quantity_too_large",
                               details={"field": "quantity"})
    variant, _, _ = await _purchasable(db, item.variant_id)
    if quantity > variant.available:
        raise Conflict(_stock_message(variant.available), code="not_enough_stock",
                       details={"variant_id": variant.id, "available": variant.available})
    item.quantity = quantity
    await db.flush()


async def remove_item(db: AsyncSession, user: User, item_id: int) -> None:
    await set_quantity(db, user, item_id, 0, 1)


async def cart_lines(db: AsyncSession, user_id: int) -> list[Line]:
    """The cart's lines in the order they were added (one plain joined statement; items whose
    variant, product or shop is gone drop out)."""
    rows = await InTransaction.of(db).all(_CART_LINES_SQL, {"user": user_id})
    lines = []
    for row in rows:
        variant, product, shop = _line_objects(row)
        lines.append(Line(variant=variant, product=product, shop=shop, quantity=row[17], item_id=row[18]))
    return lines


def line_problem(line: Line) -> str | None:
    if line.product.status != "active":
        return "unavailable"
    if line.variant.available <= 0:
        return "out_of_stock"
    if line.variant.available < line.quantity:
        return "not_enough_stock"
    return None


async def view(db: AsyncSession, user_id: int) -> CartOut:
    lines = await cart_lines(db, user_id)
    covers = await catalog_repo.first_images(db, [line.product.id for line in lines])
    groups: dict[int, CartShopOut] = {}
    for line in lines:
        cover = covers.get(line.product.id)
        total = line.variant.price * line.quantity
        group = groups.setdefault(line.shop.id, CartShopOut(
            shop_id=line.shop.id, shop_slug=line.shop.slug, shop_name=line.shop.name, currency=line.shop.currency,
            lines=[], subtotal=0, subtotal_display=""))
        group.lines.append(CartLineOut(
            item_id=line.item_id, variant_id=line.variant.id, product_id=line.product.id, title=line.product.title,
            variant_title=line.variant.title, thumb_url=image_out(cover).thumb_url if cover else None,
            unit_price=line.variant.price, quantity=line.quantity, line_total=total, currency=line.variant.currency,
            price_display=format_money(line.variant.price, line.variant.currency),
            line_total_display=format_money(total, line.variant.currency),
            available=line.variant.available, problem=line_problem(line),
        ))
        group.subtotal += total
    for group in groups.values():
        group.subtotal_display = format_money(group.subtotal, group.currency)
    return CartOut(shops=list(groups.values()), item_count=sum(line.quantity for line in lines))


async def remove_purchased(db: AsyncSession, user_id: int, bought: dict[int, int]) -> None:
    """After payment: take the bought quantities out of the cart (what was added since stays).
    Plain statements (part of the payment's hot path); loaded cart rows are not kept current."""
    raw = InTransaction.of(db)
    now = utcnow()
    for variant_id, quantity in sorted(bought.items()):
        params = {"user": user_id, "variant": variant_id, "q": quantity, "now": now}
        if not await raw.execute("DELETE FROM cart_items WHERE user_id = :user AND variant_id = :variant "
                                 "AND quantity <= :q", params):
            await raw.execute("UPDATE cart_items SET quantity = quantity - :q, updated_at = :now "
                              "WHERE user_id = :user AND variant_id = :variant AND quantity > :q", params)


async def count(db: AsyncSession, user_id: int) -> int:
    from sqlalchemy import func

    return int((await db.execute(select(func.coalesce(func.sum(CartItem.quantity), 0))
                                 .where(CartItem.user_id == user_id))).scalar_one())
