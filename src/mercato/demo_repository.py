"""Every query of the demo seeding (``demo.py``, ``demo_videos.py``): the world's look-ups and
the counter recounts after it is built. Seeding otherwise goes through the domains' services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Follow, User
from mercato.catalog.models import Favourite, Product, ProductImage, Shop, ShopMember, Variant
from mercato.content.models import Video, VideoComment, VideoLike, VideoProduct, VideoSave, VideoShare
from mercato.feed.models import FeedEvent
from mercato.feed.signals import COMPLETION_SHARE
from mercato.live.models import Live


async def user_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one())


async def existing_emails(session: AsyncSession, emails: Sequence[str]) -> set[str]:
    return set((await session.execute(select(User.email).where(User.email.in_(emails)))).scalars())


async def user_id_by_email(session: AsyncSession, email: str) -> int | None:
    return (await session.execute(select(User.id).where(User.email == email))).scalar()


async def user_id_by_handle(session: AsyncSession, handle: str) -> int | None:
    return (await session.execute(select(User.id).where(User.handle == handle))).scalar()


async def set_handle(session: AsyncSession, user_id: int, handle: str) -> None:
    await session.execute(update(User).where(User.id == user_id).values(handle=handle))


async def all_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User))).scalars())


async def users_of_domain(session: AsyncSession, domain: str) -> list[User]:
    return list((await session.execute(select(User).where(User.email.like(f"%@{domain}"))
                                         .order_by(User.id))).scalars())


async def video_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Video))).scalar_one())


async def shops_in_order(session: AsyncSession) -> list[Shop]:
    return list((await session.execute(select(Shop).order_by(Shop.id))).scalars())


async def shop_owners(session: AsyncSession) -> list[ShopMember]:
    return list((await session.execute(select(ShopMember).where(ShopMember.role == "owner")
                                       .order_by(ShopMember.shop_id))).scalars())


async def active_products(session: AsyncSession, shop_ids: Sequence[int] | None = None) -> list[Product]:
    stmt = select(Product).where(Product.status == "active")
    if shop_ids is not None:
        stmt = stmt.where(Product.shop_id.in_(shop_ids))
    return list((await session.execute(stmt.order_by(Product.id))).scalars())


async def first_image_paths(session: AsyncSession) -> dict[int, str]:
    """Each product's first stored image (lowest position, then id)."""
    images: dict[int, str] = {}
    rows = await session.execute(select(ProductImage.product_id, ProductImage.path)
                                 .where(ProductImage.path.is_not(None))
                                 .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id))
    for product_id, path in rows:
        if path:
            images.setdefault(product_id, path)
    return images


async def follow_pairs(session: AsyncSession) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in await session.execute(select(Follow.follower_id, Follow.followee_id))]


async def favourite_pairs(session: AsyncSession) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in await session.execute(select(Favourite.user_id, Favourite.product_id))]


async def open_to_creators(session: AsyncSession, product_ids: Sequence[int]) -> None:
    await session.execute(update(Product).where(Product.id.in_(product_ids)).values(open_to_creators=True))


async def variant_in_stock(session: AsyncSession, product_id: int, spare: int) -> Variant | None:
    """The product's first variant with more than ``spare`` units available."""
    return (await session.execute(select(Variant).where(
        Variant.product_id == product_id, Variant.stock - Variant.reserved - Variant.allocated > spare)
        .order_by(Variant.id).limit(1))).scalar_one_or_none()


async def recount_people_and_products(session: AsyncSession) -> None:
    """Followers, following, favourites and shop product counters from the facts."""
    followers = select(func.count()).select_from(Follow).where(Follow.followee_id == User.id).scalar_subquery()
    following = select(func.count()).select_from(Follow).where(Follow.follower_id == User.id).scalar_subquery()
    await session.execute(update(User).values(followers_count=followers, following_count=following),
                          execution_options={"synchronize_session": False})
    favs = select(func.count()).select_from(Favourite).where(Favourite.product_id == Product.id).scalar_subquery()
    await session.execute(update(Product).values(favourites_count=favs),
                          execution_options={"synchronize_session": False})
    count = select(func.count()).select_from(Product).where(
        Product.shop_id == Shop.id, Product.status == "active").scalar_subquery()
    await session.execute(update(Shop).values(product_count=count),
                          execution_options={"synchronize_session": False})


