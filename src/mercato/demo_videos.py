"""The demo world's videos: real, playable clips made at seed time, and the
community around them (likes, saves, threaded comments, shares, watch histories).

Each clip is a short vertical product showcase (360×640, H.264/AAC, ``+faststart``): the
product's generated picture drifting and zooming over a gradient in its shop's colour, with
the product's name and price, and a soft chord so that unmuting does something. Clips are
drawn with Pillow and encoded with PyAV (:mod:`mercato.demo_clips`) in worker processes, one
per core, and named after what they show, so re-seeding reuses the files already in the media
folder.

Engagement goes through :func:`mercato.feed.signals.record_engagement`, event by event, so
the demo shoppers' interest profiles and the videos' scores are exactly what live
engagement would have produced: a demo shopper's For You feed is personalised at first
log-in. Everything is drawn from a seeded ``random.Random`` (deterministic)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import random
import secrets
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_repository as dr
from mercato.accounts.models import User
from mercato.catalog.models import Product, Shop
from mercato.config import Settings
from mercato.content import media as content_media
from mercato.content import service as content_service
from mercato.content.models import (
    Video,
    VideoComment,
    VideoHashtag,
    VideoLike,
    VideoMention,
    VideoProduct,
    VideoSave,
    VideoShare,
)
from mercato.demo_affiliate import seed_plans
from mercato.demo_clips import HEIGHT, WIDTH, render_clip
from mercato.feed.signals import record_engagement
from mercato.kit.db import Database
from mercato.kit.money import exponent, format_money

DOMAIN = "demo.example.com"
VIDEO_COUNT = 72
# Part of every clip's file name: bump it when the look of the clips changes, so that
# re-seeding renders them again instead of reusing files of the old look.
RENDER_VERSION = "3"
OPEN_TO_CREATORS_SHARE = 0.85


@dataclass(frozen=True)
class Niche:
    shops: tuple[str, ...]
    hashtags: tuple[str, ...]
    captions: tuple[str, ...]
    comments: tuple[str, ...]


GENERIC_CAPTIONS = (
    "Honest review of the {title} from {shop}",
    "Run, don't walk: the {title} is back in stock",
    "Things I'd buy again: {title}",
    "POV: you finally found the perfect {noun}",
    "Unboxing the {title} from {shop}",
)
GENERIC_COMMENTS = (
    "Need this!!", "Just ordered 🛒", "Adding to cart right now", "Is it worth the price?", "Where do I get this?",
    "The colour 😍", "Saved for payday", "Ok you convinced me", "Does it ship to Canada?", "Love this video",
)
NICHES: dict[str, Niche] = {
    "beauty": Niche(("glow-lab",), ("skincare", "glow", "beautytok", "selfcare", "glassskin", "makeup"),
                    ("My skin has never been this happy — {title} from {shop}", "Morning routine with the {title}",
                     "Glass skin in one step? Testing the {title}"),
                    ("My skin is so dry, would this help?", "Is it good for sensitive skin?", "That glow though ✨",
                     "Holy grail status")),
    "fitness": Niche(("stride-athletics",), ("fitness", "gymtok", "running", "activewear", "workout"),
                     ("Leg day essentials: the {title}", "Ran 10k in the {title} — here's the verdict",
                      "Gym bag check featuring the {title}"),
                     ("Do they run true to size?", "Perfect for marathon training", "Need these for the gym",
                      "How's the grip?")),
    "home": Niche(("nook-home",), ("homedecor", "cozyhome", "hometok", "interiordesign", "apartmentliving"),
                  ("Cozy corner upgrade: {title}", "Small apartment, big vibes with the {title}",
                   "Sunday reset with the {title} from {shop}"),
                  ("My living room needs this", "So cozy 🕯️", "What colour is that?", "Aesthetic!!")),
    "tech": Niche(("pixel-gadgets",), ("techtok", "gadgets", "desksetup", "unboxing", "techreview"),
                  ("Desk setup upgrade: the {title}", "Gadget of the week: {title}",
                   "Is the {title} worth it? Full review"),
                  ("Does it work with iPhone?", "Battery life?", "My desk needs this", "Clean setup")),
    "fashion": Niche(("urban-thread",), ("ootd", "streetwear", "fashiontok", "outfitinspo", "styletips"),
                     ("3 ways to style the {title}", "Outfit of the day ft. the {title}",
                      "Fit check: {title} from {shop}"),
                     ("Fit is 🔥", "What size are you wearing?", "Need this in every colour", "Styling queen")),
    "parenting": Niche(("little-sprouts",), ("momtok", "parenting", "kidstoys", "playtime", "toddlerlife"),
                       ("Quiet time saver: the {title}", "My toddler hasn't put down the {title}",
                        "Gift idea for little ones: {title}"),
                       ("My kids would love this", "What age is it for?", "Perfect birthday gift",
                        "Is it safe for toddlers?")),
    "food": Niche(("tokyo-snacks",), ("foodtok", "snacks", "japanesesnacks", "tastetest", "asmr"),
                  ("Taste test: the {title} from {shop}", "Rating the {title} out of 10",
                   "Snack haul! Starting with the {title}"),
                  ("I need to try this", "The crunch 🤤", "Is it very sweet?", "Ordering for movie night")),
    "fragrance": Niche(("desert-oud",), ("perfumetok", "fragrance", "oud", "scentoftheday"),
                       ("Scent of the day: the {title}", "Compliment magnet: {title} from {shop}",
                        "Blind buy or not? The {title}"),
                       ("How long does it last?", "Is it too strong for the office?", "Sounds divine",
                        "Gift for my husband!")),
    "deals": Niche(("glow-lab", "stride-athletics", "nook-home", "pixel-gadgets", "urban-thread", "little-sprouts",
                    "tokyo-snacks", "desert-oud"),
                   ("deals", "tiktokmademebuyit", "giftideas", "under20", "founditonmercato"),
                   ("Deal alert: the {title}", "Mercato made me buy it: {title}", "Best find this week: {title}"),
                   ("Is the deal still on?", "Bought two!", "Great price")),
    "diy": Niche(("nook-home", "pixel-gadgets", "little-sprouts"),
                 ("diy", "roommakeover", "lifehack", "weekendproject"),
                 ("Weekend project with the {title}", "Room makeover part 2: {title}",
                  "Life hack: what I do with the {title}"),
                 ("Tutorial please!", "Genius idea", "Trying this weekend")),
}
SHOP_NICHE = {
    "glow-lab": "beauty", "stride-athletics": "fitness", "nook-home": "home", "pixel-gadgets": "tech",
    "urban-thread": "fashion", "little-sprouts": "parenting", "tokyo-snacks": "food", "desert-oud": "fragrance",
}
HOOKS = ("HONEST REVIEW", "NEW DROP", "CREATOR PICK", "BACK IN STOCK", "MUST HAVE", "TRENDING", "SHOP THE LOOK",
         "BEST SELLER")
REPLIES = ("It's linked in the product card 🛍️", "Yes! Ships in 2 days", "Thank you!! 💕", "Totally worth it",
           "Check the size guide in the shop", "You'll love it")
CHORDS = ((220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (261.63, 329.63, 392.0), (174.61, 220.0, 261.63),
          (246.94, 311.13, 369.99))


@dataclass(frozen=True)
class ClipSpec:
    """Everything a clip shows; its file name is a digest of it (same spec → same file)."""

    title: str
    price: str
    badge: str
    shop: str
    color: str
    hook: str
    image: str | None  # relative to the media folder
    duration: float
    motion: int
    chord: tuple[float, float, float]

    @property
    def key(self) -> str:
        blob = json.dumps([RENDER_VERSION, self.title, self.price, self.badge, self.shop, self.color, self.hook,
                           self.image, self.duration, self.motion, self.chord], ensure_ascii=False)
        return "demo-" + hashlib.sha256(blob.encode()).hexdigest()[:24]

    @property
    def media_path(self) -> str:
        return f"videos/{self.key}.mp4"

    @property
    def poster_path(self) -> str:
        return f"videos/{self.key}.jpg"


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    duration_ms: int
    video_codec: str
    audio_codec: str | None
    size_bytes: int


@dataclass
class VideoPlan:
    creator_id: int
    niche: str
    shop_slug: str
    caption: str
    hashtags: list[str]
    mention_ids: list[int]
    product_ids: list[int]
    created_at: datetime
    clip: ClipSpec


@dataclass
class World:
    creators: list[User]
    owners: dict[int, User]  # shop id → owner
    shoppers: list[User]
    shops: dict[str, Shop]
    products: list[Product]  # active, by id
    images: dict[int, str]  # product id → picture path
    follows: dict[int, set[int]] = field(default_factory=dict)
    favourites: dict[int, set[int]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Entry points


async def seed_videos(database: Database, settings: Settings, rng: random.Random, console: Console) -> int:
    """Plan, render and record the demo videos and their engagement. Returns the number of videos."""
    now = datetime.now(UTC).replace(microsecond=0)
    async with database.unit_of_work(write=False) as session:
        world = await _load_world(session)
        open_ids = {p.id for p in world.products if rng.random() < OPEN_TO_CREATORS_SHARE}
        plans = _plan(world, open_ids, rng, now)
    started = asyncio.get_running_loop().time()
    probes, rendered = await render_clips([p.clip for p in plans], settings, console)
    elapsed = asyncio.get_running_loop().time() - started
    async with database.unit_of_work() as session:
        await dr.open_to_creators(session, sorted(open_ids))
        # affiliate plans let the creators feature other shops' products (demo_affiliate.py)
        await seed_plans(session, settings, [(p.creator_id, pid, p.created_at) for p in plans for pid in p.product_ids],
                         now)
        await _owner_handles(session, world, plans)
        videos = await _write_videos(session, world, plans, probes, settings)
        stats = await _engage(session, world, plans, videos, rng, now, settings, console)
        await dr.recount_videos(session)
    console.print(f"[green]Demo videos:[/] {len(videos)} clips ({rendered} rendered in {elapsed:.1f} s, "
                  f"{len(videos) - rendered} reused), {stats['impression']} views, {stats['like']} likes, "
                  f"{stats['comment']} comments, {stats['save']} saves, {stats['share']} shares.")
    return len(videos)


async def seed_videos_if_missing(settings: Settings, console: Console, seed: int) -> bool:
    """For a demo database seeded before videos existed: add them (only if it has none)."""
    database = Database(settings.database_url, pool=False)
    try:
        async with database.unit_of_work(write=False) as session:
            demo = await dr.user_id_by_email(session, f"creator1@{DOMAIN}")
            videos = await dr.video_count(session)
        if demo is None or videos:
            return False
        await seed_videos(database, settings, random.Random(seed), console)
        return True
    finally:
        await database.dispose()


# --------------------------------------------------------------------------------------------
# Planning (pure, deterministic)


async def _load_world(session: AsyncSession) -> World:
    users = await dr.users_of_domain(session, DOMAIN)
    creators = [u for u in users if u.email.startswith("creator")]
    shoppers = [u for u in users if u.email.startswith("shopper")]
    by_id = {u.id: u for u in users}
    shops = {s.slug: s for s in await dr.shops_in_order(session)}
    owners: dict[int, User] = {}
    for member in await dr.shop_owners(session):
        if member.user_id in by_id:
            owners[member.shop_id] = by_id[member.user_id]
    products = await dr.active_products(session, [s.id for s in shops.values()])
    images = await dr.first_image_paths(session)
    world = World(creators, owners, shoppers, shops, products, images)
    for follower, followee in await dr.follow_pairs(session):
        world.follows.setdefault(follower, set()).add(followee)
    for user_id, product_id in await dr.favourite_pairs(session):
        world.favourites.setdefault(user_id, set()).add(product_id)
    return world


def _price_text(product: Product) -> str:
    text = format_money(product.min_price, product.currency)
    if not text.isascii() and not all(ch in "€£¥" or ch.isascii() for ch in text):
        # The font cannot shape right-to-left currency symbols: show the ISO code.
        value = product.min_price / 10 ** exponent(product.currency)
        text = f"{value:,.{exponent(product.currency)}f} {product.currency}"
    return text


def _plan(world: World, open_ids: set[int], rng: random.Random, now: datetime) -> list[VideoPlan]:
    by_shop: dict[int, list[Product]] = defaultdict(list)
    for product in world.products:
        by_shop[product.shop_id].append(product)
    # Posters: every creator twice, two videos per shop owner, the rest to popular creators.
    posters: list[tuple[User, str | None]] = [(c, None) for c in world.creators for _ in range(2)]
    posters += [(owner, slug) for slug, shop in world.shops.items() if (owner := world.owners.get(shop.id))
                for _ in range(2)]
    weights = [1 / (i + 1) ** 0.7 for i in range(len(world.creators))]
    while len(posters) < VIDEO_COUNT and world.creators:
        posters.append((rng.choices(world.creators, weights=weights)[0], None))
    rng.shuffle(posters)
    handles = {c.id: c.handle for c in world.creators if c.handle}
    plans: list[VideoPlan] = []
    for n, (user, own_slug) in enumerate(posters[:VIDEO_COUNT]):
        if own_slug is not None:
            niche = SHOP_NICHE.get(own_slug, "deals")
            shop = world.shops[own_slug]
            pool = by_shop[shop.id]  # a shop's own products: open to creators or not
        else:
            niche = rng.choice([t for t in user.niche_tags if t in NICHES] or ["deals"])
            slugs = [s for s in NICHES[niche].shops if s in world.shops]
            shop = world.shops[rng.choice(slugs)]
            pool = [p for p in by_shop[shop.id] if p.id in open_ids]
        if not pool:
            continue
        anchors = rng.sample(pool, min(len(pool), rng.choices([1, 2, 3], weights=[5, 3, 2])[0]))
        star = anchors[0]
        spec = ClipSpec(
            title=star.title, price=_price_text(star),
            badge="SALE" if star.max_compare_at_price and star.max_compare_at_price > star.min_price else "",
            shop=shop.name, color=shop.color, hook=rng.choice(HOOKS), image=world.images.get(star.id),
            duration=rng.choice([4.0, 4.5, 5.0, 5.5, 6.0]), motion=rng.randrange(3), chord=rng.choice(CHORDS),
        )
        caption_niche = NICHES[niche]
        template = rng.choice(caption_niche.captions + GENERIC_CAPTIONS)
        text = template.format(title=star.title, shop=shop.name, noun=star.title.split()[-1].lower())
        tags = rng.sample(caption_niche.hashtags, rng.randint(2, min(4, len(caption_niche.hashtags))))
        mentions: list[int] = []
        others = [cid for cid in handles if cid != user.id]
        if others and rng.random() < 0.3:
            mentioned = rng.choice(others)
            mentions.append(mentioned)
            text += f" — thanks @{handles[mentioned]} for the tip"
        caption = text + " " + " ".join(f"#{t}" for t in tags)
        # Spread over the last 14 days, older first; the newest a couple of hours old.
        age = timedelta(days=14) * (1 - (n + rng.random()) / VIDEO_COUNT) + timedelta(hours=2)
        plans.append(VideoPlan(user.id, niche, shop.slug, caption, tags, mentions, [p.id for p in anchors],
                               now - age, spec))
    return plans


# --------------------------------------------------------------------------------------------
# Rendering


def _exists(*paths: Path) -> bool:
    return all(p.exists() for p in paths)


def _size(path: Path) -> int:
    return path.stat().st_size


def _commit_files(parts: dict[Path, Path], ok: bool) -> None:
    """Move rendered ``.part`` files into place (``ok``), or remove them."""
    for part, final in parts.items():
        if ok:
            part.replace(final)
        part.unlink(missing_ok=True)


async def _probe(path: Path, settings: Settings) -> Probe:
    """What the content domain's probe says about a clip (the upload path's own check)."""
    info = await content_media.probe(path, settings)
    return Probe(width=info.width, height=info.height, duration_ms=info.duration_ms, video_codec=info.video_codec,
                 audio_codec=info.audio_codec, size_bytes=_size(path))


async def render_clips(specs: list[ClipSpec], settings: Settings, console: Console) -> tuple[dict[str, Probe], int]:
    """Render every clip not already in the media folder, ``os.cpu_count()`` at a time.
    Returns the probe of every clip (by key) and how many were rendered."""
    media_dir = settings.media_dir
    (media_dir / "videos").mkdir(parents=True, exist_ok=True)
    unique = list({s.key: s for s in specs}.values())
    limit = asyncio.Semaphore(os.cpu_count() or 1)
    probing = asyncio.Semaphore(4 * (os.cpu_count() or 1))
    probes: dict[str, Probe] = {}
    rendered = 0
    loop = asyncio.get_running_loop()
    # Worker processes started afresh (not forked from this process and its event loop).
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=spawn) as pool, \
            Progress(console=console, transient=True) as progress:
        task = progress.add_task("Rendering the demo videos", total=len(unique))

        async def one(spec: ClipSpec) -> None:
            nonlocal rendered
            video, poster = media_dir / spec.media_path, media_dir / spec.poster_path
            fresh = False
            async with limit:
                if not _exists(video, poster):
                    part_video = video.with_name(video.name + ".part")
                    part_poster = poster.with_name(poster.name + ".part")
                    ok = False
                    try:
                        await loop.run_in_executor(pool, render_clip, spec, media_dir, part_video, part_poster)
                        ok = True
                    finally:
                        _commit_files({part_video: video, part_poster: poster}, ok)
                    rendered += 1
                    fresh = True
            if fresh:  # checked by the content domain's own probe, as an upload would be
                async with probing:
                    probes[spec.key] = await _probe(video, settings)
            else:  # made by this code under this very name (atomically): what the spec says
                probes[spec.key] = Probe(WIDTH, HEIGHT, round(spec.duration * 1000), "h264", "aac", _size(video))
            progress.advance(task)

        await asyncio.gather(*(one(s) for s in unique))
    return probes, rendered


# --------------------------------------------------------------------------------------------
# Rows and engagement


async def _write_videos(session: AsyncSession, world: World, plans: list[VideoPlan], probes: dict[str, Probe],
                        settings: Settings) -> list[Video]:
    """The video rows, with hashtags and mentions parsed from the caption and anchors checked
    by the content rules (membership of the shop, or a product open to creators; active)."""
    users = {u.id: u for u in world.creators + list(world.owners.values())}
    handles = {c.handle.lower(): c.id for c in world.creators if c.handle}
    videos: list[Video] = []
    for plan in plans:
        info = probes[plan.clip.key]
        caption = content_service.check_caption(plan.caption, settings)
        anchors = await content_service.check_anchors(session, users[plan.creator_id], plan.product_ids, settings)
        video = Video(
            creator_id=plan.creator_id, caption=caption, status="published",
            media_path=plan.clip.media_path, original_path=None, poster_path=plan.clip.poster_path,
            mime_type="video/mp4", container="mp4", video_codec=info.video_codec, audio_codec=info.audio_codec,
            width=info.width, height=info.height, duration_ms=info.duration_ms, size_bytes=info.size_bytes,
            created_at=plan.created_at, updated_at=plan.created_at,
        )
        session.add(video)
        await session.flush()
        session.add_all(VideoHashtag(video_id=video.id, tag=tag)
                        for tag in content_service.caption_hashtags(caption))
        mentioned = dict.fromkeys(handles[h] for h in content_service.caption_handles(caption) if h in handles)
        session.add_all(VideoMention(video_id=video.id, user_id=uid) for uid in mentioned)
        session.add_all(VideoProduct(video_id=video.id, product_id=pid, position=i) for i, pid in enumerate(anchors))
        videos.append(video)
    await session.flush()
    return videos


async def _owner_handles(session: AsyncSession, world: World, plans: list[VideoPlan]) -> None:
    """Shop owners who post videos get a handle (their shop's slug without dashes, as brand
    accounts have), so their videos link to a profile like any creator's."""
    posting = {p.creator_id for p in plans}
    for shop in world.shops.values():
        owner = world.owners.get(shop.id)
        if owner is None or owner.handle or owner.id not in posting:
            continue
        handle = shop.slug.replace("-", "")[:30]
        if await dr.user_id_by_handle(session, handle) is None:
            await dr.set_handle(session, owner.id, handle)


