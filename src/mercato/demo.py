"""The demo world: a deterministic set of shops, products with images, creators, shoppers and follows.

Seeded by ``make run`` on an empty database so that a newcomer sees the product
working. Everything is generated from a fixed random seed; product images are drawn
with Pillow (shop colour, product name) and stored like real uploads.
"""

from __future__ import annotations

import contextlib
import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from PIL import Image, ImageDraw, ImageFont
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_repository as dr
from mercato.accounts.models import Follow, User
from mercato.catalog import products as product_service
from mercato.catalog import shops as shop_service
from mercato.catalog.models import Favourite, Product, Shop, ShopMember
from mercato.catalog.schemas import ProductIn, ShopIn, VariantIn
from mercato.config import Settings
from mercato.connections import service as connection_service
from mercato.connections import webhooks as store_webhooks
from mercato.connections.platforms import square as square_platform
from mercato.connections.signatures import hmac_sha256_b64
from mercato.demo_affiliate import seed_affiliate
from mercato.demo_affiliate_money import seed_affiliate_money
from mercato.demo_analytics import seed_analytics
from mercato.demo_community import seed_community, seed_community_if_missing
from mercato.demo_credits import seed_credits
from mercato.demo_gifts import seed_gifts
from mercato.demo_live_world import seed_lives, seed_lives_if_missing
from mercato.demo_videos import seed_videos, seed_videos_if_missing
from mercato.kit.db import Database
from mercato.kit.errors import AppError
from mercato.kit.images import store_image
from mercato.kit.money import exponent
from mercato.kit.security import hash_password
from mercato.ledger import payouts
from mercato.orders import checkout as checkouts
from mercato.orders import lifecycle, payflow, pricing, refunds, reviews
from mercato.orders.models import Order
from mercato.orders.schemas import AddressIn, BuyNowItem, CardIn, CheckoutIn
from mercato.promotions.models import Coupon

DOMAIN = "demo.example.com"
SEED = 2026


@dataclass(frozen=True)
class ShopPlan:
    slug: str
    name: str
    currency: str
    category: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    options: dict[str, tuple[str, ...]]
    price_range: tuple[int, int]  # in major units
    brands: tuple[str, ...]
    count: int


SHOPS: tuple[ShopPlan, ...] = (
    ShopPlan("glow-lab", "Glow Lab", "USD", "Beauty > Skincare",
             ("Serum", "Moisturizer", "Cleanser", "Lip Tint", "Face Mist", "Eye Cream", "Sunscreen"),
             ("Hydrating", "Vitamin C", "Dewy", "Calming", "Overnight", "Matte", "Rose"),
             {"Size": ("30 ml", "50 ml")}, (9, 48), ("Glow Lab", "Dewdrop"), 19),
    ShopPlan("stride-athletics", "Stride Athletics", "USD", "Sports > Running",
             ("Running Shoes", "Leggings", "Sports Bra", "Track Jacket", "Water Bottle", "Yoga Mat"),
             ("Featherlight", "Trail", "Tempo", "Seamless", "All-Weather", "Pro"),
             {"Color": ("Black", "Coral", "Navy"), "Size": ("S", "M", "L")}, (15, 140), ("Stride", "Apex"), 19),
    ShopPlan("nook-home", "Nook Home", "USD", "Home > Decor",
             ("Scented Candle", "Ceramic Mug", "Throw Blanket", "Linen Pillow", "Plant Pot", "Table Lamp"),
             ("Cozy", "Minimal", "Boho", "Stoneware", "Nordic", "Sunset"),
             {"Color": ("Sand", "Sage", "Terracotta")}, (12, 95), ("Nook",), 19),
    ShopPlan("pixel-gadgets", "Pixel Gadgets", "USD", "Electronics > Accessories",
             ("Wireless Earbuds", "Power Bank", "Phone Case", "Ring Light", "Smart Watch Band", "USB-C Hub"),
             ("Compact", "Magnetic", "Ultra", "Fast-Charge", "Clear", "Studio"),
             {"Color": ("Black", "White", "Lilac")}, (9, 129), ("Pixel", "VoltOne"), 19),
    ShopPlan("urban-thread", "Urban Thread", "USD", "Clothing > Tops",
             ("Oversized Tee", "Hoodie", "Cargo Pants", "Denim Jacket", "Crewneck", "Bucket Hat"),
             ("Vintage", "Heavyweight", "Washed", "Everyday", "Cropped", "Relaxed"),
             {"Color": ("Black", "Cream", "Olive"), "Size": ("S", "M", "L", "XL")}, (18, 89), ("Urban Thread",), 19),
    ShopPlan("little-sprouts", "Little Sprouts", "EUR", "Kids > Toys",
             ("Stacking Blocks", "Plush Bunny", "Puzzle", "Bath Toy Set", "Play Tent", "Crayon Kit"),
             ("Wooden", "Rainbow", "Organic", "Montessori", "Jumbo", "Pastel"),
             {"Edition": ("Classic", "Deluxe")}, (8, 60), ("Sprouts",), 19),
    ShopPlan("tokyo-snacks", "Tokyo Snack Box", "JPY", "Food > Snacks",
             ("Matcha KitKat", "Senbei Crackers", "Mochi Box", "Ramune Soda", "Pocky Set", "Snack Box"),
             ("Limited", "Seasonal", "Family", "Premium", "Kyoto", "Sakura"),
             {"Pack": ("Single", "6-pack")}, (300, 4800), ("Tokyo Treats",), 18),
    ShopPlan("desert-oud", "Desert Oud", "KWD", "Beauty > Fragrance",
             ("Eau de Parfum", "Oud Oil", "Bakhoor", "Body Mist", "Gift Set"),
             ("Royal", "Amber", "Midnight", "Saffron", "Velvet", "Musk"),
             {"Volume": ("50 ml", "100 ml")}, (4, 45), ("Desert Oud",), 18),
)