async def recount_videos(session: AsyncSession) -> None:
    """Every counter of every video from the facts: likes, saves, comments (replies included),
    shares from their rows; views (impressions), product-card taps, completions and watch time
    from the engagement log. Also each comment's ``replies_count``."""
    await session.flush()

    def count(model: type[VideoLike] | type[VideoSave] | type[VideoComment] | type[VideoShare]) -> Any:
        return select(func.count()).select_from(model).where(model.video_id == Video.id).scalar_subquery()

    def events(kind: str, *extra: Any) -> Any:
        return (select(func.count()).select_from(FeedEvent)
                .where(FeedEvent.video_id == Video.id, FeedEvent.kind == kind, *extra).scalar_subquery())

    watch_total = (select(func.coalesce(func.sum(FeedEvent.watch_ms), 0))
                   .where(FeedEvent.video_id == Video.id, FeedEvent.kind.in_(["watch", "skip"])).scalar_subquery())
    await session.execute(update(Video).values(
        likes_count=count(VideoLike), saves_count=count(VideoSave), comments_count=count(VideoComment),
        shares_count=count(VideoShare), views_count=events("watch"),  # a view is a watch event (feed.signals)
        product_clicks_count=events("product_click"),
        completions_count=events("watch", FeedEvent.watch_ms >= COMPLETION_SHARE * Video.duration_ms),
        watch_ms_total=watch_total,
    ), execution_options={"synchronize_session": False})
    reply = VideoComment.__table__.alias("reply")
    await session.execute(update(VideoComment).values(
        replies_count=select(func.count()).select_from(reply).where(reply.c.parent_id == VideoComment.id)
        .scalar_subquery()), execution_options={"synchronize_session": False})


async def demo_creators(session: AsyncSession, domain: str) -> list[User]:
    """The demo world's creators (``creatorN@<domain>``), first created first."""
    query = select(User).where(User.is_creator.is_(True), User.email.like(f"creator%@{domain}")).order_by(User.id)
    return list((await session.execute(query)).scalars())


async def demo_live_ids(session: AsyncSession, host_id: int) -> list[int]:
    return list((await session.execute(select(Live.id).where(Live.is_demo.is_(True),
                                                             Live.host_id == host_id))).scalars())


async def outsider_anchors(session: AsyncSession) -> list[tuple[int, int, int, Any]]:
    """(creator id, shop id, product id, video created_at) of every video anchor of a product
    whose shop the video's creator does not belong to (the demo's affiliate plans cover them)."""
    member = select(ShopMember.user_id).where(ShopMember.shop_id == Product.shop_id,
                                             ShopMember.user_id == Video.creator_id).exists()
    stmt = (select(Video.creator_id, Product.shop_id, Product.id, Video.created_at)
            .join(VideoProduct, VideoProduct.video_id == Video.id).join(Product, Product.id == VideoProduct.product_id)
            .where(~member).order_by(Video.created_at, Video.id))
    return [(int(c), int(s), int(p), at) for c, s, p, at in (await session.execute(stmt)).all()]


async def open_product_ids(session: AsyncSession) -> dict[int, list[int]]:
    """Active products the demo marked ``open_to_creators``, by shop."""
    stmt = (select(Product.shop_id, Product.id).where(Product.open_to_creators.is_(True), Product.status == "active")
            .order_by(Product.shop_id, Product.id))
    out: dict[int, list[int]] = {}
    for shop_id, product_id in (await session.execute(stmt)).all():
        out.setdefault(int(shop_id), []).append(int(product_id))
    return out


async def variant_in_stock_by_id(session: AsyncSession, variant_id: int, spare: int) -> Variant | None:
    """The variant if at least ``spare`` units are available."""
    variant = await session.get(Variant, variant_id)
    return variant if variant is not None and variant.stock - variant.reserved - variant.allocated >= spare else None
