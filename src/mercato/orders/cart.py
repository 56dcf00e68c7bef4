"""The shopper's cart across shops (service layer). Prices are always read fresh from the catalog."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Product, Shop, Variant
from mercato.catalog.presenters import image_out
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.events import Event, age_band
from mercato.kit.events import record as record_event
from mercato.kit.money import format_money
from mercato.orders import repository, sold_out
from mercato.orders.errors import OrdersError
from mercato.orders.price_priority import Offer
from mercato.orders.schemas import CartLineOut, CartOut, CartShopOut


@dataclass
class Line:
    """A wanted quantity of a variant with everything needed to price it."""

    variant: Variant
    product: Product
    shop: Shop
    quantity: int
    item_id: int = 0
    #: The offer that prices this line when it is not the variant's own price (a LIVE flash deal;
    #: ``orders.price_priority``), set by checkout.
    offer: Offer | None = None

    @property
    def unit_price(self) -> int:
        return self.variant.price if self.offer is None else self.offer.unit_price


async def purchasable(db: AsyncSession, variant_id: int) -> tuple[Variant, Product, Shop]:
    """The variant with its product and shop (detached snapshots); 404 unless the product is
    active. One plain joined statement."""
    found = await repository.purchase_line(db, variant_id)
    if found is None or found[1].status != "active":
        raise NotFound("This product is not available.", code=OrdersError.PRODUCT_UNAVAILABLE)
    return found


async def add_item(db: AsyncSession, user: User, variant_id: int, quantity: int, max_quantity: int) -> None:
    """Add to the cart (merging with what is there); refuses more than is available. Plain
    statements (the first step of every purchase)."""
    variant, product, shop = await purchasable(db, variant_id)
    item = await repository.cart_item_for(db, user.id, variant_id)
    wanted = quantity + (item[1] if item else 0)
    if wanted > max_quantity:
        raise ValidationFailed(f"At most {max_quantity} of one item per order.",
                               code=OrdersError.QUANTITY_TOO_LARGE, details={"field": "quantity", "max": max_quantity})
    if sold_out.short(variant.available, wanted):
        raise Conflict(sold_out.stock_message(variant.available),
                       code=OrdersError.OUT_OF_STOCK if variant.available <= 0 else OrdersError.NOT_ENOUGH_STOCK,
                       details={"variant_id": variant_id, "available": variant.available})
    now = utcnow()
    if item is None:
        await repository.insert_cart_item(db, user.id, variant_id, wanted, now)
    else:
        await repository.set_cart_quantity(db, item[0], wanted, now)
    # Analytics (kit/events.py): each add is its own action; the video and traffic source come from
    # the viewer's click on the product's card, if any (analytics' attribution).
    await record_event(db, Event(event_id=f"add_to_cart:{uuid.uuid4().hex}", kind="add_to_cart", occurred_at=now,
                                 product_id=product.id, shop_id=shop.id, viewer_id=user.id,
                                 age_band=age_band(user.date_of_birth, now.date()),
                                 value=variant.price * quantity, currency=variant.currency, quantity=quantity))


async def set_quantity(db: AsyncSession, user: User, item_id: int, quantity: int, max_quantity: int) -> None:
    item = await repository.cart_item(db, item_id)
    if item is None or item.user_id != user.id:
        raise NotFound("No such cart item.")
    if quantity == 0:
        await repository.delete_row(db, item)
        return
    if quantity > max_quantity:
        raise ValidationFailed(f"At most {max_quantity} of one item per order.",
                               code=OrdersError.QUANTITY_TOO_LARGE, details={"field": "quantity"})
    variant, _, _ = await purchasable(db, item.variant_id)
    if sold_out.short(variant.available, quantity):
        raise Conflict(sold_out.stock_message(variant.available), code=OrdersError.NOT_ENOUGH_STOCK,
                       details={"variant_id": variant.id, "available": variant.available})
    item.quantity = quantity
    await db.flush()


async def remove_item(db: AsyncSession, user: User, item_id: int) -> None:
    await set_quantity(db, user, item_id, 0, 1)


async def cart_lines(db: AsyncSession, user_id: int) -> list[Line]:
    """The cart's lines in the order they were added (one plain joined statement; items whose
    variant, product or shop is gone drop out)."""
    return [Line(variant=variant, product=product, shop=shop, quantity=quantity, item_id=item_id)
            for (variant, product, shop), quantity, item_id in await repository.cart_lines(db, user_id)]


def line_problem(line: Line) -> str | None:
    if line.product.status != "active":
        return "unavailable"
    if line.variant.available <= 0:
        return OrdersError.OUT_OF_STOCK
    if sold_out.short(line.variant.available, line.quantity):
        return OrdersError.NOT_ENOUGH_STOCK
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
    await repository.take_from_cart(db, user_id, bought, utcnow())


async def count(db: AsyncSession, user_id: int) -> int:
    return await repository.cart_count(db, user_id)
