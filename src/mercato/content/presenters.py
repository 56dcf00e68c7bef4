"""Turn video rows into API bodies, in batches (shared by the content API, the feed and the pages).

:func:`video_outs` answers a page of videos with a fixed number of queries whatever its size:
creators, mentions, anchored products (+ their shops and cover images) and, for a logged-in
viewer, likes, saves and follows.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def product_card(product: Product, shop: Shop, cover: ProductImage | None) -> dict[str, Any]:
    """A product card as shown on a video (``VideoProductCard``)."""
    image = media_url(cover.thumb_path) if cover is not None and cover.path else None
    compare = product.max_compare_at_price
    return {
        "id": product.id,
        "title": product.title,
        "shop": {"id": shop.id, "slug": shop.slug, "name": shop.name, "color": shop.color},
        "currency": product.currency,
        "price": product.min_price,
        "price_display": format_money(product.min_price, product.currency),
        "compare_at_price": compare,
        "compare_at_display": format_money(compare, product.currency) if compare else None,
        "image_url": image,
        "in_stock": product.total_stock > 0,
        "rating_avg": product.rating_avg / 100,
        "url": f"/products/{product.id}",
    }


async def product_cards(db: AsyncSession, products: Sequence[Product]) -> list[dict[str, Any]]:
    ids = [p.id for p in products]
    covers = await catalog_repo.first_images(db, ids)
    shops = await catalog_repo.shops_by_ids(db, [p.shop_id for p in products])
    return [product_card(p, shops[p.shop_id], covers.get(p.id)) for p in products]


def creator_out(user: User) -> dict[str, Any]:
    """``name`` is what to show (``@handle``, or the display name of a user without a handle) and
    ``url`` their profile page; clients never build either from a handle that may be missing."""
    return {
        "id": user.id, "handle": user.handle, "display_name": user.display_name,
        "name": f"@{user.handle}" if user.handle else user.display_name,
        "url": f"/@{user.handle}" if user.handle else f"/u/{user.id}",
        "avatar_url": media_url(user.avatar_path), "followers_count": user.followers_count,
    }


async def video_outs(db: AsyncSession, videos: Sequence[Video], viewer_id: int | None) -> list[dict[str, Any]]:
    """``VideoOut`` bodies (plain dicts, ``created_at`` as ISO-8601 text) for ``videos``, in order.

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
    out: list[dict[str, Any]] = []
    for v in videos:
        creator = creators[v.creator_id]
        out.append({
            "id": v.id,
            "status": v.status,
            "removed_reason": v.removed_reason if v.status == "removed" else None,
            "caption": v.caption,
            "caption_parts": caption_parts(v.caption, mentions.get(v.id, {})),
            "hashtags": caption_hashtags(v.caption),
            "creator": creator_out(creator),
            "media_url": media_url(v.media_path),
            "poster_url": media_url(v.poster_path),
            "mime_type": v.mime_type,
            "width": v.width,
            "height": v.height,
            "duration_ms": v.duration_ms,
            "created_at": v.created_at.isoformat(),
            "counts": {
                "views": v.views_count, "likes": v.likes_count, "comments": v.comments_count,
                "shares": v.shares_count, "saves": v.saves_count,
            },
            "viewer": {
                "liked": v.id in liked, "saved": v.id in saved,
                "following": v.creator_id in following and v.creator_id != viewer_id,
            },
            "products": [product_card(p, shops[p.shop_id], covers.get(p.id)) for p in anchors.get(v.id, [])],
        })
    return out


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
