"""Turn video rows into API bodies, in batches (shared by the content API, the feed and the pages).

:func:`video_outs` answers a page of videos with a fixed number of queries whatever its size:
creators, mentions, anchored products (+ their shops and cover images) and, for a logged-in
viewer, likes, saves and follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repo
from mercato.catalog.models import Product, ProductImage, Shop
from mercato.content import repository as repo
from mercato.content.models import Video, VideoComment, VideoReport
from mercato.content.service import caption_hashtags, caption_parts
from mercato.kit.images import media_url
from mercato.kit.money import format_money


def product_card_body(*, product_id: int, title: str, currency: str, price: int, compare_at: int | None, stock: int,
                      rating: int, shop: dict[str, Any], thumb_path: str | None) -> dict[str, Any]:
    """A product card as shown on a video (``VideoProductCard``) from plain values (the feed
    builds it from SQL rows, :func:`product_card` from ORM objects)."""
    return {
        "id": product_id,
        "title": title,
        "shop": shop,
        "currency": currency,
        "price": price,
        "price_display": format_money(price, currency),
        "compare_at_price": compare_at,
        "compare_at_display": format_money(compare_at, currency) if compare_at else None,
        "image_url": media_url(thumb_path),
        "in_stock": stock > 0,
        "rating_avg": rating / 100,
        "url": f"/products/{product_id}",
    }


def product_card(product: Product, shop: Shop, cover: ProductImage | None) -> dict[str, Any]:
    """A product card as shown on a video (``VideoProductCard``)."""
    return product_card_body(
        product_id=product.id, title=product.title, currency=product.currency, price=product.min_price,
        compare_at=product.max_compare_at_price, stock=product.total_stock, rating=product.rating_avg,
        shop={"id": shop.id, "slug": shop.slug, "name": shop.name, "color": shop.color},
        thumb_path=cover.thumb_path if cover is not None and cover.path else None)


async def product_cards(db: AsyncSession, products: Sequence[Product]) -> list[dict[str, Any]]:
    ids = [p.id for p in products]
    covers = await catalog_repo.first_images(db, ids)
    shops = await catalog_repo.shops_by_ids(db, [p.shop_id for p in products])
    return [product_card(p, shops[p.shop_id], covers.get(p.id)) for p in products]


def creator_body(*, user_id: int, handle: str | None, display_name: str, avatar_path: str | None,
                 followers_count: int) -> dict[str, Any]:
    """``name`` is what to show (``@handle``, or the display name of a user without a handle) and
    ``url`` their profile page; clients never build either from a handle that may be missing."""
    return {
        "id": user_id, "handle": handle, "display_name": display_name,
        "name": f"@{handle}" if handle else display_name,
        "url": f"/@{handle}" if handle else f"/u/{user_id}",
        "avatar_url": media_url(avatar_path), "followers_count": followers_count,
    }


def creator_out(user: User) -> dict[str, Any]:
    return creator_body(user_id=user.id, handle=user.handle, display_name=user.display_name,
                        avatar_path=user.avatar_path, followers_count=user.followers_count)


def video_body(*, video_id: int, status: str, removed_reason: str | None, caption: str,
               mention_links: dict[str, str], creator: dict[str, Any], media_path: str | None,
               poster_path: str | None, mime_type: str | None, width: int | None, height: int | None,
               duration_ms: int | None, created_at: datetime, counts: dict[str, int] | None,
               viewer: dict[str, bool] | None, products: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``VideoOut`` body from plain values (``counts`` / ``viewer`` None: zeros / false, for
    the feed's cache, which fills them per request)."""
    return {
        "id": video_id,
        "status": status,
        "removed_reason": removed_reason if status == "removed" else None,
        "caption": caption,
        "caption_parts": caption_parts(caption, mention_links),
        "hashtags": caption_hashtags(caption),
        "creator": creator,
        "media_url": media_url(media_path),
        "poster_url": media_url(poster_path),
        "mime_type": mime_type,
        "width": width,
        "height": height,
        "duration_ms": duration_ms,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),  # as the API's response models write it
        "counts": counts or {"views": 0, "likes": 0, "comments": 0, "shares": 0, "saves": 0},
        "viewer": viewer or {"liked": False, "saved": False, "following": False},
        "products": products,
    }


