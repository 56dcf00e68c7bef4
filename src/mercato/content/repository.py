"""Every query of the content domain: videos, their hashtags, mentions and anchors, and the
community facts around them (likes, saves, comments, shares, reports).

Counters on ``videos`` and ``video_comments`` change only through the guarded statements
here: an ``INSERT … ON CONFLICT DO NOTHING`` or a ``DELETE`` whose row count says whether the
fact changed, then ``count = count ± 1`` (never below zero). Callers never read-then-write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Follow, User
from mercato.catalog.models import Product, ShopMember
from mercato.content.models import (
    Video,
    VideoComment,
    VideoHashtag,
    VideoLike,
    VideoMention,
    VideoProduct,
    VideoReport,
    VideoSave,
    VideoShare,
)

COUNTERS = frozenset({
    "views_count", "likes_count", "comments_count", "shares_count", "saves_count", "reports_count",
    "product_clicks_count",
})


def _rows(result: object) -> int:
    return int(result.rowcount)  # type: ignore[attr-defined]


def _insert(db: AsyncSession, table: Any) -> Any:
    """``INSERT`` of the session's dialect, so that ``on_conflict_do_nothing`` is available."""
    name = db.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


# --- videos ---------------------------------------------------------------------------------

async def video(db: AsyncSession, video_id: int) -> Video | None:
    return await db.get(Video, video_id)


async def videos_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, Video]:
    if not ids:
        return {}
    return {v.id: v for v in (await db.execute(select(Video).where(Video.id.in_(set(ids))))).scalars()}


async def bump(db: AsyncSession, video_id: int, counter: str, delta: int = 1) -> None:
    """``counter = counter + delta`` in one statement; a decrement never goes below zero."""
    if counter not in COUNTERS:
        raise ValueError(counter)
    column = getattr(Video, counter)
    stmt = update(Video).where(Video.id == video_id)
    if delta < 0:
        stmt = stmt.where(column >= -delta)
    await db.execute(stmt.values({counter: column + delta}).execution_options(synchronize_session=False))


async def counters(db: AsyncSession, video_id: int) -> dict[str, int]:
    stmt = select(Video.likes_count, Video.saves_count, Video.comments_count, Video.shares_count,
                  Video.views_count).where(Video.id == video_id)
    row = (await db.execute(stmt)).one()
    return {"likes_count": int(row[0]), "saves_count": int(row[1]), "comments_count": int(row[2]),
            "shares_count": int(row[3]), "views_count": int(row[4])}


async def videos_of_creator(
    db: AsyncSession, creator_id: int, *, include_removed: bool, limit: int, after: tuple[datetime, int] | None
) -> list[Video]:
    """Newest first, keyset on (created_at, id); up to ``limit + 1`` rows."""
    stmt = select(Video).where(Video.creator_id == creator_id)
    if not include_removed:
        stmt = stmt.where(Video.status == "published")
    if after is not None:
        stmt = stmt.where(or_(Video.created_at < after[0], and_(Video.created_at == after[0], Video.id < after[1])))
    stmt = stmt.order_by(Video.created_at.desc(), Video.id.desc()).limit(limit + 1)
    return list((await db.execute(stmt)).scalars())


def _top_score() -> Any:
    """Engagement used by the hashtag page's "top" order (integer, so it pages exactly)."""
    return Video.likes_count * 3 + Video.comments_count * 4 + Video.shares_count * 6 + Video.saves_count * 5 \
        + Video.views_count


async def videos_with_tag(
    db: AsyncSession, tag: str, *, sort: str, limit: int, after: list[Any] | None
) -> list[tuple[Video, int]]:
    """Published videos carrying ``tag``: ``new`` pages on (created_at, id), ``top`` on
    (engagement score, id); up to ``limit + 1`` rows, each with its score."""
    score = _top_score().label("score")
    stmt = (select(Video, score).join(VideoHashtag, VideoHashtag.video_id == Video.id)
            .where(VideoHashtag.tag == tag, Video.status == "published"))
    if sort == "top":
        if after is not None:
            stmt = stmt.where(or_(_top_score() < after[0], and_(_top_score() == after[0], Video.id < after[1])))
        stmt = stmt.order_by(_top_score().desc(), Video.id.desc())
    else:
        if after is not None:
            stmt = stmt.where(or_(Video.created_at < after[0],
                                  and_(Video.created_at == after[0], Video.id < after[1])))
        stmt = stmt.order_by(Video.created_at.desc(), Video.id.desc())
    return [(row[0], int(row[1])) for row in (await db.execute(stmt.limit(limit + 1))).all()]