def _interests(world: World, shopper: User, rng: random.Random) -> list[str]:
    """A shopper's two niches: those of the creators they follow and the shops they favour."""
    creators = {c.id: c for c in world.creators}
    shop_slug = {s.id: slug for slug, s in world.shops.items()}
    product_shop = {p.id: p.shop_id for p in world.products}
    counts: Counter[str] = Counter()
    for followee in world.follows.get(shopper.id, set()):
        if followee in creators:
            counts.update(t for t in creators[followee].niche_tags if t in NICHES)
    for product_id in world.favourites.get(shopper.id, set()):
        slug = shop_slug.get(product_shop.get(product_id, -1))
        if slug in SHOP_NICHE:
            counts[SHOP_NICHE[slug]] += 1
    ranked = sorted(NICHES, key=lambda n: (-counts[n], rng.random()))
    return ranked[:2]


@dataclass
class Event:
    """One engagement event of the demo timeline; ``comment``: index of the comment it makes
    (``kind`` ``comment``) or answers (``reply``)."""

    at: datetime
    user_id: int
    video: int  # index into the plans
    kind: str
    watch_ms: int = 0
    body: str = ""
    comment: int = -1
    channel: str = ""


def _after(rng: random.Random, at: datetime) -> datetime:
    return at + timedelta(seconds=rng.uniform(1, 20))


