"""Use cases of shops and their members (service layer)."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.accounts.models import User
from mercato.catalog import repository as repo
from mercato.catalog.errors import CatalogError
from mercato.catalog.models import Shop, ShopMember
from mercato.catalog.schemas import ShopIn, ShopUpdate
from mercato.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed

PALETTE = ["#ff2d55", "#25c2a0", "#3b82f6", "#f59e0b", "#8b5cf6", "#ef4444", "#10b981", "#ec4899", "#0ea5e9"]


def shop_color(slug: str) -> str:
    return PALETTE[int(hashlib.sha256(slug.encode()).hexdigest(), 16) % len(PALETTE)]


async def create_shop(db: AsyncSession, owner: User, data: ShopIn) -> Shop:
    if await repo.shop_by_slug(db, data.slug) is not None:
        raise Conflict("This shop address is taken.", code=CatalogError.SLUG_TAKEN, details={"field": "slug"})
    shop = Shop(
        slug=data.slug, name=data.name, description=data.description, policies=data.policies,
        currency=data.currency, color=shop_color(data.slug),
    )
    db.add(shop)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict("This shop address is taken.", code=CatalogError.SLUG_TAKEN, details={"field": "slug"}) from exc
    db.add(ShopMember(shop_id=shop.id, user_id=owner.id, role="owner"))
    await db.flush()
    return shop


async def get_shop(db: AsyncSession, slug: str) -> Shop:
    shop = await repo.shop_by_slug(db, slug)
    if shop is None:
        raise NotFound("No such shop.")
    return shop


async def require_member(db: AsyncSession, user: User, shop: Shop, *, owner: bool = False) -> ShopMember:
    """The caller's membership, or 403: shops are public, so their existence is no secret."""
    member = await repo.membership(db, shop.id, user.id)
    if member is None:
        raise Forbidden("You are not a member of this shop.", code=CatalogError.NOT_SHOP_MEMBER)
    if owner and member.role != "owner":
        raise Forbidden("Only the shop owner can do this.", code=CatalogError.OWNER_ONLY)
    return member


async def member_shop(db: AsyncSession, user: User, slug: str, *, owner: bool = False) -> Shop:
    shop = await get_shop(db, slug)
    await require_member(db, user, shop, owner=owner)
    return shop


async def update_shop(db: AsyncSession, shop: Shop, data: ShopUpdate) -> Shop:
    if data.name is not None:
        shop.name = data.name
    if data.description is not None:
        shop.description = data.description
    if data.policies is not None:
        shop.policies = data.policies
    await db.flush()
    return shop


async def add_staff(db: AsyncSession, shop: Shop, email: str) -> ShopMember:
    user = await accounts_repo.user_by_email(db, email)
    if user is None:
        raise ValidationFailed("No account uses this email.",
                               code=CatalogError.UNKNOWN_USER, details={"field": "email"})
    if await repo.membership(db, shop.id, user.id) is not None:
        raise Conflict("This person is already a member.", code=CatalogError.ALREADY_MEMBER)
    member = ShopMember(shop_id=shop.id, user_id=user.id, role="staff")
    db.add(member)
    await db.flush()
    return member


async def remove_staff(db: AsyncSession, shop: Shop, user_id: int) -> None:
    member = await repo.membership(db, shop.id, user_id)
    if member is None:
        raise NotFound("No such member.")
    if member.role == "owner":
        raise Conflict("The owner cannot be removed.", code=CatalogError.OWNER_CANNOT_LEAVE)
    await db.delete(member)
    await db.flush()


async def set_shipping_rules(db: AsyncSession, shop: Shop, shipping_fee: int, free_shipping_above: int | None) -> Shop:
    """The shop's flat shipping fee per order and the items subtotal from which shipping is
    free (minor units; the orders domain's shipping routes call this)."""
    shop.shipping_fee, shop.free_shipping_above = shipping_fee, free_shipping_above
    await db.flush()
    return shop


async def member_role(db: AsyncSession, shop: Shop, user: User) -> str | None:
    """The user's role in the shop (``owner`` / ``staff``), ``None`` if not a member (for
    pages that show the shop's header to its members)."""
    member = await repo.membership(db, shop.id, user.id)
    return member.role if member else None
