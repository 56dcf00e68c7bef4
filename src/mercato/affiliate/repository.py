"""Every query of the affiliate plans: plans, their products and rate history, memberships,
sample requests, showcases and the marketplaces' searches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate.models import (
    AffiliateMembership,
    AffiliatePlan,
    AffiliatePlanProduct,
    AffiliateRateChange,
    AffiliateSampleRequest,
    ShowcaseItem,
)
from mercato.catalog.models import Product, ShopMember

# --- plans ----------------------------------------------------------------------------------


async def plan(db: AsyncSession, plan_id: int) -> AffiliatePlan | None:
    return await db.get(AffiliatePlan, plan_id)


async def plans_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, AffiliatePlan]:
    if not ids:
        return {}
    rows = await db.execute(select(AffiliatePlan).where(AffiliatePlan.id.in_(set(ids))))
    return {p.id: p for p in rows.scalars()}


async def add(db: AsyncSession, row: Any) -> None:
    db.add(row)
    await db.flush()


async def plans_of_shop(db: AsyncSession, shop_id: int, limit: int, after_id: int | None) -> list[AffiliatePlan]:
    stmt = select(AffiliatePlan).where(AffiliatePlan.shop_id == shop_id)
    if after_id is not None:
        stmt = stmt.where(AffiliatePlan.id < after_id)
    return list((await db.execute(stmt.order_by(AffiliatePlan.id.desc()).limit(limit))).scalars())


async def plan_product_ids(db: AsyncSession, plan_id: int) -> list[int]:
    stmt = (select(AffiliatePlanProduct.product_id).where(AffiliatePlanProduct.plan_id == plan_id)
            .order_by(AffiliatePlanProduct.product_id))
    return [int(r) for r in (await db.execute(stmt)).scalars()]


async def plan_products_of(db: AsyncSession, plan_ids: Sequence[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {pid: [] for pid in plan_ids}
    if not plan_ids:
        return out
    stmt = (select(AffiliatePlanProduct.plan_id, AffiliatePlanProduct.product_id)
            .where(AffiliatePlanProduct.plan_id.in_(set(plan_ids)))
            .order_by(AffiliatePlanProduct.plan_id, AffiliatePlanProduct.product_id))
    for plan_id, product_id in (await db.execute(stmt)).all():
        out[int(plan_id)].append(int(product_id))
    return out


async def add_plan_products(db: AsyncSession, plan_id: int, product_ids: Sequence[int], at: datetime) -> None:
    existing = set(await plan_product_ids(db, plan_id))
    for pid in product_ids:
        if pid not in existing:
            db.add(AffiliatePlanProduct(plan_id=plan_id, product_id=pid, added_at=at))
    await db.flush()


async def remove_plan_products(db: AsyncSession, plan_id: int, product_ids: Sequence[int]) -> None:
    if product_ids:
        await db.execute(delete(AffiliatePlanProduct).where(AffiliatePlanProduct.plan_id == plan_id,
                                                            AffiliatePlanProduct.product_id.in_(set(product_ids))))


async def rate_history(db: AsyncSession, plan_ids: Sequence[int]) -> dict[int, list[AffiliateRateChange]]:
    out: dict[int, list[AffiliateRateChange]] = {pid: [] for pid in plan_ids}
    if not plan_ids:
        return out
    stmt = (select(AffiliateRateChange).where(AffiliateRateChange.plan_id.in_(set(plan_ids)))
            .order_by(AffiliateRateChange.plan_id, AffiliateRateChange.effective_at, AffiliateRateChange.id))
    for row in (await db.execute(stmt)).scalars():
        out[row.plan_id].append(row)
    return out


async def shop_products(db: AsyncSession, shop_id: int, product_ids: Sequence[int]) -> list[Product]:
    if not product_ids:
        return []
    stmt = select(Product).where(Product.shop_id == shop_id, Product.id.in_(set(product_ids)))
    return list((await db.execute(stmt)).scalars())


# --- terms and permission -------------------------------------------------------------------


async def member_shop_ids(db: AsyncSession, user_id: int, shop_ids: Sequence[int]) -> set[int]:
    if not shop_ids:
        return set()
    stmt = select(ShopMember.shop_id).where(ShopMember.user_id == user_id, ShopMember.shop_id.in_(set(shop_ids)))
    return {int(r) for r in (await db.execute(stmt)).scalars()}


async def product_shops(db: AsyncSession, product_ids: Sequence[int]) -> dict[int, int]:
    if not product_ids:
        return {}
    stmt = select(Product.id, Product.shop_id).where(Product.id.in_(set(product_ids)))
    return {int(pid): int(sid) for pid, sid in (await db.execute(stmt)).all()}


async def covering_memberships(
    db: AsyncSession, creator_id: int, product_id: int, shop_id: int,
) -> list[tuple[AffiliateMembership, AffiliatePlan, datetime | None]]:
    """The creator's memberships (any status) in plans of ``shop_id`` that cover the product, with
    the product's ``added_at`` in the plan (None for a whole-shop plan)."""
    added = (select(AffiliatePlanProduct.added_at)
             .where(AffiliatePlanProduct.plan_id == AffiliatePlan.id, AffiliatePlanProduct.product_id == product_id)
             .scalar_subquery())
    stmt = (select(AffiliateMembership, AffiliatePlan, added)
            .join(AffiliatePlan, AffiliatePlan.id == AffiliateMembership.plan_id)
            .where(AffiliateMembership.creator_id == creator_id, AffiliatePlan.shop_id == shop_id,
                   or_(AffiliatePlan.scope == "shop", added.is_not(None)))
            .order_by(AffiliatePlan.id))
    return [(m, p, a) for m, p, a in (await db.execute(stmt)).all()]


