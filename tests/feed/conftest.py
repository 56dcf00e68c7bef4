"""Feed test fixtures: videos inserted straight into the database (no media needed to rank).

The server runs with the production settings: its in-process index refreshes in the background
every ``feed_index_refresh_seconds`` and each viewer's candidate list is kept for
``feed_candidates_ttl_seconds``. A video written here is written as another process would write
it, so :func:`make_video` then has the server's index catch up, as its background refresh would
a moment later; a viewer's candidate list already cached is not dropped by that (as in
production: only that viewer's own engagement or preferences drop it, or its TTL)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import get_settings
from mercato.content.models import Video, VideoHashtag
from mercato.feed.engine import index_for
from mercato.feed.models import VideoScore
from mercato.feed.service import read_sessions
from mercato.feed.signals import Decay
from tests.conftest import on_live_server

_n = itertools.count(1)


@pytest.fixture
def make_video(db_run: Callable[..., Any]) -> Callable[..., int]:
    """``make_video(creator_id, tags=("cats",), age_hours=120, impressions=500, engagement=0.0)`` → id.

    By default a video is old and well exposed (not "fresh"), with a neutral score; ``trending`` is
    the current (decayed) value."""

    def create(creator_id: int, tags: tuple[str, ...] = (), *, age_hours: float = 120.0, impressions: int = 500,
               engagement: float = 0.0, trending: float = 0.0, duration_ms: int = 10_000,
               caption: str | None = None) -> int:
        async def write(db: AsyncSession) -> int:
            at = datetime.now(UTC) - timedelta(hours=age_hours)
            n = next(_n)
            text = caption if caption is not None else f"clip {n} " + " ".join(f"#{t}" for t in tags)
            video = Video(creator_id=creator_id, caption=text, media_path=f"videos/test-{n}.mp4",
                          duration_ms=duration_ms, width=720, height=1280, created_at=at, updated_at=datetime.now(UTC))
            db.add(video)
            await db.flush()
            db.add_all([VideoHashtag(video_id=video.id, tag=t) for t in tags])
            now = datetime.now(UTC)
            stored = Decay(get_settings().feed_trending_half_life_hours).stored_weight(trending, now)
            db.add(VideoScore(video_id=video.id, trending=stored, engagement=engagement, impressions=impressions,
                              updated_at=now))
            await db.flush()
            return int(video.id)

        result: int = db_run(write)
        refresh_feed_index()
        return result

    return create


def refresh_feed_index() -> None:
    """The server's feed index reads what changed in the database (its background refresh, now)."""

    async def refresh(app: Any) -> None:
        settings = app.state.settings
        await index_for(settings.database_url).refresh(read_sessions(app.state.db), settings)

    on_live_server(refresh)
