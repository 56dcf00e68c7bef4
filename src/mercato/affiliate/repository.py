"""Every query of the affiliate plans: plans, their products and rate history, memberships,
sample requests, showcases and the marketplaces' searches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Follow, User
from mercato.affiliate.models import (
    AffiliateMembership,
    AffiliatePlan,
    AffiliatePlanProduct,
    AffiliateRateChange,
    AffiliateSampleRequest,
    ShowcaseItem,
)
from mercato.catalog import repository as catalog_repository
from mercato.catalog.models import Category, Product, ShopMember, Variant
from mercato.orders.models import Address

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
    # correlate_except: the product and the plan come from the enclosing queries, however deep.
    listed = (select(AffiliatePlanProduct.product_id)
              .where(AffiliatePlanProduct.plan_id == AffiliatePlan.id,
                     AffiliatePlanProduct.product_id == product_id_col)
              .correlate_except(AffiliatePlanProduct).exists())
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


def plan_rule(creator_id: int, now: datetime) -> Any:
    """The catalog's promotion rule (catalog/hooks.py): a ``Product`` covered by a live plan the
    creator is active in."""
    return (select(AffiliatePlan.id)
            .join(AffiliateMembership, AffiliateMembership.plan_id == AffiliatePlan.id)
            .where(AffiliateMembership.creator_id == creator_id, AffiliateMembership.status == "active",
                   _live_plan(now), _covers(Product.id, Product.shop_id))
            .exists())


async def showcase_products(db: AsyncSession, creator_id: int, now: datetime, limit: int,
                            after: tuple[int, int] | None) -> list[tuple[ShowcaseItem, Product]]:
    """The showcase in order, only the active products the creator may still promote (a product
    of a plan they left stays in the table and comes back if they rejoin)."""
    stmt = (select(ShowcaseItem, Product).join(Product, Product.id == ShowcaseItem.product_id)
            .where(ShowcaseItem.creator_id == creator_id, Product.status == "active",
                   catalog_repository.promotable_clause(creator_id, now)))
    if after is not None:
        stmt = stmt.where(or_(ShowcaseItem.position > after[0],
                              and_(ShowcaseItem.position == after[0], ShowcaseItem.product_id > after[1])))
    stmt = stmt.order_by(ShowcaseItem.position, ShowcaseItem.product_id).limit(limit)
    return [(item, product) for item, product in (await db.execute(stmt)).all()]


OLDEST_BAND = "45+"


# --- marketplaces -------------------------------------------------------------------------------


async def find_creators(db: AsyncSession, *, niche: str | None, min_followers: int, region: str | None,
                        exclude_shop_id: int, limit: int) -> list[User]:
    """Creators (``is_creator``) with at least ``min_followers``, most followed first: of a niche
    (one of their ``niche_tags``), with followers whose address is in ``region`` (a country
    code); never the shop's own members."""
    members = select(ShopMember.user_id).where(ShopMember.shop_id == exclude_shop_id)
    stmt = select(User).where(User.is_creator.is_(True), User.followers_count >= min_followers,
                              User.id.not_in(members))
    if niche:
        stmt = stmt.where(func.lower(cast(User.niche_tags, String)).like(f'%"{niche.lower()}"%'))
    if region:
        stmt = stmt.where(select(Follow.follower_id).join(Address, Address.user_id == Follow.follower_id)
                          .where(Follow.followee_id == User.id, Address.country == region.upper()).exists())
    stmt = stmt.order_by(User.followers_count.desc(), User.id).limit(limit)
    return list((await db.execute(stmt)).scalars())


async def follower_age_bands(db: AsyncSession, creator_ids: Sequence[int],
                             cutoffs: Sequence[tuple[str, Any]]) -> dict[int, dict[str, int]]:
    """Followers per age band: ``cutoffs`` are (band, born after this date) from the youngest band
    on; born on or before the last cutoff → ``OLDEST_BAND``."""
    out: dict[int, dict[str, int]] = {cid: {} for cid in creator_ids}
    if not creator_ids:
        return out
    band = case(*[(User.date_of_birth > born, name) for name, born in cutoffs], else_=OLDEST_BAND)
    stmt = (select(Follow.followee_id, band, func.count()).join(User, User.id == Follow.follower_id)
            .where(Follow.followee_id.in_(set(creator_ids))).group_by(Follow.followee_id, band))
    for creator_id, name, count in (await db.execute(stmt)).all():
        out[int(creator_id)][str(name)] = int(count)
    return out