async def video_outs(db: AsyncSession, videos: Sequence[Video], viewer_id: int | None) -> list[dict[str, Any]]:
    """``VideoOut`` bodies (plain dicts, ``created_at`` as ISO-8601 UTC text) for ``videos``, in order.

    The caller decides visibility (removed videos are only for their creator and operators)."""
    if not videos:
        return []
    ids = [v.id for v in videos]
    creators = await repo.users_by_ids(db, [v.creator_id for v in videos])
    mentions = await repo.mentions_of(db, ids)
    anchors = await repo.anchors_of(db, ids)
    products = [p for items in anchors.values() for p in items]
    covers = await catalog_repo.first_images(db, [p.id for p in products]) if products else {}
    shops = await catalog_repo.shops_by_ids(db, [p.shop_id for p in products]) if products else {}
    liked: set[int] = set()
    saved: set[int] = set()
    following: set[int] = set()
    if viewer_id is not None:
        liked = await repo.liked_ids(db, viewer_id, ids)
        saved = await repo.saved_ids(db, viewer_id, ids)
        following = await repo.followed_ids(db, viewer_id, [v.creator_id for v in videos])
    return [
        video_body(
            video_id=v.id, status=v.status, removed_reason=v.removed_reason, caption=v.caption,
            mention_links=mentions.get(v.id, {}), creator=creator_out(creators[v.creator_id]),
            media_path=v.media_path, poster_path=v.poster_path, mime_type=v.mime_type, width=v.width,
            height=v.height, duration_ms=v.duration_ms, created_at=v.created_at,
            counts={"views": v.views_count, "likes": v.likes_count, "comments": v.comments_count,
                    "shares": v.shares_count, "saves": v.saves_count},
            viewer={"liked": v.id in liked, "saved": v.id in saved,
                    "following": v.creator_id in following and v.creator_id != viewer_id},
            products=[product_card(p, shops[p.shop_id], covers.get(p.id)) for p in anchors.get(v.id, [])])
        for v in videos
    ]


async def video_out(db: AsyncSession, video: Video, viewer_id: int | None) -> dict[str, Any]:
    return (await video_outs(db, [video], viewer_id))[0]


def comment_out(item: VideoComment, author: User, *, creator_id: int, viewer: User | None,
                replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    can_delete = viewer is not None and (viewer.id in (item.user_id, creator_id) or viewer.is_admin)
    return {
        "id": item.id, "video_id": item.video_id, "parent_id": item.parent_id, "body": item.body,
        "author": {"id": author.id, "handle": author.handle, "display_name": author.display_name,
                   "avatar_url": media_url(author.avatar_path)},
        "created_at": item.created_at.isoformat(), "replies_count": item.replies_count,
        "replies": replies or [], "by_creator": item.user_id == creator_id, "can_delete": can_delete,
    }


async def comment_outs(db: AsyncSession, items: Sequence[VideoComment], *, creator_id: int, viewer: User | None,
                       with_replies: int = 0) -> list[dict[str, Any]]:
    """Comments (and, with ``with_replies``, each one's first replies) in a few queries."""
    first = await repo.first_replies(db, [c.id for c in items if c.replies_count], with_replies) \
        if with_replies else {}
    everyone = list(items) + [r for rs in first.values() for r in rs]
    authors = await repo.users_by_ids(db, [c.user_id for c in everyone])
    return [
        comment_out(c, authors[c.user_id], creator_id=creator_id, viewer=viewer, replies=[
            comment_out(r, authors[r.user_id], creator_id=creator_id, viewer=viewer) for r in first.get(c.id, [])
        ])
        for c in items
    ]


def report_out(item: VideoReport) -> dict[str, Any]:
    return {
        "id": item.id, "video_id": item.video_id, "reporter_id": item.reporter_id, "reason": item.reason,
        "details": item.details, "status": item.status, "created_at": item.created_at.isoformat(),
        "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
    }