def _live_plan(now: datetime) -> Any:
    return and_(AffiliatePlan.status == "active",
                or_(AffiliatePlan.ends_at.is_(None), AffiliatePlan.ends_at > now))


def _covers(product_id_col: Any, shop_id_col: Any) -> Any:
    """The plan (``AffiliatePlan``) covers the product given by the two columns."""
    listed = (select(AffiliatePlanProduct.product_id)
              .where(AffiliatePlanProduct.plan_id == AffiliatePlan.id,
                     AffiliatePlanProduct.product_id == product_id_col)
              .exists())
    return and_(AffiliatePlan.shop_id == shop_id_col, or_(AffiliatePlan.scope == "shop", listed))


async def promotable_ids(db: AsyncSession, creator_id: int, product_ids: Sequence[int], now: datetime) -> set[int]:
    """Of ``product_ids``, those of a shop the creator belongs to or covered by a live plan they are
    active in."""
    if not product_ids:
        return set()
    member = select(ShopMember.shop_id).where(ShopMember.user_id == creator_id)
    in_plan = (select(AffiliatePlan.id)
               .join(AffiliateMembership, AffiliateMembership.plan_id == AffiliatePlan.id)
               .where(AffiliateMembership.creator_id == creator_id, AffiliateMembership.status == "active",
                      _live_plan(now), _covers(Product.id, Product.shop_id))
               .exists())
    stmt = select(Product.id).where(Product.id.in_(set(product_ids)), or_(Product.shop_id.in_(member), in_plan))
    return {int(r) for r in (await db.execute(stmt)).scalars()}


async def promotable_products(db: AsyncSession, creator_id: int, now: datetime, limit: int,
                              after: tuple[str, int] | None = None, own_first: bool = True) -> list[Product]:
    """Active products the creator may promote (own shops' first, then by title)."""
    member = select(ShopMember.shop_id).where(ShopMember.user_id == creator_id)
    in_plan = (select(AffiliatePlan.id)
               .join(AffiliateMembership, AffiliateMembership.plan_id == AffiliatePlan.id)
               .where(AffiliateMembership.creator_id == creator_id, AffiliateMembership.status == "active",
                      _live_plan(now), _covers(Product.id, Product.shop_id))
               .exists())
    stmt = select(Product).where(Product.status == "active", or_(Product.shop_id.in_(member), in_plan))
    if own_first:
        stmt = stmt.order_by(Product.shop_id.in_(member).desc(), Product.title, Product.id)
    else:
        if after is not None:
            stmt = stmt.where(or_(Product.title > after[0], and_(Product.title == after[0], Product.id > after[1])))
        stmt = stmt.order_by(Product.title, Product.id)
    return list((await db.execute(stmt.limit(limit))).scalars())


