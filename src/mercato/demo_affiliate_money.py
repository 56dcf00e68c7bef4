"""Demo affiliate money (after the plans demo): orders attributed to ``creator1`` through their
affiliate link, in every state — a commission pending, one available, one paid (a creator
payout covered it) and one clawed back (refunded after it was paid out, netted from the next
payout). Made through the app's own services, paid with the sandbox test card."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_repository as dr
from mercato.accounts.models import User
from mercato.affiliate import links, money_wiring, plans, touchpoints
from mercato.affiliate import repository as plans_repo
from mercato.affiliate.models import AffiliateMembership
from mercato.catalog.models import Product
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import AppError
from mercato.ledger import payouts
from mercato.orders import checkout as checkouts
from mercato.orders import lifecycle, payflow, refunds
from mercato.orders.models import Order
from mercato.orders.schemas import AddressIn, BuyNowItem, CardIn, CheckoutIn

DOMAIN = "demo.example.com"
CARD = CardIn(card_number="4242 4242 4242 4242", exp_month=12, exp_year=2030, cvc="123", name="Demo Buyer")


async def _promoted_product(session: AsyncSession, creator: User, now: datetime) -> Product | None:
    """A USD product creator1 earns on (from the plans demo), else one put in a new open plan."""
    products = [p for p in await dr.active_products(session) if p.currency == "USD"]
    products.sort(key=lambda p: p.id)
    for product in products:
        if await plans.terms_for(session, creator_id=creator.id, product_id=product.id, at=now) is not None \
                and await dr.variant_in_stock(session, product.id, 8) is not None:
            return product
    for product in products:
        variant = await dr.variant_in_stock(session, product.id, 8)
        if variant is None:
            continue
        shop = next(s for s in await dr.shops_in_order(session) if s.id == product.shop_id)
        start = now - timedelta(days=30)
        plan = await plans.create_plan(session, shop, name="Creator picks", kind="open", scope="products",
                                       product_ids=[product.id], rate_bps=2000, flat_fee=None,
                                       requires_approval=False, ends_at=None, now=start)
        await plans_repo.add(session, AffiliateMembership(plan_id=plan.id, creator_id=creator.id, status="active",
                                                          created_at=start, decided_at=start, joined_at=start))
        return product
    return None


async def _attributed_order(session: AsyncSession, settings: Settings, database: Database, buyer: User,
                            creator: User, product: Product, now: datetime) -> Order | None:
    variant = await dr.variant_in_stock(session, product.id, 3)
    if variant is None:
        return None
    link, _ = await links.make_link(session, creator.id, product.id)
    await touchpoints.record(session, settings, kind="link_click", creator_id=creator.id, product_id=product.id,
                             at=now - timedelta(hours=2), user_id=buyer.id, link_id=link.id)
    address = await payflow.save_address(session, buyer, AddressIn(
        name=buyer.display_name, line1="500 Howard St", city="San Francisco", region="US-CA", postal_code="94105",
        country="US", is_default=True))
    checkout = await checkouts.place(session, buyer, CheckoutIn(
        address_id=address.id, items=[BuyNowItem(variant_id=variant.id, quantity=2)]), settings)
    await payflow.pay_checkout(session, checkout, CARD, settings, database)
    orders = await checkouts.orders_of_checkout(session, checkout.id)
    return orders[0] if orders else None


async def _settle(session: AsyncSession, settings: Settings, order: Order, owner: User, now: datetime) -> None:
    await lifecycle.ship(session, order, owner, "UPS", f"1ZAFF{order.id:06d}")
    await lifecycle.deliver(session, order, owner)
    order.delivered_at = now - timedelta(days=settings.settlement_days + 1)
    await session.flush()
    await lifecycle.settle_due(session, settings)


async def seed_affiliate_money(database: Database, settings: Settings, console: Console) -> None:
    money_wiring.install(settings)
    now = datetime.now(UTC)
    async with database.unit_of_work() as session:
        users = {u.email: u for u in await dr.all_users(session)}
        creator = users.get(f"creator1@{DOMAIN}")
        if creator is None:
            return
        product = await _promoted_product(session, creator, now)
        if product is None:
            return
        owner_email = next((f"seller{i + 1}@{DOMAIN}" for i, shop in enumerate(await dr.shops_in_order(session))
                            if shop.id == product.shop_id), None)
        owner = users.get(owner_email or "")
        buyers = [users.get(f"shopper{i}@{DOMAIN}") for i in range(61, 65)]
        if owner is None or any(b is None for b in buyers):
            return
        made = []
        for buyer in buyers:
            assert buyer is not None
            order = await _attributed_order(session, settings, database, buyer, creator, product, now)
            if order is not None:
                made.append(order)
        if len(made) < 4:
            return
        pending, paid_out, clawed, available = made
        await _settle(session, settings, paid_out, owner, now)
        await _settle(session, settings, clawed, owner, now)
        payee = payouts.require_creator_payee(creator, settings)
        await payouts.set_payee_method(session, payee, account_holder=creator.display_name,
                                       account_number="000987654321", now=now - timedelta(days=5))
        with contextlib.suppress(AppError):  # below the minimum: stays available
            await payouts.request_creator_payout(session, creator, paid_out.currency, settings)
        await _settle(session, settings, available, owner, now)
        await refunds.refund_order(session, clawed, clawed.total, reason="Returned after the payout",
                                   settings=settings, actor=owner)
    console.print(f"[green]Demo affiliate money:[/] creator1 earns on “{product.title}”: orders "
                  f"#{pending.id} pending, #{paid_out.id} paid, #{available.id} available, #{clawed.id} clawed back.")