async def tag_video_count(db: AsyncSession, tag: str) -> int:
    stmt = (select(func.count()).select_from(VideoHashtag).join(Video, Video.id == VideoHashtag.video_id)
            .where(VideoHashtag.tag == tag, Video.status == "published"))
    return int((await db.execute(stmt)).scalar_one())


# --- hashtags, mentions, anchors ------------------------------------------------------------

async def replace_hashtags(db: AsyncSession, video_id: int, tags: Sequence[str]) -> None:
    await db.execute(delete(VideoHashtag).where(VideoHashtag.video_id == video_id))
    if tags:
        await db.execute(_insert(db, VideoHashtag).values([{"video_id": video_id, "tag": t} for t in tags]))


async def replace_mentions(db: AsyncSession, video_id: int, user_ids: Sequence[int]) -> None:
    await db.execute(delete(VideoMention).where(VideoMention.video_id == video_id))
    if user_ids:
        await db.execute(_insert(db, VideoMention).values([{"video_id": video_id, "user_id": u} for u in user_ids]))


async def replace_anchors(db: AsyncSession, video_id: int, product_ids: Sequence[int]) -> None:
    await db.execute(delete(VideoProduct).where(VideoProduct.video_id == video_id))
    if product_ids:
        await db.execute(_insert(db, VideoProduct).values(
            [{"video_id": video_id, "product_id": p, "position": i} for i, p in enumerate(product_ids)]
        ))


async def users_by_handles(db: AsyncSession, handles: Sequence[str]) -> dict[str, User]:
    if not handles:
        return {}
    stmt = select(User).where(User.handle.in_(set(handles)))
    return {u.handle: u for u in (await db.execute(stmt)).scalars() if u.handle}


async def users_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in (await db.execute(select(User).where(User.id.in_(set(ids))))).scalars()}


async def products_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, Product]:
    if not ids:
        return {}
    return {p.id: p for p in (await db.execute(select(Product).where(Product.id.in_(set(ids))))).scalars()}


async def member_shop_ids(db: AsyncSession, user_id: int, shop_ids: Sequence[int]) -> set[int]:
    if not shop_ids:
        return set()
    stmt = select(ShopMember.shop_id).where(ShopMember.user_id == user_id, ShopMember.shop_id.in_(set(shop_ids)))
    return {int(r) for r in (await db.execute(stmt)).scalars()}


async def anchorable_products(db: AsyncSession, user_id: int, limit: int) -> list[Product]:
    """Active products the user may anchor: their shops' and those open to creators."""
    member = select(ShopMember.shop_id).where(ShopMember.user_id == user_id)
    stmt = (select(Product).where(Product.status == "active",
                                  or_(Product.shop_id.in_(member), Product.open_to_creators.is_(True)))
            .order_by(Product.shop_id.in_(member).desc(), Product.title, Product.id).limit(limit))
    return list((await db.execute(stmt)).scalars())