# --- memberships ----------------------------------------------------------------------------


async def membership(db: AsyncSession, plan_id: int, creator_id: int) -> AffiliateMembership | None:
    stmt = select(AffiliateMembership).where(AffiliateMembership.plan_id == plan_id,
                                             AffiliateMembership.creator_id == creator_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def membership_by_id(db: AsyncSession, membership_id: int) -> AffiliateMembership | None:
    return await db.get(AffiliateMembership, membership_id)


async def members_of_plan(db: AsyncSession, plan_id: int, status: str | None, limit: int,
                          after_id: int | None) -> list[AffiliateMembership]:
    stmt = select(AffiliateMembership).where(AffiliateMembership.plan_id == plan_id)
    if status is not None:
        stmt = stmt.where(AffiliateMembership.status == status)
    if after_id is not None:
        stmt = stmt.where(AffiliateMembership.id > after_id)
    return list((await db.execute(stmt.order_by(AffiliateMembership.id).limit(limit))).scalars())


async def members_of_shop(db: AsyncSession, shop_id: int, status: str | None, limit: int,
                          after_id: int | None) -> list[AffiliateMembership]:
    stmt = (select(AffiliateMembership).join(AffiliatePlan, AffiliatePlan.id == AffiliateMembership.plan_id)
            .where(AffiliatePlan.shop_id == shop_id))
    if status is not None:
        stmt = stmt.where(AffiliateMembership.status == status)
    if after_id is not None:
        stmt = stmt.where(AffiliateMembership.id > after_id)
    return list((await db.execute(stmt.order_by(AffiliateMembership.id).limit(limit))).scalars())


async def memberships_of_creator(db: AsyncSession, creator_id: int, statuses: Sequence[str], limit: int,
                                 after_id: int | None) -> list[AffiliateMembership]:
    stmt = select(AffiliateMembership).where(AffiliateMembership.creator_id == creator_id,
                                             AffiliateMembership.status.in_(list(statuses)))
    if after_id is not None:
        stmt = stmt.where(AffiliateMembership.id > after_id)
    return list((await db.execute(stmt.order_by(AffiliateMembership.id).limit(limit))).scalars())


async def member_counts(db: AsyncSession, plan_ids: Sequence[int]) -> dict[int, int]:
    if not plan_ids:
        return {}
    stmt = (select(AffiliateMembership.plan_id, func.count()).where(AffiliateMembership.plan_id.in_(set(plan_ids)),
                                                                    AffiliateMembership.status == "active")
            .group_by(AffiliateMembership.plan_id))
    return {int(p): int(n) for p, n in (await db.execute(stmt)).all()}


async def active_plan_ids_of(db: AsyncSession, creator_id: int, plan_ids: Sequence[int]) -> set[int]:
    if not plan_ids:
        return set()
    stmt = select(AffiliateMembership.plan_id).where(AffiliateMembership.creator_id == creator_id,
                                                     AffiliateMembership.plan_id.in_(set(plan_ids)),
                                                     AffiliateMembership.status == "active")
    return {int(r) for r in (await db.execute(stmt)).scalars()}


async def end_memberships(db: AsyncSession, plan_id: int, at: datetime) -> None:
    """A plan that ends: invitations and requests lapse (declined); members leave."""
    await db.execute(update(AffiliateMembership)
                     .where(AffiliateMembership.plan_id == plan_id,
                            AffiliateMembership.status.in_(["invited", "pending"]))
                     .values(status="declined", decided_at=at))
    await db.execute(update(AffiliateMembership)
                     .where(AffiliateMembership.plan_id == plan_id, AffiliateMembership.status == "active")
                     .values(status="left", left_at=at))


# --- samples ----------------------------------------------------------------------------------


async def sample(db: AsyncSession, sample_id: int) -> AffiliateSampleRequest | None:
    return await db.get(AffiliateSampleRequest, sample_id)


async def open_sample(db: AsyncSession, creator_id: int, variant_id: int) -> AffiliateSampleRequest | None:
    stmt = select(AffiliateSampleRequest).where(AffiliateSampleRequest.creator_id == creator_id,
                                                AffiliateSampleRequest.variant_id == variant_id,
                                                AffiliateSampleRequest.status.in_(["requested", "approved"]))
    return (await db.execute(stmt.limit(1))).scalar_one_or_none()


async def samples_of_shop(db: AsyncSession, shop_id: int, status: str | None, limit: int,
                          after_id: int | None) -> list[AffiliateSampleRequest]:
    stmt = select(AffiliateSampleRequest).where(AffiliateSampleRequest.shop_id == shop_id)
    if status is not None:
        stmt = stmt.where(AffiliateSampleRequest.status == status)
    if after_id is not None:
        stmt = stmt.where(AffiliateSampleRequest.id < after_id)
    return list((await db.execute(stmt.order_by(AffiliateSampleRequest.id.desc()).limit(limit))).scalars())


async def samples_of_creator(db: AsyncSession, creator_id: int, limit: int,
                             after_id: int | None) -> list[AffiliateSampleRequest]:
    stmt = select(AffiliateSampleRequest).where(AffiliateSampleRequest.creator_id == creator_id)
    if after_id is not None:
        stmt = stmt.where(AffiliateSampleRequest.id < after_id)
    return list((await db.execute(stmt.order_by(AffiliateSampleRequest.id.desc()).limit(limit))).scalars())


async def samples_to_remind(db: AsyncSession, now: datetime, limit: int) -> list[AffiliateSampleRequest]:
    """Approved samples whose posting window has passed, not yet reminded."""
    stmt = (select(AffiliateSampleRequest)
            .where(AffiliateSampleRequest.status == "approved", AffiliateSampleRequest.reminded_at.is_(None),
                   AffiliateSampleRequest.post_by <= now)
            .order_by(AffiliateSampleRequest.id).limit(limit))
    return list((await db.execute(stmt)).scalars())


# --- showcase ---------------------------------------------------------------------------------


async def showcase_items(db: AsyncSession, creator_id: int, limit: int,
                         after: tuple[int, int] | None) -> list[ShowcaseItem]:
    stmt = select(ShowcaseItem).where(ShowcaseItem.creator_id == creator_id)
    if after is not None:
        stmt = stmt.where(or_(ShowcaseItem.position > after[0],
                              and_(ShowcaseItem.position == after[0], ShowcaseItem.product_id > after[1])))
    stmt = stmt.order_by(ShowcaseItem.position, ShowcaseItem.product_id).limit(limit)
    return list((await db.execute(stmt)).scalars())


async def showcase_item(db: AsyncSession, creator_id: int, product_id: int) -> ShowcaseItem | None:
    return await db.get(ShowcaseItem, (creator_id, product_id))


async def showcase_count(db: AsyncSession, creator_id: int) -> int:
    stmt = select(func.count()).select_from(ShowcaseItem).where(ShowcaseItem.creator_id == creator_id)
    return int((await db.execute(stmt)).scalar_one())


async def showcase_last_position(db: AsyncSession, creator_id: int) -> int:
    stmt = select(func.max(ShowcaseItem.position)).where(ShowcaseItem.creator_id == creator_id)
    found = (await db.execute(stmt)).scalar_one()
    return int(found) if found is not None else -1


async def remove_showcase_item(db: AsyncSession, creator_id: int, product_id: int) -> bool:
    result = await db.execute(delete(ShowcaseItem).where(ShowcaseItem.creator_id == creator_id,
                                                         ShowcaseItem.product_id == product_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
