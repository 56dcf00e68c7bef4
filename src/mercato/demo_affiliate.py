"""Affiliate plans in the demo world (docs/affiliate.md): every shop has an open plan over the products
its videos' creators feature (the demo's ``open_to_creators`` products, as migration 0021 does for
an existing database) and a targeted plan; the creators who feature them are members since before
their first such video (``creator1`` is in at least one plan), some are invited or waiting for
approval, a few asked for samples (one approved: a zero-price sample order), and members have a
showcase. Plans, invitations and samples go through the affiliate services; memberships dated in
the past are written as rows (the services stamp "now")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_repository as dr
from mercato.accounts.models import User
from mercato.affiliate import memberships, plans, samples
from mercato.affiliate import repository as affiliate_repository
from mercato.affiliate import wiring as affiliate_wiring
from mercato.affiliate.models import AffiliateMembership, AffiliatePlan, ShowcaseItem
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.orders import payflow
from mercato.orders.schemas import AddressIn

DOMAIN = "demo.example.com"
OPEN_RATES_BPS = (1000, 1200, 800, 1500, 2000, 1000, 1200, 900)
SHOWCASE_SIZE = 8


async def seed_plans(session: AsyncSession, settings: Settings, anchors: list[tuple[int, int, datetime]],
                     now: datetime) -> None:
    """Before the demo videos are written (``demo_videos.py``): an open plan in every shop over its
    ``open_to_creators`` products, and every creator whose planned video anchors another shop's
    product (``anchors``: creator id, product id, video time) in that shop's plan since the day
    before their first such video — so the content rules accept the anchors."""
    affiliate_wiring.install()  # the plans' promotion rule (the app installs it; a CLI run may not)
    creators = await dr.demo_creators(session, DOMAIN)
    for creator in creators:  # established creators: an audience beyond the demo's accounts
        if creator.followers_count < settings.affiliate_min_followers:
            creator.followers_count += settings.affiliate_min_followers
    opened = await dr.open_product_ids(session)
    open_plans: dict[int, AffiliatePlan] = {}
    for i, shop in enumerate(await dr.shops_in_order(session)):
        product_ids = opened.get(shop.id) or [p.id for p in (await dr.active_products(session, [shop.id]))[:10]]
        if product_ids:
            open_plans[shop.id] = await plans.create_plan(
                session, shop, name=f"{shop.name} creators", kind="open", scope="products", product_ids=product_ids,
                rate_bps=OPEN_RATES_BPS[i % len(OPEN_RATES_BPS)], flat_fee=None, requires_approval=i == 1,
                ends_at=None, description="Feature our products in your videos and LIVEs.",
                now=now - timedelta(days=60))
    shop_of = await affiliate_repository.product_shops(session, [product_id for _, product_id, _ in anchors])
    first: dict[tuple[int, int], datetime] = {}
    for creator_id, product_id, at in sorted(anchors, key=lambda item: item[2]):
        shop_id = shop_of.get(product_id)
        if shop_id is not None and shop_id in open_plans:
            first.setdefault((creator_id, shop_id), at)
    for (creator_id, shop_id), at in first.items():
        if await affiliate_repository.member_shop_ids(session, creator_id, [shop_id]):
            continue
        plan = open_plans[shop_id]
        anchored = [p for c, p, _ in anchors if c == creator_id and shop_of.get(p) == shop_id]
        await affiliate_repository.add_plan_products(session, plan.id, anchored, plan.created_at)
        await _member(session, plan, creator_id, max(at - timedelta(days=1), plan.created_at))
    await session.flush()


async def seed_affiliate(session: AsyncSession, settings: Settings, console: Console) -> bool:
    """After the videos and LIVEs: targeted plans, rate changes, invitations, requests, samples and
    showcases; creator1 in a plan. False when done before (or the world has no plans or creators)."""
    affiliate_wiring.install()
    creators = await dr.demo_creators(session, DOMAIN)
    shops = await dr.shops_in_order(session)
    existing = await affiliate_repository.plans_of_shop(session, shops[0].id, 10, None) if shops else []
    if len(creators) < 4 or not existing or any(p.kind == "targeted" for p in existing):
        return False
    now = datetime.now(UTC).replace(microsecond=0)
    open_plans: dict[int, AffiliatePlan] = {}
    for shop in shops:
        found = [p for p in await affiliate_repository.plans_of_shop(session, shop.id, 10, None) if p.kind == "open"]
        if found:
            open_plans[shop.id] = found[-1]
    targeted: dict[int, AffiliatePlan] = {}
    for i, shop in enumerate(shops):
        flat = i % 2 == 1
        targeted[shop.id] = await plans.create_plan(
            session, shop, name=f"{shop.name} VIP", kind="targeted", scope="shop", product_ids=[],
            rate_bps=None if flat else 2500, flat_fee=(150 if shop.currency != "JPY" else 200) if flat else None,
            requires_approval=False, ends_at=now + timedelta(days=30),
            description="Our best rate, for the creators we love.", now=now - timedelta(days=10))
    members: dict[int, set[int]] = {}  # plan id → creator ids
    for plan in open_plans.values():
        members[plan.id] = {m.creator_id for m in await affiliate_repository.members_of_plan(
            session, plan.id, "active", 1000, None)}
    first_plan = open_plans[shops[0].id]
    if creators[0].id not in members.get(first_plan.id, set()):
        await _member(session, first_plan, creators[0].id, now - timedelta(days=40))
        members.setdefault(first_plan.id, set()).add(creators[0].id)
    # A rate rise 20 days ago (everyone gets it) and, on another plan, a cut 5 days ago that spares
    # the creators who had been promoting for 30 days (docs/affiliate.md, "Rate changes").
    await plans.update_plan(session, first_plan, rate_bps=(first_plan.rate_bps or 1000) + 200, shop=shops[0],
                            now=now - timedelta(days=20))
    if len(shops) > 2 and shops[2].id in open_plans:
        cut = open_plans[shops[2].id]
        await plans.update_plan(session, cut, rate_bps=max(100, (cut.rate_bps or 800) - 300), shop=shops[2],
                                now=now - timedelta(days=5))
    invited = 0
    for i, shop in enumerate(shops):
        vip_plan = targeted.get(shop.id)
        if vip_plan is None:
            continue
        for creator in (creators[(i + 1) % len(creators)], creators[(i + 5) % len(creators)]):
            if creator.id not in members.get(vip_plan.id, set()):
                await memberships.invite(session, shop, vip_plan, creator.id, "We would love to work with you.")
                invited += 1
    if len(shops) > 1 and shops[1].id in targeted:  # creator1 has an invitation waiting
        vip = targeted[shops[1].id]
        if await affiliate_repository.membership(session, vip.id, creators[0].id) is None:
            await memberships.invite(session, shops[1], vip, creators[0].id, "Exclusive rate for you.")
            invited += 1
    accepted = await affiliate_repository.memberships_of_creator(session, creators[1].id, ["invited"], 1, None)
    if accepted:
        await memberships.respond(session, creators[1], accepted[0].id, True, settings)
        members.setdefault(accepted[0].plan_id, set()).add(creators[1].id)
    if len(shops) > 1 and shops[1].id in open_plans:  # requests waiting for the seller's approval
        for creator in creators[-2:]:
            if creator.id not in members.get(open_plans[shops[1].id].id, set()):
                await memberships.join(session, creator, open_plans[shops[1].id].id, settings,
                                       "I review skincare every week.")
    sampled = await _samples(session, settings, creators, first_plan, shops[0])
    shown = await _showcases(session, creators, now)
    console.print(f"[green]Demo affiliate:[/] {len(open_plans) + len(targeted)} plans, "
                  f"{sum(len(m) for m in members.values())} memberships, {invited} invitations, {sampled} sample "
                  f"requests, {shown} showcase products.")
    return True


async def _member(session: AsyncSession, plan: AffiliatePlan, creator_id: int, joined: datetime) -> None:
    if await affiliate_repository.membership(session, plan.id, creator_id) is None:
        await affiliate_repository.add(session, AffiliateMembership(
            plan_id=plan.id, creator_id=creator_id, status="active", message="", created_at=joined,
            decided_at=joined, joined_at=joined))


async def _samples(session: AsyncSession, settings: Settings, creators: list[User], plan: AffiliatePlan,
                   shop: Shop) -> int:
    """creator1 asks for three samples of the first shop's plan: one approved (its sample order
    ships through the normal order life), one declined, one waiting."""
    creator = creators[0]
    address = await payflow.save_address(session, creator, AddressIn(
        name=creator.display_name, line1="1 Market St", city="San Francisco", region="US-CA", postal_code="94105",
        country="US", is_default=True))
    variants = await affiliate_repository.plan_variants(session, [plan.id], 50)
    made = []
    for _plan_id, _name, variant_id, _label in variants:
        if await dr.variant_in_stock_by_id(session, variant_id, 2) is None:
            continue
        made.append(await samples.request(session, creator, plan_id=plan.id, variant_id=variant_id,
                                          address_id=address.id, note="For my weekly haul video."))
        if len(made) == 3:
            break
    if made:
        await samples.decide(session, shop, made[0].id, True, settings)
    if len(made) > 1:
        await samples.decide(session, shop, made[1].id, False, settings)
    return len(made)


async def _showcases(session: AsyncSession, creators: list[User], now: datetime) -> int:
    count = 0
    for creator in creators:
        allowed = await affiliate_repository.promotable_products(session, creator.id, now, SHOWCASE_SIZE)
        for position, product in enumerate(allowed):
            await affiliate_repository.add(session, ShowcaseItem(creator_id=creator.id, product_id=product.id,
                                                                 position=position, added_at=now))
            count += 1
    return count