def _timeline(world: World, plans: list[VideoPlan], durations: list[int], rng: random.Random,
              now: datetime) -> list[Event]:
    """What the demo shoppers did over the last two weeks: a few app sessions each, in which
    they watched (mostly) videos of their niches — all the way through, often twice — skipped
    most others, and liked, saved, commented, shared and tapped products along the way.
    A shopper has seen some, not all, of their niches' videos: their feed still has fresh ones."""
    events: list[Event] = []
    by_niche: dict[str, list[int]] = defaultdict(list)
    for i, plan in enumerate(plans):
        by_niche[plan.niche].append(i)
        shop_niche = SHOP_NICHE.get(plan.shop_slug)
        if shop_niche and shop_niche != plan.niche:
            by_niche[shop_niche].append(i)  # a deal on a serum is a beauty video too
    comments = 0
    for shopper in world.shoppers:
        niches = _interests(world, shopper, rng)
        liked = sorted({i for n in niches for i in by_niche[n]})
        own = rng.sample(liked, min(len(liked), 6, max(2, round(len(liked) * rng.uniform(0.25, 0.4)))))
        rest = sorted(set(range(len(plans))) - set(liked))
        other = rng.sample(rest, min(len(rest), rng.randint(1, 3)))
        sessions = sorted(now - timedelta(days=14) * rng.random() for _ in range(rng.randint(2, 4)))
        visits: dict[datetime, list[int]] = defaultdict(list)
        for i in own + other:
            fits = [s for s in sessions if s >= plans[i].created_at + timedelta(minutes=10)]
            visits[rng.choice(fits) if fits else now - timedelta(minutes=rng.randint(5, 90))].append(i)
        for start, watched in sorted(visits.items()):
            rng.shuffle(watched)
            at = start
            for i in watched:
                interested = i in own
                duration = durations[i]
                at += timedelta(seconds=rng.uniform(1, 6))
                events.append(Event(at, shopper.id, i, "impression"))
                if not interested and rng.random() < 0.6:
                    watched_ms = rng.randint(300, 1800)
                    at += timedelta(milliseconds=watched_ms)
                    events.append(Event(at, shopper.id, i, "skip", watch_ms=watched_ms))
                    continue
                share = rng.choice([0.8, 1.0, 1.0, 1.4, 2.0]) if interested else rng.uniform(0.3, 1.0)
                at += timedelta(milliseconds=int(duration * share))
                events.append(Event(at, shopper.id, i, "watch", watch_ms=int(duration * share)))
                p = 1.0 if interested else 0.15

                if rng.random() < 0.5 * p:
                    events.append(Event(_after(rng, at), shopper.id, i, "like"))
                if rng.random() < 0.3 * p:
                    events.append(Event(_after(rng, at), shopper.id, i, "product_click"))
                if rng.random() < 0.15 * p:
                    events.append(Event(_after(rng, at), shopper.id, i, "save"))
                if rng.random() < 0.07 * p:
                    events.append(Event(_after(rng, at), shopper.id, i, "share",
                                        channel=rng.choice(["link", "link", "whatsapp", "instagram", "sms"])))
                if rng.random() < 0.2 * p:
                    said = _after(rng, at)
                    events.append(Event(said, shopper.id, i, "comment", comment=comments,
                                        body=rng.choice(NICHES[plans[i].niche].comments + GENERIC_COMMENTS)))
                    answer = min(now - timedelta(seconds=30), said + timedelta(minutes=rng.uniform(5, 24 * 60)))
                    if rng.random() < 0.45:  # the creator answers
                        events.append(Event(answer, plans[i].creator_id, i, "reply", comment=comments,
                                            body=rng.choice(REPLIES)))
                    elif rng.random() < 0.2:  # another shopper chimes in
                        other_shopper = rng.choice(world.shoppers)
                        if other_shopper.id != shopper.id:
                            events.append(Event(answer, other_shopper.id, i, "reply", comment=comments,
                                                body=rng.choice(GENERIC_COMMENTS)))
                    comments += 1
    # Chronological: the decayed scores are built the way live traffic builds them.
    events.sort(key=lambda e: e.at)
    return [e for e in events if e.at < now]


