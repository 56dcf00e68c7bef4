"""A script cannot buy views or a place in the rankings with POST /feed/events (issue 18, item 5):
ten calls of 100 completed watches moved a video from 12 to 1,012 views and to #1 of
/feed/popular. Anonymous reports now count for nothing; a signed-in viewer's count at most
``feed_counted_events_per_video`` times per video and kind per window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.content.models import Video
from mercato.feed.models import FeedCount, FeedEvent, VideoScore
from mercato.feed.signals import COMPLETION_WEIGHT

EVENTS = "/api/v1/feed/events"


def popular_ids(api: httpx.Client) -> list[int]:
    response = api.get("/api/v1/feed/popular")
    assert response.status_code == 200, response.text
    return [item["video"]["id"] for item in response.json()["items"]]


@pytest.fixture
def ranked(make_user: Callable[..., Any], make_video: Callable[..., int],
           db_run: Callable[..., Any]) -> dict[str, Any]:
    """Five well-liked videos and the target: 12 views, no engagement, last of /feed/popular."""
    leaders = [make_video(make_user()["user"]["id"], ("cats",), engagement=30.0 + i, trending=5.0 + i)
               for i in range(5)]
    target = make_video(make_user()["user"]["id"], ("cats",), duration_ms=10_000)

    async def twelve_views(db: AsyncSession) -> None:
        await db.execute(update(Video).where(Video.id == target).values(views_count=12))

    db_run(twelve_views)
    return {"leaders": leaders, "target": target}


def views(db_run: Callable[..., Any], video: int) -> int:
    async def read(db: AsyncSession) -> int:
        return int((await db.execute(select(Video.views_count).where(Video.id == video))).scalar_one())

    result: int = db_run(read)
    return result


def watches(video: int) -> dict[str, Any]:
    return {"events": [{"video_id": video, "kind": "watch", "watch_ms": 10_000}] * 100}


def test_anonymous_watches_do_not_buy_views_or_the_top_spot(
    api: httpx.Client, ranked: dict[str, Any], db_run: Callable[..., Any], count_rows: Callable[[Any], int],
) -> None:
    target = ranked["target"]
    before = popular_ids(api)
    assert before[-1] == target
    for _ in range(10):
        response = api.post(EVENTS, json=watches(target))
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 100, "counted": 0}
    assert views(db_run, target) == 12
    assert api.get(f"/api/v1/videos/{target}").json()["counts"]["views"] == 12
    assert popular_ids(api) == before
    assert count_rows(FeedEvent) == 0


def test_one_account_counts_at_most_the_cap_per_video_and_window(
    api: httpx.Client, ranked: dict[str, Any], make_user: Callable[..., Any], db_run: Callable[..., Any],
    count_rows: Callable[[Any], int], settings: Settings,
) -> None:
    target = ranked["target"]
    cap = settings.feed_counted_events_per_video
    assert cap == 2
    before = popular_ids(api)
    script = make_user()
    counted = []
    for _ in range(10):
        response = api.post(EVENTS, headers=script["headers"], json=watches(target))
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 100
        counted.append(response.json()["counted"])
    assert counted == [cap] + [0] * 9
    assert views(db_run, target) == 12 + cap
    assert popular_ids(api) == before
    assert count_rows(FeedEvent) == cap

    async def state(db: AsyncSession) -> tuple[float, int]:
        engagement = (await db.execute(select(VideoScore.engagement).where(VideoScore.video_id == target))).scalar_one()
        events = (await db.execute(select(FeedCount.events).where(FeedCount.video_id == target))).scalar_one()
        return float(engagement), int(events)

    # The count keeps every report of the window (1,000), only the first two counted.
    assert db_run(state) == (cap * COMPLETION_WEIGHT, 1000)

    # Another viewer still counts, and other kinds have their own cap.
    other = make_user()
    response = api.post(EVENTS, headers=other["headers"], json={"events": [
        {"video_id": target, "kind": "watch", "watch_ms": 4_000}, {"video_id": target, "kind": "impression"}]})
    assert response.json() == {"accepted": 2, "counted": 2}
    assert views(db_run, target) == 12 + cap + 1


def test_the_cap_starts_again_when_the_window_is_over(
    api: httpx.Client, ranked: dict[str, Any], make_user: Callable[..., Any], db_run: Callable[..., Any],
    settings: Settings,
) -> None:
    target = ranked["target"]
    viewer = make_user()
    assert api.post(EVENTS, headers=viewer["headers"], json=watches(target)).json()["counted"] == 2
    assert api.post(EVENTS, headers=viewer["headers"], json=watches(target)).json()["counted"] == 0

    async def age_window(db: AsyncSession) -> None:
        past = datetime.now(UTC) - timedelta(hours=settings.feed_count_window_hours, minutes=1)
        await db.execute(update(FeedCount).values(window_start=past))

    db_run(age_window)
    assert api.post(EVENTS, headers=viewer["headers"], json=watches(target)).json()["counted"] == 2
    assert views(db_run, target) == 12 + 4


def test_feed_events_are_rate_limited_and_a_refused_call_records_nothing(
    production_limits: None, api: httpx.Client, ranked: dict[str, Any], make_user: Callable[..., Any],
    db_run: Callable[..., Any],
) -> None:
    viewer = make_user()
    leader = ranked["leaders"][0]
    for _ in range(60):  # MERCATO_RATE_LIMIT_FEED_EVENTS: 60/minute
        ok = api.post(EVENTS, headers=viewer["headers"], json={"events": [{"video_id": leader, "kind": "impression"}]})
        assert ok.status_code == 202, ok.text
    refused = api.post(EVENTS, headers=viewer["headers"], json=watches(ranked["target"]))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60

    async def target_rows(db: AsyncSession) -> int:
        return int((await db.execute(select(func.count()).select_from(FeedCount)
                                     .where(FeedCount.video_id == ranked["target"]))).scalar_one())

    assert db_run(target_rows) == 0
    assert views(db_run, ranked["target"]) == 12
