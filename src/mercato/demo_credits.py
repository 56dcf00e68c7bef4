"""Shopping credits in the demo world (docs/promotions.md, "Shopping credits"): the first ten
demo shoppers were granted "Welcome credits" by the platform, and shopper2 paid one order partly
with them (the card paid the rest), so `/me/credits`, the checkout's "Use … of credits" box and
the operator's `/admin/credits` have something to show."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_repository as dr
from mercato.accounts import repository as accounts_repo
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.orders import checkout as checkouts
from mercato.orders import payflow
from mercato.orders.schemas import BuyNowItem, CardIn, CheckoutIn
from mercato.promotions import credits

DOMAIN = "demo.example.com"
WELCOME = 1000  # $10.00
SHOPPERS = 10


async def seed_credits(database: Database, settings: Settings, console: Console) -> None:
    async with database.unit_of_work() as session:
        spent = await _seed(session, settings, database)
    console.print(f"[green]Demo credits:[/] $10.00 of welcome credits for shopper1–shopper{SHOPPERS}"
                  f"{f'; shopper2 paid an order partly with ${spent / 100:.2f} of them' if spent else ''}.")


async def _seed(session: AsyncSession, settings: Settings, database: Database) -> int:
    for n in range(1, SHOPPERS + 1):
        user = await accounts_repo.user_by_email(session, f"shopper{n}@{DOMAIN}")
        if user is not None:
            await credits.grant(session, user_id=user.id, amount=WELCOME, currency="USD", reason="Welcome credits",
                                reference=f"demo:welcome:{user.id}")
    buyer = await accounts_repo.user_by_email(session, f"shopper2@{DOMAIN}")
    if buyer is None:
        return 0
    for product in await dr.active_products(session):
        variant = await dr.variant_in_stock(session, product.id, 2)
        if variant is None:
            continue
        body = CheckoutIn(items=[BuyNowItem(variant_id=variant.id, quantity=1)])
        quote = await checkouts.quote(session, buyer, body, settings)
        total = quote.totals().get("USD", 0)
        if len(quote.totals()) != 1 or total <= WELCOME:
            continue  # a USD order the credits pay only part of
        checkout = await checkouts.place(session, buyer, body.model_copy(update={"use_credits": True}), settings)
        card = CardIn(card_number="4242 4242 4242 4242", exp_month=12, exp_year=2030, cvc="123", name="Demo Buyer")
        await payflow.pay_checkout(session, checkout, card, settings, database)
        return sum(order.credits for order in await checkouts.orders_of_checkout(session, checkout.id))
    return 0