async def mentions_of(db: AsyncSession, video_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Per video, the mentioned users' current handles (``handle → profile URL``)."""
    if not video_ids:
        return {}
    stmt = (select(VideoMention.video_id, User.handle).join(User, User.id == VideoMention.user_id)
            .where(VideoMention.video_id.in_(set(video_ids)), User.handle.is_not(None)))
    out: dict[int, dict[str, str]] = {}
    for video_id, handle in (await db.execute(stmt)).all():
        out.setdefault(int(video_id), {})[str(handle)] = f"/@{handle}"
    return out


async def anchors_of(db: AsyncSession, video_ids: Sequence[int], *, active_only: bool = True
                     ) -> dict[int, list[Product]]:
    """Per video, its anchored products in position order (archived and drafts left out)."""
    if not video_ids:
        return {}
    stmt = (select(VideoProduct.video_id, Product).join(Product, Product.id == VideoProduct.product_id)
            .where(VideoProduct.video_id.in_(set(video_ids)))
            .order_by(VideoProduct.video_id, VideoProduct.position, VideoProduct.product_id))
    if active_only:
        stmt = stmt.where(Product.status == "active")
    out: dict[int, list[Product]] = {}
    for video_id, product in (await db.execute(stmt)).all():
        out.setdefault(int(video_id), []).append(product)
    return out


async def shop_of_product(db: AsyncSession, product_id: int) -> int | None:
    found = await db.execute(select(Product.shop_id).where(Product.id == product_id))
    return found.scalar_one_or_none()


async def anchor_exists(db: AsyncSession, video_id: int, product_id: int) -> bool:
    return await db.get(VideoProduct, (video_id, product_id)) is not None


async def videos_using_file(db: AsyncSession, path: str) -> list[tuple[str, int]]:
    """``(status, creator_id)`` of every video whose served file or poster is ``path`` (the demo
    lets videos share a clip). Both columns are indexed (migration 0007)."""
    rows = await db.execute(
        select(Video.status, Video.creator_id).where(Video.media_path == path)
        .union_all(select(Video.status, Video.creator_id).where(Video.poster_path == path))
    )
    return [(str(status), int(creator)) for status, creator in rows]


async def paths_in_use(db: AsyncSession, paths: Sequence[str]) -> set[str]:
    """Which of ``paths`` some video still refers to."""
    if not paths:
        return set()
    used: set[str] = set()
    for column in (Video.media_path, Video.poster_path, Video.original_path):
        used |= {str(v) for v in (await db.execute(select(column).where(column.in_(list(paths))))).scalars()}
    return used


# --- viewer state ---------------------------------------------------------------------------

async def liked_ids(db: AsyncSession, user_id: int, video_ids: Sequence[int]) -> set[int]:
    if not video_ids:
        return set()
    stmt = select(VideoLike.video_id).where(VideoLike.user_id == user_id, VideoLike.video_id.in_(set(video_ids)))
    return {int(v) for v in (await db.execute(stmt)).scalars()}


async def saved_ids(db: AsyncSession, user_id: int, video_ids: Sequence[int]) -> set[int]:
    if not video_ids:
        return set()
    stmt = select(VideoSave.video_id).where(VideoSave.user_id == user_id, VideoSave.video_id.in_(set(video_ids)))
    return {int(v) for v in (await db.execute(stmt)).scalars()}


async def followed_ids(db: AsyncSession, user_id: int, creator_ids: Sequence[int]) -> set[int]:
    if not creator_ids:
        return set()
    stmt = select(Follow.followee_id).where(Follow.follower_id == user_id, Follow.followee_id.in_(set(creator_ids)))
    return {int(v) for v in (await db.execute(stmt)).scalars()}


# --- likes and saves ------------------------------------------------------------------------

async def add_like(db: AsyncSession, user_id: int, video_id: int) -> bool:
    """True when this call created the like (a second like is a no-op)."""
    stmt = _insert(db, VideoLike).values(user_id=user_id, video_id=video_id).on_conflict_do_nothing()
    added = _rows(await db.execute(stmt)) == 1
    if added:
        await bump(db, video_id, "likes_count", 1)
    return added


async def remove_like(db: AsyncSession, user_id: int, video_id: int) -> bool:
    result = await db.execute(delete(VideoLike).where(VideoLike.user_id == user_id, VideoLike.video_id == video_id))
    removed = _rows(result) == 1
    if removed:
        await bump(db, video_id, "likes_count", -1)
    return removed


async def add_save(db: AsyncSession, user_id: int, video_id: int) -> bool:
    stmt = _insert(db, VideoSave).values(user_id=user_id, video_id=video_id).on_conflict_do_nothing()
    added = _rows(await db.execute(stmt)) == 1
    if added:
        await bump(db, video_id, "saves_count", 1)
    return added


async def remove_save(db: AsyncSession, user_id: int, video_id: int) -> bool:
    result = await db.execute(delete(VideoSave).where(VideoSave.user_id == user_id, VideoSave.video_id == video_id))
    removed = _rows(result) == 1
    if removed:
        await bump(db, video_id, "saves_count", -1)
    return removed


async def saved_videos(db: AsyncSession, user_id: int, limit: int, after: tuple[datetime, int] | None) -> list[
        tuple[Video, datetime]]:
    """The user's saved videos that are still published, most recently saved first."""
    stmt = (select(Video, VideoSave.created_at).join(VideoSave, VideoSave.video_id == Video.id)
            .where(VideoSave.user_id == user_id, Video.status == "published"))
    if after is not None:
        stmt = stmt.where(or_(VideoSave.created_at < after[0],
                              and_(VideoSave.created_at == after[0], Video.id < after[1])))
    stmt = stmt.order_by(VideoSave.created_at.desc(), Video.id.desc()).limit(limit + 1)
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


# --- comments -------------------------------------------------------------------------------

async def comment(db: AsyncSession, comment_id: int) -> VideoComment | None:
    return await db.get(VideoComment, comment_id)


async def top_comments(db: AsyncSession, video_id: int, limit: int, after: tuple[datetime, int] | None
                       ) -> list[VideoComment]:
    """Top-level comments, newest first; up to ``limit + 1`` rows."""
    stmt = select(VideoComment).where(VideoComment.video_id == video_id, VideoComment.parent_id.is_(None))
    if after is not None:
        stmt = stmt.where(or_(VideoComment.created_at < after[0],
                              and_(VideoComment.created_at == after[0], VideoComment.id < after[1])))
    stmt = stmt.order_by(VideoComment.created_at.desc(), VideoComment.id.desc()).limit(limit + 1)
    return list((await db.execute(stmt)).scalars())


async def replies(db: AsyncSession, parent_id: int, limit: int, after: tuple[datetime, int] | None
                  ) -> list[VideoComment]:
    """Replies of one comment, oldest first (a conversation reads downwards); ``limit + 1`` rows."""
    stmt = select(VideoComment).where(VideoComment.parent_id == parent_id)
    if after is not None:
        stmt = stmt.where(or_(VideoComment.created_at > after[0],
                              and_(VideoComment.created_at == after[0], VideoComment.id > after[1])))
    stmt = stmt.order_by(VideoComment.created_at, VideoComment.id).limit(limit + 1)
    return list((await db.execute(stmt)).scalars())


async def first_replies(db: AsyncSession, parent_ids: Sequence[int], per_parent: int) -> dict[int, list[VideoComment]]:
    """The first ``per_parent`` replies of each comment, in one query (window function)."""
    if not parent_ids:
        return {}
    rank = func.row_number().over(partition_by=VideoComment.parent_id,
                                  order_by=(VideoComment.created_at, VideoComment.id)).label("rank")
    inner = select(VideoComment.id, rank).where(VideoComment.parent_id.in_(set(parent_ids))).subquery()
    stmt = (select(VideoComment).join(inner, inner.c.id == VideoComment.id).where(inner.c.rank <= per_parent)
            .order_by(VideoComment.parent_id, VideoComment.created_at, VideoComment.id))
    out: dict[int, list[VideoComment]] = {}
    for item in (await db.execute(stmt)).scalars():
        assert item.parent_id is not None
        out.setdefault(item.parent_id, []).append(item)
    return out


async def add_comment(db: AsyncSession, video_id: int, user_id: int, body: str, parent_id: int | None
                      ) -> VideoComment:
    item = VideoComment(video_id=video_id, user_id=user_id, body=body, parent_id=parent_id, replies_count=0)
    db.add(item)
    await db.flush()
    if parent_id is not None:
        await db.execute(update(VideoComment).where(VideoComment.id == parent_id)
                         .values(replies_count=VideoComment.replies_count + 1)
                         .execution_options(synchronize_session=False))
    await bump(db, video_id, "comments_count", 1)
    return item


async def delete_comment(db: AsyncSession, item: VideoComment) -> int:
    """Delete a comment and (for a top-level one) its replies; returns how many rows went."""
    gone = 0
    if item.parent_id is None:  # replies first: rows removed by ON DELETE CASCADE are not counted
        gone += _rows(await db.execute(delete(VideoComment).where(VideoComment.parent_id == item.id)
                                       .execution_options(synchronize_session=False)))
    mine = _rows(await db.execute(delete(VideoComment).where(VideoComment.id == item.id)
                                  .execution_options(synchronize_session=False)))
    if mine == 0:
        return 0
    gone += mine
    if item.parent_id is not None:
        await db.execute(update(VideoComment).where(VideoComment.id == item.parent_id,
                                                    VideoComment.replies_count > 0)
                         .values(replies_count=VideoComment.replies_count - 1)
                         .execution_options(synchronize_session=False))
    await db.execute(update(Video).where(Video.id == item.video_id).values(
        comments_count=case((Video.comments_count >= gone, Video.comments_count - gone), else_=0)
    ).execution_options(synchronize_session=False))
    db.expunge(item)
    return gone


# --- shares ---------------------------------------------------------------------------------

async def share_by_token(db: AsyncSession, token: str) -> VideoShare | None:
    return (await db.execute(select(VideoShare).where(VideoShare.token == token))).scalar_one_or_none()


async def count_share_visit(db: AsyncSession, share_id: int) -> None:
    await db.execute(update(VideoShare).where(VideoShare.id == share_id)
                     .values(visits_count=VideoShare.visits_count + 1).execution_options(synchronize_session=False))


# --- reports --------------------------------------------------------------------------------

async def add_report(db: AsyncSession, video_id: int, reporter_id: int, reason: str, details: str
                     ) -> VideoReport | None:
    """The new report, or None when this reporter already reported this video."""
    stmt = (_insert(db, VideoReport)
            .values(video_id=video_id, reporter_id=reporter_id, reason=reason, details=details, status="open")
            .on_conflict_do_nothing(index_elements=["video_id", "reporter_id"]))
    if _rows(await db.execute(stmt)) != 1:
        return None
    await bump(db, video_id, "reports_count", 1)
    found = (await db.execute(select(VideoReport).where(VideoReport.video_id == video_id,
                                                        VideoReport.reporter_id == reporter_id))).scalar_one()
    return found


async def report(db: AsyncSession, report_id: int) -> VideoReport | None:
    return await db.get(VideoReport, report_id)


async def reports(db: AsyncSession, status: str | None, limit: int, after: tuple[datetime, int] | None
                  ) -> list[VideoReport]:
    """Oldest first (a queue); up to ``limit + 1`` rows."""
    stmt = select(VideoReport)
    if status is not None:
        stmt = stmt.where(VideoReport.status == status)
    if after is not None:
        stmt = stmt.where(or_(VideoReport.created_at > after[0],
                              and_(VideoReport.created_at == after[0], VideoReport.id > after[1])))
    stmt = stmt.order_by(VideoReport.created_at, VideoReport.id).limit(limit + 1)
    return list((await db.execute(stmt)).scalars())


async def resolve_reports(db: AsyncSession, video_id: int, *, from_status: str, to_status: str, by: int,
                          at: datetime) -> int:
    result = await db.execute(update(VideoReport).where(VideoReport.video_id == video_id,
                                                        VideoReport.status == from_status)
                              .values(status=to_status, resolved_by=by, resolved_at=at)
                              .execution_options(synchronize_session=False))
    return _rows(result)


async def set_status(db: AsyncSession, video_id: int, *, from_status: str, to_status: str,
                     reason: str | None) -> bool:
    """Guarded status change: True when this call moved the video."""
    result = await db.execute(update(Video).where(Video.id == video_id, Video.status == from_status)
                              .values(status=to_status, removed_reason=reason)
                              .execution_options(synchronize_session=False))
    return _rows(result) == 1


async def delete_video(db: AsyncSession, video_id: int) -> None:
    await db.execute(delete(Video).where(Video.id == video_id).execution_options(synchronize_session=False))
