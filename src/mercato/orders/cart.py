"""The shopper's cart across shops (service layer). Prices are always read fresh from the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Product, Shop, Variant
from mercato.catalog.presenters import image_out
from mercato.kit.db import Raw, utcnow
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.money import format_money
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


async def _purchasable(db: AsyncSession, variant_id: int) -> tuple[Variant, Product, Shop]:
    # One joined statement instead of three primary-key loads.
    row = (await db.execute(select(Variant, Product, Shop).join(Product, Product.id == Variant.product_id)
                            .join(Shop, Shop.id == Product.shop_id).where(Variant.id == variant_id))).first()
    if row is None or row[1].status != "active":
        raise NotFound("This product is not available.", code="product_unavailable")
    return row[0], row[1], row[2]


async def add_item(db: AsyncSession, user: User, variant_id: int, quantity: int, max_quantity: int) -> CartItem:
    """Add to the cart (merging with what is there); refuses more than is available."""
    variant, _, _ = await _purchasable(db, variant_id)
    item = (await db.execute(select(CartItem).where(CartItem.user_id == user.id,
                                                    CartItem.variant_id == variant_id))).scalar_one_or_none()
    wanted = quantity + (item.quantity if item else 0)
    if wanted > max_quantity:
        raise ValidationFailed(f"At most {max_quantity} of one item per order.", code="quantity_too_large",
                               details={"field": "quantity", "max": max_quantity})
    if wanted > variant.available:
        raise Conflict(_stock_message(variant.available), code="out_of_stock" if variant.available <= 0
                       else "not_enough_stock", details={"variant_id": variant_id, "available": variant.available})
    if item is None:
        item = CartItem(user_id=user.id, variant_id=variant_id, quantity=wanted)
        db.add(item)
    else:
        item.quantity = wanted
    await db.flush()
    return item


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
    # One joined statement (items whose variant, product or shop is gone drop out, as before).
    rows = (await db.execute(
        select(CartItem, Variant, Product, Shop).join(Variant, Variant.id == CartItem.variant_id)
        .join(Product, Product.id == Variant.product_id).join(Shop, Shop.id == Product.shop_id)
        .where(CartItem.user_id == user_id).order_by(CartItem.id))).all()
    return [Line(variant=variant, product=product, shop=shop, quantity=item.quantity, item_id=item.id)
            for item, variant, product, shop in rows]


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
    raw = Raw.of(db)
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
