"""Periodic jobs of the content domain.

``sweep_video_files`` removes what a crashed upload can leave behind: partial uploads in
``media_dir/videos/incoming/`` and renditions or posters made for an upload whose row was never
committed (the process died between ffmpeg and the commit). Only files older than
:data:`GRACE_SECONDS` are touched, so uploads in progress are safe; only names made by
:mod:`mercato.content.media` (random tokens) are considered, never the demo's clips.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.content import media
from mercato.content import repository as repo
from mercato.kit import jobs

GRACE_SECONDS = 6 * 3600
_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_-]{22}\.(?:mp4|jpg)$")


def _stale(folder: Path, pattern: re.Pattern[str], now: float) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir()
            if p.is_file() and pattern.match(p.name) and not p.name.startswith("demo-")
            and now - p.stat().st_mtime > GRACE_SECONDS]


@jobs.job("sweep_video_files", 3600)
async def sweep_video_files(db: AsyncSession, settings: Settings) -> int:
    """Delete stale partial uploads and unreferenced upload files; returns how many went."""
    now = time.time()
    root = settings.media_dir
    partial = await asyncio.to_thread(_stale, root / media.INCOMING_FOLDER, re.compile(r"^.+\.part$"), now)
    made = await asyncio.to_thread(_stale, root / media.VIDEO_FOLDER, _UPLOAD_NAME, now)
    removed = 0
    for path in partial:
        path.unlink(missing_ok=True)
        removed += 1
    if made:
        rels = [f"{media.VIDEO_FOLDER}/{p.name}" for p in made]
        used = await repo.paths_in_use(db, rels)
        orphans = [r for r in rels if r not in used]
        media.remove_files(root, orphans)
        removed += len(orphans)
    return removed
