"""POST /feed/events: validation (422, nothing kept) and real-time effects on the viewer's
profile, the seen set and the video's scores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.feed.models import FeedEvent, FeedSeen, VideoScore, ViewerAffinity
from mercato.feed.signals import COMPLETION_WEIGHT, EVENT_WEIGHTS

EVENTS = "/api/v1/feed/events"


@pytest.mark.parametrize("payload", [
    {},
    {"events": []},
    {"events": [{"video_id": 1, "kind": "like"}]},  # likes come from the content routes
    {"events": [{"video_id": 1, "kind": "dance"}]},
    {"events": [{"kind": "watch", "watch_ms": 10}]},
    {"events": [{"video_id": 0, "kind": "watch"}]},
    {"events": [{"video_id": 1, "kind": "watch", "watch_ms": -1}]},
    {"events": [{"video_id": "one", "kind": "watch"}]},
    {"events": [{"video_id": 1, "kind": "skip"}] * 101},
])
def test_invalid_batches_are_422_and_nothing_is_kept(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
    count_rows: Callable[[Any], int], payload: dict[str, Any],
) -> None:
    viewer = make_user()
    make_video(make_user()["user"]["id"], ("cats",))
    response = api.post(EVENTS, headers=viewer["headers"], json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert count_rows(FeedEvent) == 0


def test_an_unknown_video_rejects_the_whole_batch(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
    count_rows: Callable[[Any], int],
) -> None:
    viewer = make_user()
    video = make_video(make_user()["user"]["id"], ("cats",))
    response = api.post(EVENTS, headers=viewer["headers"], json={"events": [
        {"video_id": video, "kind": "watch", "watch_ms": 5000}, {"video_id": video + 99, "kind": "skip"}]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_video"
    assert response.json()["error"]["details"] == {"video_ids": [video + 99]}
    assert count_rows(FeedEvent) == 0
    assert count_rows(FeedSeen) == 0
    assert count_rows(ViewerAffinity) == 0


def test_a_completed_watch_and_a_skip_update_profile_seen_and_scores(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
    db_run: Callable[..., Any],
) -> None:
    viewer = make_user()
    creator = make_user()["user"]["id"]
    liked = make_video(creator, ("cats", "kittens"), impressions=0, duration_ms=10_000)
    skipped = make_video(creator, ("cars",), impressions=0, duration_ms=10_000)
    response = api.post(EVENTS, headers=viewer["headers"], json={"events": [
        {"video_id": liked, "kind": "impression"},
        {"video_id": liked, "kind": "watch", "watch_ms": 9_000},  # 90 %: a completion
        {"video_id": skipped, "kind": "skip", "watch_ms": 400},
    ]})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "counted": 3}

    async def read(db: AsyncSession) -> dict[str, Any]:
        seen = {r.video_id: (r.watch_ms, r.completed, r.skipped)
                for r in (await db.execute(select(FeedSeen))).scalars()}
        scores = {r.video_id: (r.engagement, r.impressions, r.trending > 0)
                  for r in (await db.execute(select(VideoScore))).scalars()}
        aff = {(r.kind, r.key): r.score for r in (await db.execute(
            select(ViewerAffinity).where(ViewerAffinity.user_id == viewer["user"]["id"]))).scalars()}
        kinds = sorted(r.kind for r in (await db.execute(select(FeedEvent))).scalars())
        return {"seen": seen, "scores": scores, "aff": aff, "kinds": kinds}

    state = db_run(read)
    assert state["kinds"] == ["impression", "skip", "watch"]
    assert state["seen"] == {liked: (9_000, True, False), skipped: (400, False, True)}
    assert state["scores"][liked] == (COMPLETION_WEIGHT, 1, True)
    assert state["scores"][skipped] == (EVENT_WEIGHTS["skip"], 0, False)  # skips never add to trending
    assert set(state["aff"]) == {("tag", "cats"), ("tag", "kittens"), ("tag", "cars"), ("creator", str(creator))}
    assert state["aff"][("tag", "cats")] > 0 and state["aff"][("tag", "kittens")] > 0
    assert state["aff"][("tag", "cars")] < 0
    # Creator: one completion (+1.5) and one skip (−1.0), stored at the same reference time.
    ratio = state["aff"][("creator", str(creator))] / state["aff"][("tag", "cats")]
    assert ratio == pytest.approx((COMPLETION_WEIGHT + EVENT_WEIGHTS["skip"]) / COMPLETION_WEIGHT, rel=1e-6)


def test_anonymous_events_are_accepted_and_count_for_nothing(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
    count_rows: Callable[[Any], int], db_run: Callable[..., Any],
) -> None:
    """Nobody vouches for an anonymous report, so it moves no ranking (docs/feed.md): the player
    still gets its 202, and an unknown video is still a 422."""
    video = make_video(make_user()["user"]["id"], ("cats",), impressions=0)
    response = api.post(EVENTS, json={"events": [{"video_id": video, "kind": "add_to_cart"}]})
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "counted": 0}
    assert count_rows(FeedEvent) == 0
    assert count_rows(FeedSeen) == 0
    assert count_rows(ViewerAffinity) == 0

    async def engagement(db: AsyncSession) -> float:
        return float((await db.execute(select(VideoScore.engagement).where(VideoScore.video_id == video))).scalar_one())

    assert db_run(engagement) == 0.0
    unknown = api.post(EVENTS, json={"events": [{"video_id": video + 1, "kind": "watch"}]})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_video"