SUBCATEGORIES = {
    "glow-lab": "Beauty > Makeup", "stride-athletics": "Sports > Yoga", "nook-home": "Home > Kitchen",
    "pixel-gadgets": "Electronics > Audio", "urban-thread": "Clothing > Outerwear", "little-sprouts": "Kids > Baby",
    "tokyo-snacks": "Food > Drinks", "desert-oud": "Beauty > Fragrance",
}
BLURBS = ["Loved on LIVE.", "A creator favourite.", "Back in stock.", "New season."]
CREATOR_NICHES = ["beauty", "fitness", "home", "tech", "fashion", "parenting", "food", "fragrance", "deals", "diy"]
FIRST = ["Ava", "Leo", "Mia", "Noah", "Zoe", "Kai", "Luna", "Eli", "Ivy", "Max", "Nia", "Sam", "Aria", "Jay",
         "Rosa", "Omar", "Yuki", "Finn", "Lena", "Theo", "Maya", "Ezra", "Sofia", "Arlo", "Chloe"]
LAST = ["Rivera", "Chen", "Okafor", "Nguyen", "Silva", "Kowalski", "Haddad", "Kim", "Moreau", "Patel", "Jensen",
        "Costa", "Tanaka", "Novak", "Ali", "Brooks"]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def product_picture(title: str, shop_name: str, color: str, rng: random.Random) -> bytes:
    """A square product shot stand-in: shop colour gradient, a shape and the product name."""
    size = 640
    base = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    image = Image.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(image)
    for y in range(size):
        shade = 1 - 0.45 * y / size
        draw.line([(0, y), (size, y)], fill=tuple(int(c * shade) for c in base))
    cx, cy, r = size // 2, int(size * 0.4), rng.randint(110, 170)
    shape = rng.choice(["circle", "square", "pill"])
    light = (255, 255, 255)
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=light)
    elif shape == "square":
        draw.rounded_rectangle([cx - r, cy - r, cx + r, cy + r], radius=40, fill=light)
    else:
        draw.rounded_rectangle([cx - r // 2, cy - r, cx + r // 2, cy + r], radius=r // 2, fill=light)
    draw.text((cx, cy), title[:1], fill=base, font=_font(128), anchor="mm")
    words, lines, line = title.split(), [], ""
    for word in words:
        if len(line) + len(word) > 18:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    for i, text in enumerate(lines[:2]):
        draw.text((cx, int(size * 0.74) + i * 50), text, fill=light, font=_font(44), anchor="mm")
    draw.text((cx, size - 40), shop_name.upper(), fill=light, font=_font(24), anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def avatar_picture(initials: str, color: str) -> bytes:
    image = Image.new("RGB", (256, 256), tuple(int(color[i:i + 2], 16) for i in (1, 3, 5)))
    ImageDraw.Draw(image).text((128, 128), initials, fill=(255, 255, 255), font=_font(110), anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _price(rng: random.Random, plan: ShopPlan) -> int:
    major = rng.uniform(*plan.price_range)
    exp = exponent(plan.currency)
    if exp == 0:
        return int(round(major / 10) * 10)
    return int(round(major) * 10**exp - (10**exp // 100 if exp else 0))  # 19.99-style prices


async def is_seeded(session: AsyncSession) -> bool:
    return await dr.user_count(session) > 0


async def demo_logins(session: AsyncSession, settings: Settings) -> dict[str, Any] | None:
    """The log-ins shown on the sign-in page, when the demo world is loaded."""
    wanted = [("shopper1", "shopper"), ("creator1", "creator"), ("seller1", "seller (owner of Glow Lab)"),
              ("admin", "operator")]
    emails = [f"{name}@{DOMAIN}" for name, _ in wanted]
    found = await dr.existing_emails(session, emails)
    accounts = [{"email": f"{n}@{DOMAIN}", "role": r} for n, r in wanted if f"{n}@{DOMAIN}" in found]
    return {"password": settings.demo_password, "accounts": accounts} if accounts else None


async def seed_if_empty(settings: Settings, console: Console) -> bool:
    db = Database(settings.database_url, pool=False)
    try:
        async with db.unit_of_work(write=False) as session:
            seeded = await is_seeded(session)
    finally:
        await db.dispose()
    if seeded:
        console.print("Database already has data: demo world not seeded.")
        await seed_videos_if_missing(settings, console, SEED + 2)  # a demo world from before videos gains them
        await seed_lives_if_missing(settings, console)  # … and LIVEs
        await seed_community_if_missing(settings, console)  # … and the Fan Club and Community Fest
        return False
    await seed(settings, console)
    return True


async def seed(settings: Settings, console: Console) -> None:
    rng = random.Random(SEED)
    db = Database(settings.database_url, pool=False)
    try:
        async with db.unit_of_work() as session:
            await _seed(session, settings, rng, console)
        async with db.unit_of_work() as session:
            await _seed_commerce(session, settings, random.Random(SEED + 1), db, console)
        async with db.unit_of_work() as session:
            await _seed_connection(session, settings, console)
        await seed_credits(db, settings, console)
        await seed_videos(db, settings, random.Random(SEED + 2), console)
        async with db.unit_of_work() as session:
            await seed_lives(session, settings, console)
        await seed_gifts(db, settings, console)
        async with db.unit_of_work() as session:
            await seed_community(session, settings, console)
        async with db.unit_of_work() as session:
            await seed_analytics(session, random.Random(SEED + 3), console)
        async with db.unit_of_work() as session:
            await seed_affiliate(session, settings, console)
        await seed_affiliate_money(db, settings, console)  # demo_affiliate_money.py: commissions in every state
    finally:
        await db.dispose()


async def _seed(session: AsyncSession, settings: Settings, rng: random.Random, console: Console) -> None:
    password_hash = hash_password(settings.demo_password)

    def person(email_name: str, display: str, born: date, **extra: Any) -> User:
        fields: dict[str, Any] = {"niche_tags": [], "bio": "", **extra}
        user = User(email=f"{email_name}@{DOMAIN}", password_hash=password_hash, display_name=display,
                    date_of_birth=born, **fields)
        session.add(user)
        return user

    admin = person("admin", "Mercato Operator", date(1985, 5, 1), is_admin=True)
    sellers = [person(f"seller{i + 1}", f"{plan.name} Team", date(1980 + i, 3, 10)) for i, plan in enumerate(SHOPS)]
    staff = person("staff1", "Glow Lab Staff", date(1995, 7, 7))
    creators: list[User] = []
    for i in range(20):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        niches = rng.sample(CREATOR_NICHES, 2)
        creators.append(person(
            f"creator{i + 1}", f"{first} {last}", date(1990 + i % 12, 1 + i % 12, 1 + i % 27),
            is_creator=True, handle=f"{first.lower()}.{niches[0]}", niche_tags=niches,
            bio=f"{niches[0].capitalize()} finds and honest reviews. New drops every week ✨",
        ))
    shoppers = []
    for i in range(100):
        born = date(1975 + rng.randint(0, 35), rng.randint(1, 12), rng.randint(1, 28))
        if i == 99:
            born = date(2011, 6, 1)  # a teenage shopper: under-18 rules are visible in the demo
        shoppers.append(person(f"shopper{i + 1}", f"{rng.choice(FIRST)} {rng.choice(LAST)}", born))
    await session.flush()
    del admin

    for i, creator in enumerate(creators):
        stored = store_image(
            avatar_picture(creator.display_name[:1] + creator.display_name.split()[-1][:1],
                           shop_service.PALETTE[i % len(shop_service.PALETTE)]),
            settings.media_dir, f"avatars/{creator.id}", max_bytes=settings.max_image_bytes)
        creator.avatar_path = stored.thumb_path

    shops: dict[str, Shop] = {}
    work: list[tuple[ShopPlan, int, str]] = []
    for plan, owner in zip(SHOPS, sellers, strict=True):
        shops[plan.slug] = await shop_service.create_shop(session, owner, ShopIn(
            name=plan.name, slug=plan.slug, currency=plan.currency,
            description=f"{plan.name}: {plan.category.split(' > ')[-1].lower()} loved by creators.",
            policies="Ships in 2 business days. Free returns within 30 days of delivery.",
        ))
        if plan.slug == "glow-lab":
            session.add(ShopMember(shop_id=shops[plan.slug].id, user_id=staff.id, role="staff"))
        titles: set[str] = set()
        while len(titles) < plan.count:
            titles.add(f"{rng.choice(plan.adjectives)} {rng.choice(plan.nouns)}")
        work.extend((plan, n, title) for n, title in enumerate(sorted(titles)))
    rng.shuffle(work)  # interleave shops, so "newest" is not one shop after another

    all_products: list[Product] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Seeding the demo catalog", total=len(work))
        for plan, n, title in work:
            shop = shops[plan.slug]
            combos: list[dict[str, str]] = [{}]
            for name, values in plan.options.items():
                chosen = values if rng.random() < 0.8 else values[:1]
                combos = [{**c, name: v} for c in combos for v in chosen]
            base = _price(rng, plan)
            variants = []
            for k, options in enumerate(combos):
                price = base + k * (10 ** exponent(plan.currency)) * (1 if "Size" in options else 0)
                variants.append(VariantIn(
                    sku=f"{plan.slug[:4].upper()}-{n + 1:03d}-{k + 1:02d}", options=options, price=price,
                    compare_at_price=int(price * 1.25) if rng.random() < 0.3 else None,
                    stock=0 if rng.random() < 0.08 else rng.randint(1, 120),
                    weight_grams=rng.randint(50, 1500),
                ))
            product = await product_service.create_product(session, shop, ProductIn(
                title=title, status="active" if rng.random() > 0.04 else "draft",
                description=f"{title} by {plan.name}. {rng.choice(BLURBS)} Made to last, easy to love.",
                category=plan.category if rng.random() < 0.7 else SUBCATEGORIES[plan.slug],
                brand=rng.choice(plan.brands),
                tags=[plan.category.split(" > ")[0].lower(), title.split()[-1].lower()], variants=variants,
            ))
            await product_service.add_image(
                session, product, product_picture(title, plan.name, shop.color, rng), settings)
            all_products.append(product)
            progress.advance(task)

    # The social graph: shoppers follow creators (popular ones more), creators follow each other.
    weights = [1 / (i + 1) for i in range(len(creators))]
    edges: set[tuple[int, int]] = set()
    for shopper in shoppers:
        for creator in rng.choices(creators, weights=weights, k=rng.randint(2, 9)):
            edges.add((shopper.id, creator.id))
        if rng.random() < 0.3:
            other = rng.choice(shoppers)
            if other.id != shopper.id:
                edges.add((shopper.id, other.id))
    for creator in creators:
        for other in rng.sample(creators, 4):
            if other.id != creator.id:
                edges.add((creator.id, other.id))
    session.add_all(Follow(follower_id=a, followee_id=b) for a, b in sorted(edges))
    active = [p for p in all_products if p.status == "active"]
    favourites: set[tuple[int, int]] = set()
    for shopper in shoppers:
        for product in rng.sample(active, rng.randint(0, 8)):
            favourites.add((shopper.id, product.id))
    session.add_all(Favourite(user_id=u, product_id=p) for u, p in sorted(favourites))
    await session.flush()
    await dr.recount_people_and_products(session)
    console.print(f"[green]Demo world ready:[/] {len(SHOPS)} shops, {len(all_products)} products, "
                  f"{len(creators)} creators, {len(shoppers)} shoppers, {len(edges)} follows, "
                  f"{len(favourites)} favourites.")
    console.print(f"Demo log-ins (password [bold]{settings.demo_password}[/]):")
    for name, role in (("shopper1", "shopper"), ("shopper100", "shopper under 18"), ("creator1", "creator"),
                       ("seller1", "seller, owner of Glow Lab"), ("staff1", "staff of Glow Lab"),
                       ("admin", "operator")):
        console.print(f"  {name + '@' + DOMAIN:<34} {role}")


TAX_RATES = {"US-CA": 725, "US-NY": 400, "US-TX": 625, "US-WA": 650, "DE": 1900, "GB": 2000, "JP": 1000}
ADDRESSES = [
    ("1 Market St", "San Francisco", "US-CA", "94105", "US"), ("350 5th Ave", "New York", "US-NY", "10118", "US"),
    ("600 Congress Ave", "Austin", "US-TX", "78701", "US"), ("400 Broad St", "Seattle", "US-WA", "98109", "US"),
    ("Unter den Linden 1", "Berlin", "DE", "10117", "DE"), ("1-1 Marunouchi", "Tokyo", "JP", "100-0005", "JP"),
]


async def _seed_commerce(session: AsyncSession, settings: Settings, rng: random.Random, database: Database,
                         console: Console) -> None:
    """Orders in every state, coupons, tax rates, shipping rules, reviews, a settled sale and a
    payout — made through the same services the app uses, paid with the sandbox test card."""
    for region, rate in TAX_RATES.items():
        await pricing.set_tax_rate(session, region, rate, f"Sales tax {region}")
    shops = await dr.shops_in_order(session)
    for shop in shops:
        unit = 10 ** exponent(shop.currency)
        shop.shipping_fee = 5 * unit if exponent(shop.currency) else 500
        shop.free_shipping_above = 50 * unit if exponent(shop.currency) else 5000
    glow = next(s for s in shops if s.slug == "glow-lab")
    session.add_all([
        Coupon(scope="platform", code="WELCOME10", funded_by="platform", kind="percent", percent_bps=1000,
               min_spend=0, per_user_limit=1, total_limit=500, active=True),
        Coupon(scope=f"shop:{glow.id}", shop_id=glow.id, code="GLOW5", funded_by="seller", kind="amount",
               amount=500, currency="USD", min_spend=2500, per_user_limit=2, active=True),
    ])
    await session.flush()
    users = {u.email: u for u in await dr.all_users(session)}
    owners = {shop.id: users[f"seller{i + 1}@{DOMAIN}"] for i, shop in enumerate(shops)}
    buyers = [users[f"shopper{i}@{DOMAIN}"] for i in range(1, 61)]
    products = await dr.active_products(session)
    card = CardIn(card_number="4242 4242 4242 4242", exp_month=12, exp_year=2030, cvc="123", name="Demo Buyer")
    paid_orders: list[Order] = []
    for n, buyer in enumerate(buyers):
        line1, city, region, postal, country = ADDRESSES[n % len(ADDRESSES)]
        address = await payflow.save_address(session, buyer, AddressIn(
            name=buyer.display_name, line1=line1, city=city, region=region, postal_code=postal, country=country,
            is_default=True))
        chosen = rng.sample(products, rng.randint(1, 3))
        items = []
        for product in chosen:
            variant = await dr.variant_in_stock(session, product.id, 2)
            if variant is not None:
                items.append(BuyNowItem(variant_id=variant.id, quantity=rng.randint(1, 2)))
        if not items:
            continue
        codes = ["WELCOME10"] if n % 5 == 0 else []
        checkout = await checkouts.place(session, buyer, CheckoutIn(address_id=address.id, items=items,
                                                                     coupon_codes=codes), settings)
        if n % 12 == 11:
            continue  # left unpaid: shows "awaiting payment" until its reservation expires
        await payflow.pay_checkout(session, checkout, card, settings, database)
        paid_orders.extend(await checkouts.orders_of_checkout(session, checkout.id))
    now = datetime.now(UTC)
    shipped = delivered = settled = reviewed = 0
    for n, order in enumerate(o for o in paid_orders if o.status == "paid"):
        owner = owners[order.shop_id]
        if n % 4 == 3:
            continue  # waiting to be shipped
        await lifecycle.ship(session, order, owner, rng.choice(["UPS", "USPS", "DHL", "FedEx"]),
                             f"1Z{rng.randint(10**9, 10**10 - 1)}")
        shipped += 1
        if n % 4 == 2:
            continue
        await lifecycle.deliver(session, order, owner)
        delivered += 1
        if n % 3 == 0:  # delivered more than the settlement period ago: settled below
            order.delivered_at = now - timedelta(days=settings.settlement_days + 2)
        for line in await lifecycle.lines_of(session, order.id):
            if rng.random() < 0.6:
                buyer = next(b for b in buyers if b.id == order.buyer_id)
                await reviews.review_line(session, buyer, order, line.id, rng.choice([3, 4, 4, 5, 5, 5]),
                                          rng.choice(REVIEW_TEXTS), settings)
                reviewed += 1
    await session.flush()
    settled = await lifecycle.settle_due(session, settings)
    returned = next((o for o in paid_orders if o.status == "delivered"), None)
    if returned is not None:
        buyer = next(b for b in buyers if b.id == returned.buyer_id)
        line = (await lifecycle.lines_of(session, returned.id))[0]
        await refunds.request_return(session, returned, buyer, "The colour is not what I expected.",
                                     [(line.id, 1)], settings)
    await payouts.set_payout_method(session, glow, account_holder="Glow Lab LLC", account_number="000123456789",
                                    now=now - timedelta(days=3))
    # With nothing settled for this shop yet, the Finance page just shows pending earnings.
    with contextlib.suppress(AppError):
        await payouts.request_payout(session, glow, "USD", owners[glow.id], settings)
    console.print(f"[green]Demo orders:[/] {len(paid_orders)} paid ({shipped} shipped, {delivered} delivered, "
                  f"{settled} settled), {reviewed} reviews, coupons WELCOME10 and GLOW5, tax rates for "
                  f"{len(TAX_RATES)} regions.")


REVIEW_TEXTS = [
    "Exactly like in the video, love it!", "Arrived fast and well packed.", "Good quality for the price.",
    "My second one — still great.", "Nice, but runs a little small.", "Bought it on a LIVE, no regrets.",
]


# --------------------------------------------------------------------------- the connected store

#: The sandbox Square store Glow Lab is connected to: two items in the shape of Square's
#: SearchCatalogObjects answer (prices in cents on the variations, epoch-ms versions).
SANDBOX_ITEMS: list[dict[str, Any]] = [
    {"type": "ITEM", "id": "DEMOSQ-ITEM-SERUM", "version": 1765000000000, "is_deleted": False, "item_data": {
        "name": "Sandbox Vitamin C Serum", "description": "Synced from the seller's Square store.",
        "variations": [
            {"type": "ITEM_VARIATION", "id": "DEMOSQ-VAR-SERUM-30", "version": 1765000000000, "item_variation_data": {
                "item_id": "DEMOSQ-ITEM-SERUM", "name": "30 ml", "sku": "SQ-SERUM-30",
                "pricing_type": "FIXED_PRICING", "price_money": {"amount": 2400, "currency": "USD"}}},
            {"type": "ITEM_VARIATION", "id": "DEMOSQ-VAR-SERUM-50", "version": 1765000000000, "item_variation_data": {
                "item_id": "DEMOSQ-ITEM-SERUM", "name": "50 ml", "sku": "SQ-SERUM-50",
                "pricing_type": "FIXED_PRICING", "price_money": {"amount": 3400, "currency": "USD"}}}]}},
    {"type": "ITEM", "id": "DEMOSQ-ITEM-MIST", "version": 1765000000000, "is_deleted": False, "item_data": {
        "name": "Sandbox Rose Face Mist", "description": "Synced from the seller's Square store.",
        "variations": [
            {"type": "ITEM_VARIATION", "id": "DEMOSQ-VAR-MIST", "version": 1765000000000, "item_variation_data": {
                "item_id": "DEMOSQ-ITEM-MIST", "name": "Regular", "sku": "SQ-MIST-100",
                "pricing_type": "FIXED_PRICING", "price_money": {"amount": 1600, "currency": "USD"}}}]}},
]
SANDBOX_COUNTS = {"DEMOSQ-VAR-SERUM-30": "40", "DEMOSQ-VAR-SERUM-50": "25", "DEMOSQ-VAR-MIST": "60"}
SANDBOX_KEY = "demo-square-signature-key"


def _square_inventory_event(event_id: str, variation: str, quantity: str, counted: datetime) -> bytes:
    """An ``inventory.count.updated`` delivery in the shape of Square's documented example."""
    return orjson.dumps({
        "merchant_id": "DEMO-MERCHANT", "type": "inventory.count.updated", "event_id": event_id,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"type": "inventory_counts", "id": f"{event_id}-data", "object": {"inventory_counts": [{
            "catalog_object_id": variation, "catalog_object_type": "ITEM_VARIATION",
            "location_id": "DEMO-LOCATION", "quantity": quantity, "state": "IN_STOCK",
            "calculated_at": counted.isoformat().replace("+00:00", "Z")}]}}})


async def _seed_connection(session: AsyncSession, settings: Settings, console: Console) -> None:
    """Glow Lab connected to a sandbox Square store: its catalog applied through the connection, then
    webhooks replayed through the real receiver (signed, one duplicate, one late older count), so
    the Connections page has history. The demo connection is never pulled by the jobs."""
    glow = next(s for s in await dr.shops_in_order(session) if s.slug == "glow-lab")
    conn = await connection_service.connect(session, glow, connection_service.ConnectData(
        "square", "DEMO-LOCATION", "demo-sandbox-access-token", SANDBOX_KEY,
        "https://connect.squareupsandbox.com"), is_demo=True)
    page = square_platform.map_objects(SANDBOX_ITEMS, glow.currency)
    square_platform.apply_counts(page.products, [
        {"catalog_object_id": k, "quantity": v, "state": "IN_STOCK"} for k, v in SANDBOX_COUNTS.items()], None)
    await connection_service.import_page(session, conn, page)
    url = store_webhooks.notification_url(settings.public_base_url, "square", conn.id)
    now = datetime.now(UTC)
    replay = [("demo-evt-1", "DEMOSQ-VAR-SERUM-30", "37", now + timedelta(seconds=1)),
              ("demo-evt-2", "DEMOSQ-VAR-MIST", "58", now + timedelta(seconds=3)),
              ("demo-evt-1", "DEMOSQ-VAR-SERUM-30", "37", now + timedelta(seconds=1)),  # redelivered
              ("demo-evt-3", "DEMOSQ-VAR-MIST", "59", now + timedelta(seconds=2))]  # older, arrives late
    outcomes = []
    for event_id, variation, quantity, counted in replay:
        body = _square_inventory_event(event_id, variation, quantity, counted)
        signature = hmac_sha256_b64(SANDBOX_KEY, url.encode() + body)
        outcomes.append(await store_webhooks.receive(session, conn.id, "square",
                                                     {"x-square-hmacsha256-signature": signature}, body, url))
    console.print(f"[green]Connected store:[/] Glow Lab ↔ sandbox Square ({len(page.products)} products; "
                  f"webhooks {', '.join(outcomes)}).")
