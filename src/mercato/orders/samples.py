"""Zero-price orders: a free sample a seller sends (the affiliate program's samples, docs/affiliate.md,
"Samples"). It lives the normal order life from ``paid`` on — its unit reserved then allocated like
any order's, shipped and delivered by the seller, settled — but has no payment intent, no ledger
posting (nothing was paid, no referral fee) and does not count as a sale. ``source`` is ``sample``.
The caller (the affiliate domain) decides who may have one; this module only makes the order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.inventory import service as inventory
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.orders import events, repository, sold_out
from mercato.orders.errors import OrdersError
from mercato.orders.models import Order
from mercato.orders.schemas import AddressIn


async def place_sample_order(db: AsyncSession, buyer: User, *, variant_id: int, address_id: int,
                             note: str = "Free sample", now: datetime | None = None) -> Order:
    """One zero-price order of one unit of ``variant_id`` to the buyer's address ``address_id``:
    404 ``address_not_found`` (not the buyer's), 422 ``product_unavailable`` (no such variant or
    product not active), 409 ``out_of_stock``; nothing is written on a refusal."""
    now = now or datetime.now(UTC)
    address_row = await repository.address(db, address_id)
    if address_row is None or address_row.user_id != buyer.id:
        raise NotFound("No such address.", code=OrdersError.ADDRESS_NOT_FOUND)
    address = AddressIn.model_validate(address_row, from_attributes=True).model_dump()
    found = await repository.purchase_line(db, variant_id)
    if found is None or found[1].status != "active":
        raise ValidationFailed("This product is not available.", code=OrdersError.PRODUCT_UNAVAILABLE,
                               details={"variant_id": variant_id})
    variant, product, shop = found
    if sold_out.short(variant.available, 1) or not await inventory.reserve(db, variant.id, 1):
        raise sold_out.out_of_stock(variant.id, product.title, variant.title, variant.available)
    checkout_id = await repository.insert_checkout(db, dict(buyer_id=buyer.id, status="paid", address=address,
                                                            expires_at=now + timedelta(minutes=1), source="sample",
                                                            created_at=now, updated_at=now))
    order_id = await repository.insert_order(db, dict(
        checkout_id=checkout_id, buyer_id=buyer.id, shop_id=shop.id, status="awaiting_payment", currency=shop.currency,
        subtotal=0, seller_discount=0, platform_discount=0, shipping=0, tax=0, total=0, fee=0, refunded=0,
        address=address, seller_coupon_id=None, platform_coupon_id=None, payment_intent_id=None, live_id=None,
        source="sample", credits=0, created_at=now, updated_at=now))
    await repository.mark_paid(db, order_id, 0, now)  # paid at once: nothing to pay
    line_id = await repository.insert_order_line(db, dict(
        order_id=order_id, product_id=product.id, variant_id=variant.id, title=product.title,
        variant_title=variant.title, sku=variant.sku, unit_price=0, quantity=1, discount=0, total=0,
        refunded_quantity=0))
    await inventory.hold_for_checkout(db, [dict(variant_id=variant.id, checkout_id=checkout_id, order_line_id=line_id,
                                                quantity=1, status="active", expires_at=now + timedelta(minutes=1),
                                                created_at=now)])
    await inventory.allocate_all(db, {variant.id: 1})
    await inventory.allocate_reservations(db, [checkout_id], [line_id])
    await events.record(db, order_id, "paid", note or "Free sample: nothing to pay.", actor_id=None, now=now)
    order = await repository.order(db, order_id)
    assert order is not None
    return order
