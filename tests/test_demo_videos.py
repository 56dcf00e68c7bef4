"""The demo world's videos: seeded once for this module (the whole demo, as ``make run`` does),
then checked for real playable files, anchors the content rules allow, counters that match the
facts, and engagement that reached the feed's profiles."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo, demo_videos
from mercato.accounts.models import User
from mercato.affiliate import wiring as affiliate_wiring
from mercato.affiliate.models import AffiliateMembership, AffiliatePlan, AffiliateSampleRequest, ShowcaseItem
from mercato.catalog import repository as catalog_repository
from mercato.catalog.models import Product, Shop, ShopMember
from mercato.config import Settings
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
from mercato.feed.models import FeedEvent, FeedSeen, VideoScore, ViewerAffinity
from mercato.kit.db import Database
from mercato.orders.models import Order
from tests.conftest import reset_database, run_async
from tests.videos import probe as probe_video

T = TypeVar("T")


def _query(url: str, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database(url, pool=False)
        try:
            async with db.unit_of_work(write=False) as session:
                return await fn(session)
        finally:
            await db.dispose()

    return run_async(go())


@pytest.fixture(scope="module")
def seeded(backend: tuple[str, str | None, Path], settings: Settings) -> tuple[str, str]:
    """(database URL, seed output): the whole demo world, seeded once for this module."""
    url = backend[0]
    reset_database(url)
    out = io.StringIO()
    run_async(demo.seed(settings, Console(file=out, width=200, force_terminal=False)))
    return url, out.getvalue()


def test_at_least_sixty_playable_clips_with_posters(seeded: tuple[str, str], settings: Settings) -> None:
    url, output = seeded
    assert "Demo videos:" in output
    videos = _query(url, lambda s: _all(s, select(Video).order_by(Video.id)))
    assert len(videos) >= 60
    assert {v.status for v in videos} == {"published"}
    for video in videos:
        media, poster = settings.media_dir / video.media_path, settings.media_dir / str(video.poster_path)
        assert media.is_file() and media.stat().st_size == video.size_bytes
        assert video.size_bytes < 600_000  # small files: they load instantly on a phone
        assert poster.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
        probe = probe_video(media)
        streams = {s["codec_type"]: s for s in probe["streams"]}
        assert streams["video"]["codec_name"] == "h264" and streams["video"]["pix_fmt"] == "yuv420p"
        assert streams["audio"]["codec_name"] == "aac"
        assert (streams["video"]["width"], streams["video"]["height"]) == (video.width, video.height) == (360, 640)
        duration = float(probe["format"]["duration"])
        assert 3.5 < duration <= 6.5
        assert abs(duration * 1000 - video.duration_ms) < 50
        # +faststart: the index (moov) comes before the media data, so playback starts at once.
        head = media.read_bytes()[:4096]
        assert 0 <= head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head


def test_posted_by_creators_and_shop_owners_with_captions_and_anchors(seeded: tuple[str, str]) -> None:
    url, _ = seeded

    async def facts(session: AsyncSession) -> dict[str, Any]:
        rows = (await session.execute(
            select(Video.id, Video.creator_id, Video.caption, Video.created_at, Product.id, Product.status,
                   Product.shop_id, Product.open_to_creators)
            .join(VideoProduct, VideoProduct.video_id == Video.id).join(Product, Product.id == VideoProduct.product_id)
        )).all()
        users = {u.id: u for u in (await session.execute(select(User))).scalars()}
        members = {(u, s) for u, s in await session.execute(select(ShopMember.user_id, ShopMember.shop_id))}
        tags = (await session.execute(select(VideoHashtag.video_id, VideoHashtag.tag))).all()
        mentions = (await session.execute(select(VideoMention.video_id, VideoMention.user_id))).all()
        products = (
            (await session.execute(select(func.count()).select_from(Product))).scalar_one(),
            (await session.execute(select(func.count()).select_from(Product)
                                   .where(Product.open_to_creators.is_(True)))).scalar_one(),
        )
        affiliate_wiring.install()  # the plans' promotion rule, as the app registers it
        allowed = {creator_id: await catalog_repository.promotable_ids(
            session, creator_id, [r[4] for r in rows if r[1] == creator_id], datetime.now(UTC))
            for creator_id in {r[1] for r in rows}}
        return {"rows": rows, "users": users, "members": members, "tags": tags, "mentions": mentions,
                "products": products, "allowed": allowed}

    got = _query(url, facts)
    anchors: dict[int, list[Any]] = {}
    for row in got["rows"]:
        anchors.setdefault(row[0], []).append(row)
    now = datetime.now(UTC)
    posters = set()
    for video_id, rows in anchors.items():
        assert 1 <= len(rows) <= 3
        _, creator_id, caption, created_at, *_ = rows[0]
        poster = got["users"][creator_id]
        posters.add(poster.email.split("@")[0].rstrip("0123456789"))
        assert poster.email.endswith("@demo.example.com")
        assert poster.handle  # shop owners who post get one too: every video links to a profile
        for *_, product_id, status, shop_id, _open in rows:
            assert status == "active"
            # a product of their shop, or of an affiliate plan they are in (demo_affiliate.py)
            assert product_id in got["allowed"][creator_id], (video_id, product_id)
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        assert now - timedelta(days=14, minutes=5) <= created <= now
        video_tags = [t for v, t in got["tags"] if v == video_id]
        assert 2 <= len(video_tags) <= 4 and all(f"#{t}" in caption for t in video_tags)
    assert posters == {"creator", "seller"}
    assert len(anchors) >= 60
    # Some captions mention another creator, and the mention is recorded.
    assert got["mentions"]
    for video_id, user_id in got["mentions"]:
        assert f"@{got['users'][user_id].handle}" in next(r[2] for r in anchors[video_id])
    total, open_count = got["products"]
    assert open_count > total / 2  # most demo products are in an open affiliate plan (demo_affiliate.py)


def test_counters_match_the_facts(seeded: tuple[str, str]) -> None:
    url, _ = seeded

    async def check(session: AsyncSession) -> tuple[list[Video], dict[str, dict[int, int]], list[tuple[int, int]]]:
        videos = await _all(session, select(Video))

        async def per_video(model: Any, *where: Any) -> dict[int, int]:
            rows = await session.execute(select(model.video_id, func.count()).where(*where).group_by(model.video_id))
            return {int(v): int(n) for v, n in rows}

        counts = {
            "likes": await per_video(VideoLike), "saves": await per_video(VideoSave),
            "comments": await per_video(VideoComment), "shares": await per_video(VideoShare),
            "views": await per_video(FeedEvent, FeedEvent.kind == "watch"),
            "clicks": await per_video(FeedEvent, FeedEvent.kind == "product_click"),
        }
        reply = VideoComment.__table__.alias("reply")
        replies = [(int(stored), int(actual)) for stored, actual in await session.execute(
            select(VideoComment.replies_count,
                   select(func.count()).select_from(reply).where(reply.c.parent_id == VideoComment.id)
                   .scalar_subquery()))]
        return videos, counts, replies

    videos, counts, replies = _query(url, check)
    for video in videos:
        assert video.likes_count == counts["likes"].get(video.id, 0)
        assert video.saves_count == counts["saves"].get(video.id, 0)
        assert video.comments_count == counts["comments"].get(video.id, 0)
        assert video.shares_count == counts["shares"].get(video.id, 0)
        assert video.views_count == counts["views"].get(video.id, 0)
        assert video.product_clicks_count == counts["clicks"].get(video.id, 0)
        assert video.completions_count <= video.views_count
    assert all(stored == actual for stored, actual in replies)
    assert any(actual for _, actual in replies)  # threaded: some comments have replies
    assert sum(counts["likes"].values()) > 100 and sum(counts["comments"].values()) > 50
    assert sum(counts["shares"].values()) > 0 and sum(counts["saves"].values()) > 0


def test_engagement_reached_the_feed_profiles(seeded: tuple[str, str]) -> None:
    url, _ = seeded

    async def check(session: AsyncSession) -> dict[str, Any]:
        shopper = (await session.execute(select(User).where(User.email == "shopper1@demo.example.com"))).scalar_one()
        affinities = (await session.execute(select(ViewerAffinity.kind, ViewerAffinity.key, ViewerAffinity.score)
                                            .where(ViewerAffinity.user_id == shopper.id)
                                            .order_by(ViewerAffinity.score.desc()))).all()
        shoppers = (await session.execute(select(func.count(func.distinct(ViewerAffinity.user_id)))
                                          .join(User, User.id == ViewerAffinity.user_id)
                                          .where(User.email.like("shopper%")))).scalar_one()
        liked_tags = set((await session.execute(
            select(VideoHashtag.tag).join(VideoLike, VideoLike.video_id == VideoHashtag.video_id)
            .where(VideoLike.user_id == shopper.id))).scalars())
        watched_tags = set((await session.execute(
            select(VideoHashtag.tag).join(FeedSeen, FeedSeen.video_id == VideoHashtag.video_id)
            .where(FeedSeen.user_id == shopper.id, FeedSeen.skipped.is_(False)))).scalars())
        seen = (await session.execute(select(func.count()).select_from(FeedSeen)
                                      .where(FeedSeen.user_id == shopper.id))).scalar_one()
        videos = (await session.execute(select(func.count()).select_from(Video))).scalar_one()
        scored = (await session.execute(select(func.count()).select_from(VideoScore))).scalar_one()
        times = list((await session.execute(select(FeedEvent.created_at).order_by(FeedEvent.id))).scalars())
        return {"affinities": affinities, "shoppers": shoppers, "tags": liked_tags | watched_tags, "seen": seen,
                "videos": videos, "scored": scored, "times": times}

    got = _query(url, check)
    assert got["shoppers"] == 100  # every demo shopper has an interest profile
    top = [key for kind, key, _ in got["affinities"] if kind == "tag"][:3]
    assert top and set(top) <= got["tags"]  # their strongest interests are what they watched
    assert 0 < got["seen"] < got["videos"] / 2  # a history, with plenty left to discover
    assert got["scored"] >= got["videos"] * 0.9
    times = got["times"]
    assert times == sorted(times)  # played in time order, as live traffic would
    first = times[0] if times[0].tzinfo else times[0].replace(tzinfo=UTC)
    assert datetime.now(UTC) - first <= timedelta(days=14, minutes=5)


def test_videos_are_not_seeded_twice(seeded: tuple[str, str], settings: Settings) -> None:
    url, _ = seeded
    assert run_async(demo_videos.seed_videos_if_missing(settings, Console(file=io.StringIO()), 1)) is False
    count = _query(url, lambda s: _scalar(s, select(func.count()).select_from(Video)))
    assert count >= 60


def test_render_reuses_clips_already_in_the_media_folder(tmp_path: Path, settings: Settings) -> None:
    local = settings.model_copy(update={"media_dir": tmp_path})
    specs = [demo_videos.ClipSpec(title=title, price=price, badge=badge, shop="Glow Lab", color="#ff2d55",
                                  hook="NEW DROP", image=None, duration=4.0, motion=0, chord=demo_videos.CHORDS[0])
             for title, price, badge in (("Vitamin C Serum", "$19.99", "SALE"), ("Oud Oil", "12.500 KWD", ""))]
    out = io.StringIO()
    probes, rendered = run_async(demo_videos.render_clips(specs, local, Console(file=out)))
    assert rendered == 2
    assert {p.video_codec for p in probes.values()} == {"h264"}
    assert all(3900 <= p.duration_ms <= 4100 for p in probes.values())
    files = sorted(f.name for f in (tmp_path / "videos").iterdir())
    assert files == sorted([f"{s.key}.mp4" for s in specs] + [f"{s.key}.jpg" for s in specs])
    mtimes = {f: (tmp_path / "videos" / f).stat().st_mtime_ns for f in files}
    again, rendered = run_async(demo_videos.render_clips(specs, local, Console(file=out)))
    assert rendered == 0 and again == probes
    assert {f: (tmp_path / "videos" / f).stat().st_mtime_ns for f in files} == mtimes


async def _all(session: AsyncSession, stmt: Any) -> list[Any]:
    return list((await session.execute(stmt)).scalars())


async def _scalar(session: AsyncSession, stmt: Any) -> Any:
    return (await session.execute(stmt)).scalar_one()


def test_demo_affiliate_plans(seeded: tuple[str, str], settings: Settings) -> None:
    """Plans in every shop, creator1 in one (and invited to another), invitations, requests, samples
    (one a zero-price sample order), showcases; demo creators eligible."""
    url, output = seeded
    assert "Demo affiliate:" in output

    async def facts(session: AsyncSession) -> dict[str, Any]:
        creator1 = (await session.execute(select(User).where(User.email == "creator1@demo.example.com"))).scalar_one()
        shops = (await session.execute(select(func.count()).select_from(Shop))).scalar_one()
        plan_shops = (await session.execute(select(func.count(func.distinct(AffiliatePlan.shop_id))))).scalar_one()
        statuses = dict((await session.execute(select(AffiliateMembership.status, func.count())
                                               .group_by(AffiliateMembership.status))).all())
        mine = (await session.execute(select(AffiliateMembership.status)
                                      .where(AffiliateMembership.creator_id == creator1.id))).scalars().all()
        samples = (await session.execute(select(AffiliateSampleRequest))).scalars().all()
        orders = [await session.get(Order, s.order_id) for s in samples if s.order_id]
        showcased = (await session.execute(select(func.count()).select_from(ShowcaseItem)
                                           .where(ShowcaseItem.creator_id == creator1.id))).scalar_one()
        creators = (await session.execute(select(User).where(User.is_creator.is_(True),
                                                             User.email.like("creator%@demo.example.com")))).scalars()
        return {"creator1": creator1, "shops": shops, "plan_shops": plan_shops, "statuses": statuses, "mine": mine,
                "samples": sorted(s.status for s in samples),
                "orders": [(o.total, o.source, o.status) for o in orders if o],
                "showcased": showcased, "followers": min(c.followers_count for c in creators)}

    got = _query(url, facts)
    assert got["plan_shops"] == got["shops"]
    assert "active" in got["mine"] and "invited" in got["mine"]
    assert got["statuses"]["active"] >= 5 and got["statuses"]["invited"] >= 3 and got["statuses"]["pending"] >= 1
    assert got["samples"] == ["approved", "declined", "requested"]
    assert got["orders"] == [(0, "sample", "paid")]
    assert got["showcased"] > 0
    assert got["followers"] >= settings.affiliate_min_followers
