"""The sweep of files left behind by crashed uploads."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from mercato.config import Settings
from mercato.content import tasks
from tests.content.conftest import DbRun


def test_sweep_removes_only_stale_unreferenced_upload_files(
    settings: Settings, db_run: DbRun, make_user: Callable[..., dict[str, Any]],
    post_video: Callable[..., dict[str, Any]]
) -> None:
    video = post_video(make_user())
    kept_video = settings.media_dir / video["media_url"].removeprefix("/media/")
    folder = settings.media_dir / "videos"
    incoming = folder / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    old = time.time() - tasks.GRACE_SECONDS - 60
    stale_part = incoming / "crashed.part"
    fresh_part = incoming / "uploading.part"
    orphan = folder / ("A" * 22 + ".mp4")
    fresh_orphan = folder / ("B" * 22 + ".jpg")
    demo = folder / "demo-0123456789abcdef01234567.mp4"
    for path in (stale_part, fresh_part, orphan, fresh_orphan, demo):
        path.write_bytes(b"x")
    for path in (stale_part, orphan, demo, kept_video):
        os.utime(path, (old, old))

    removed = db_run(lambda session: tasks.sweep_video_files(session, settings))
    assert removed == 2
    assert not stale_part.exists() and not orphan.exists()
    assert fresh_part.exists() and fresh_orphan.exists() and demo.exists() and kept_video.exists()
    for path in (fresh_part, fresh_orphan, demo):
        path.unlink()