async def _engage(session: AsyncSession, world: World, plans: list[VideoPlan], videos: list[Video],
                  rng: random.Random, now: datetime, settings: Settings, console: Console) -> Counter[str]:
    """Play the timeline: each fact row (like, save, comment, share) and, for every event,
    :func:`record_engagement` at the event's time."""
    events = _timeline(world, plans, [v.duration_ms for v in videos], rng, now)
    stats: Counter[str] = Counter()
    made: dict[int, VideoComment] = {}
    liked: set[tuple[int, int]] = set()
    saved: set[tuple[int, int]] = set()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Demo shoppers watch, like and comment", total=len(events))
        for event in events:
            vid, uid, at = videos[event.video].id, event.user_id, event.at
            kind = event.kind
            if kind == "like":
                if (uid, vid) in liked:
                    continue
                liked.add((uid, vid))
                session.add(VideoLike(user_id=uid, video_id=vid, created_at=at))
            elif kind == "save":
                if (uid, vid) in saved:
                    continue
                saved.add((uid, vid))
                session.add(VideoSave(user_id=uid, video_id=vid, created_at=at))
            elif kind == "share":
                session.add(VideoShare(video_id=vid, user_id=uid, token=secrets.token_urlsafe(12),
                                       channel=event.channel, visits_count=rng.randint(0, 3), created_at=at))
            elif kind == "comment":
                made[event.comment] = VideoComment(video_id=vid, user_id=uid, body=event.body, created_at=at)
                session.add(made[event.comment])
            elif kind == "reply":
                parent = made[event.comment]
                if parent.id is None:
                    await session.flush()
                session.add(VideoComment(video_id=vid, user_id=uid, parent_id=parent.id, body=event.body,
                                         created_at=at))
                kind = "comment"
            await record_engagement(session, user_id=uid, video_id=vid, kind=kind, watch_ms=event.watch_ms,
                                    settings=settings, now=at)
            stats[kind] += 1
            progress.advance(task)
    return stats