async def follower_regions(db: AsyncSession, creator_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Followers per country of their address book (a follower with addresses in two countries
    counts in both)."""
    out: dict[int, dict[str, int]] = {cid: {} for cid in creator_ids}
    if not creator_ids:
        return out
    stmt = (select(Follow.followee_id, Address.country, func.count(func.distinct(Follow.follower_id)))
            .join(Address, Address.user_id == Follow.follower_id)
            .where(Follow.followee_id.in_(set(creator_ids))).group_by(Follow.followee_id, Address.country))
    for creator_id, country, count in (await db.execute(stmt)).all():
        out[int(creator_id)][str(country)] = int(count)
    return out


async def category_paths(db: AsyncSession, slug: str) -> str | None:
    found = (await db.execute(select(Category.path).where(Category.slug == slug))).scalar_one_or_none()
    return None if found is None else str(found)


async def find_plan_products(db: AsyncSession, *, now: datetime, category_path: str | None,
                             min_rate_bps: int | None, min_price: int | None, max_price: int | None,
                             q: str | None, sort: str, offset: int, limit: int) -> list[tuple[Product, AffiliatePlan]]:
    """(product, plan) of the open, live plans: every active product they cover, filtered and
    sorted (``commission``, ``price``, ``sold``, ``newest``)."""
    stmt = (select(Product, AffiliatePlan)
            .join(AffiliatePlan, _covers(Product.id, Product.shop_id))
            .where(Product.status == "active", AffiliatePlan.kind == "open", _live_plan(now)))
    if category_path is not None:
        inside = select(Category.id).where(or_(Category.path == category_path,
                                               Category.path.like(category_path + " > %")))
        stmt = stmt.where(Product.category_id.in_(inside))
    if min_rate_bps is not None:
        stmt = stmt.where(AffiliatePlan.rate_bps >= min_rate_bps)
    if min_price is not None:
        stmt = stmt.where(Product.min_price >= min_price)
    if max_price is not None:
        stmt = stmt.where(Product.min_price <= max_price)
    if q:
        stmt = stmt.where(func.lower(Product.title).like(f"%{q.lower()}%"))
    order = {"commission": (AffiliatePlan.rate_bps.desc(), Product.id), "price": (Product.min_price, Product.id),
             "sold": (Product.sold_count.desc(), Product.id), "newest": (Product.id.desc(),)}[sort]
    stmt = stmt.order_by(*order, AffiliatePlan.id).offset(offset).limit(limit)
    return [(product, plan) for product, plan in (await db.execute(stmt)).all()]


async def plans_covering(db: AsyncSession, product_id: int, shop_id: int, now: datetime) -> list[AffiliatePlan]:
    """The live plans of the shop covering the product."""
    stmt = (select(AffiliatePlan)
            .where(_live_plan(now), AffiliatePlan.shop_id == shop_id,
                   or_(AffiliatePlan.scope == "shop",
                       select(AffiliatePlanProduct.product_id)
                       .where(AffiliatePlanProduct.plan_id == AffiliatePlan.id,
                              AffiliatePlanProduct.product_id == product_id).exists()))
            .order_by(AffiliatePlan.id))
    return list((await db.execute(stmt)).scalars())


async def products_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, Product]:
    if not ids:
        return {}
    return {p.id: p for p in (await db.execute(select(Product).where(Product.id.in_(set(ids))))).scalars()}


async def my_statuses(db: AsyncSession, creator_id: int, plan_ids: Sequence[int]) -> dict[int, str]:
    if not plan_ids:
        return {}
    stmt = select(AffiliateMembership.plan_id, AffiliateMembership.status).where(
        AffiliateMembership.creator_id == creator_id, AffiliateMembership.plan_id.in_(set(plan_ids)))
    return {int(p): str(s) for p, s in (await db.execute(stmt)).all()}


async def users_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in (await db.execute(select(User).where(User.id.in_(set(ids))))).scalars()}


async def shop_active_products(db: AsyncSession, shop_id: int, limit: int) -> list[Product]:
    stmt = (select(Product).where(Product.shop_id == shop_id, Product.status == "active")
            .order_by(Product.title, Product.id).limit(limit))
    return list((await db.execute(stmt)).scalars())


async def plan_variants(db: AsyncSession, plan_ids: Sequence[int], limit: int = 300) -> list[tuple[int, str, int, str]]:
    """(plan id, plan name, variant id, "product · variant") of the active products the plans
    cover: the choices of a sample request."""
    if not plan_ids:
        return []
    stmt = (select(AffiliatePlan.id, AffiliatePlan.name, Variant.id, Product.title, Variant.title)
            .select_from(AffiliatePlan).join(Product, _covers(Product.id, Product.shop_id))
            .join(Variant, Variant.product_id == Product.id)
            .where(AffiliatePlan.id.in_(set(plan_ids)), Product.status == "active")
            .order_by(AffiliatePlan.id, Product.title, Variant.id).limit(limit))
    return [(int(pid), str(name), int(vid), f"{title} · {vtitle}" if vtitle else str(title))
            for pid, name, vid, title, vtitle in (await db.execute(stmt)).all()]
