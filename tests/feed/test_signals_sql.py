"""The signals' upserts (feed/signals_repository.py): one SQL spelling of the decay (``decay_add_sql``) for the
viewer's affinities, the videos' scores and served impressions, on the test database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.feed.models import FeedSeen, ViewerAffinity
from mercato.feed.signals import ERA_HALF_LIVES, Decay, add_affinities, mark_served_batch


def test_affinities_add_in_this_era_rescale_from_the_previous_and_drop_older(
    make_user: Callable[..., Any], db_run: Callable[..., Any], settings: Settings,
) -> None:
    viewer = make_user()["user"]["id"]
    decay = Decay(settings.feed_affinity_half_life_hours)
    now = datetime.now(UTC)
    era = decay.era_start(now.timestamp())
    earlier = {"same": now - timedelta(seconds=1),
               "previous": datetime.fromtimestamp(era - decay.era_s / 2, UTC),
               "ancient": datetime.fromtimestamp(era - decay.era_s * 1.5, UTC)}

    async def arrange(db: AsyncSession) -> None:
        for key, at in earlier.items():
            await add_affinities(db, viewer, [("tag", key, 1.0)], at, settings)

    async def add_now(db: AsyncSession) -> None:
        await add_affinities(db, viewer, [("tag", key, 2.0) for key in earlier] + [("tag", "same", 1.0)], now,
                             settings)

    async def read(db: AsyncSession) -> dict[str, tuple[float, datetime]]:
        rows = (await db.execute(select(ViewerAffinity.key, ViewerAffinity.score, ViewerAffinity.updated_at)
                                 .where(ViewerAffinity.user_id == viewer))).all()
        return {key: (score, at) for key, score, at in rows}

    db_run(arrange)
    db_run(add_now)
    scores = db_run(read)
    added = decay.stored_weight(2.0, now)
    assert scores["same"][0] == pytest.approx(decay.stored_weight(1.0, earlier["same"]) + decay.stored_weight(3.0, now))
    assert scores["previous"][0] == pytest.approx(
        decay.stored_weight(1.0, earlier["previous"]) * 2.0 ** -ERA_HALF_LIVES + added)
    assert scores["ancient"][0] == pytest.approx(added)
    assert {at for _, at in scores.values()} == {now}
    # The decayed value is the sum of both contributions' decayed values.
    assert decay.value(scores["previous"][0], now, now) == pytest.approx(
        decay.value(decay.stored_weight(1.0, earlier["previous"]), earlier["previous"], now) + 2.0)


def test_served_pages_keep_the_latest_seen_time_and_never_lower_watch_time(
    make_user: Callable[..., Any], make_video: Callable[..., int], db_run: Callable[..., Any], settings: Settings,
) -> None:
    viewer = make_user()["user"]["id"]
    video = make_video(viewer, ("cats",))
    first, later = datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC)

    async def watched(db: AsyncSession) -> None:
        db.add(FeedSeen(user_id=viewer, video_id=video, seen_at=first, watch_ms=4000, completed=True, skipped=False))

    async def serve(db: AsyncSession) -> None:
        await mark_served_batch(db, [(viewer, [video], first), (viewer, [video], later)], settings)

    async def read(db: AsyncSession) -> tuple[Any, ...]:
        row = (await db.execute(select(FeedSeen.seen_at, FeedSeen.watch_ms, FeedSeen.completed, FeedSeen.skipped)
                                .where(FeedSeen.user_id == viewer))).one()
        return tuple(row)

    db_run(watched)
    db_run(serve)
    assert db_run(read) == (later, 4000, True, False)
