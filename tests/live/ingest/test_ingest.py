"""RTMP in, HLS out: real publishers (PyAV, the ffmpeg CLI) against the real ingest server."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.jobs import run_job
from mercato.live.ingest import recording
from mercato.live.ingest.server import live_folder
from tests.conftest import run_async
from tests.harness import missing
from tests.live.ingest.conftest import WAIT_SECONDS, Hosted, Ingest, Publisher, has_video, live_row, wait_for

PLAYLIST_SECONDS = 10.0  # docs/live.md: the playlist lists a segment within 10 s of a publisher starting


def listed_segments(api: httpx.Client, live_id: int) -> list[str]:
    response = api.get(f"/live/{live_id}/hls/index.m3u8")
    if response.status_code != 200:
        return []
    return [line for line in response.text.splitlines() if line and not line.startswith("#")]


def fetch_segment(api: httpx.Client, live_id: int, name: str, tmp_path: Path) -> Path:
    response = api.get(f"/live/{live_id}/hls/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp2t"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def run_end_job(database_url: str, settings: Settings) -> int:
    async def go() -> int:
        db = Database(database_url, pool=False)
        try:
            return await run_job(db, settings, "live_end_and_replay")
        finally:
            await db.dispose()

    result: int = run_async(go())
    return result


def test_pyav_publisher_goes_live_and_the_replay_plays(
        ingest: Ingest, make_live: Callable[[], Hosted], api: httpx.Client, db_run: Callable[..., Any],
        settings: Settings, clean_db: str, tmp_path: Path) -> None:
    hosted = make_live()
    publisher = Publisher(f"{ingest.url}/{hosted.key}")
    segments = wait_for(lambda: listed_segments(api, hosted.live_id), "a listed segment", PLAYLIST_SECONDS)
    assert publisher.running()
    live = live_row(db_run, hosted.live_id)
    assert live.status == "live" and live.started_at is not None and live.publisher_left_at is None
    playlist = api.get(f"/live/{hosted.live_id}/hls/index.m3u8")
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert playlist.headers["cache-control"] == "no-cache"
    assert has_video(fetch_segment(api, hosted.live_id, segments[0], tmp_path))

    # The publisher stops: the LIVE stays on air for the grace, then the job ends it and makes the replay.
    wait_for(lambda: len(listed_segments(api, hosted.live_id)) >= 2, "a second segment")
    assert publisher.stop() == 0, publisher.output
    wait_for(lambda: live_row(db_run, hosted.live_id).publisher_left_at is not None, "the publisher to leave")
    assert live_row(db_run, hosted.live_id).status == "live"
    assert run_end_job(clean_db, settings) == 0  # within the grace: nothing ends
    assert live_row(db_run, hosted.live_id).status == "live"

    no_grace = settings.model_copy(update={"live_grace_seconds": 0})
    wait_for(lambda: run_end_job(clean_db, no_grace) or live_row(db_run, hosted.live_id).replay_path,
             "the replay")
    live = live_row(db_run, hosted.live_id)
    assert live.status == "ended" and live.ended_reason == "publisher_gone"
    assert live.replay_path == f"live/{hosted.live_id}/replay.m3u8"
    assert run_end_job(clean_db, no_grace) == 0  # idempotent: nothing more to do
    replay = api.get(f"/live/{hosted.live_id}/hls/replay.m3u8")
    assert replay.status_code == 200
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay.text
    assert replay.text.rstrip().endswith("#EXT-X-ENDLIST")
    assert has_video(settings.media_dir / live.replay_path)
