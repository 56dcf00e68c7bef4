"""LIVE jobs (kit/jobs.py): end the LIVEs whose publisher is gone, and turn recordings into replays.

``live_end_and_replay`` runs every few seconds:

1. a LIVE whose publisher left more than ``live_grace_seconds`` ago ends
   (``end_live(reason="publisher_gone")``); a reconnect within the grace has cleared
   ``publisher_left_at`` and keeps it on air;
2. an ended LIVE that went on air gets its replay: the recording finalised as a VOD playlist
   (:func:`mercato.live.ingest.recording.finalise`) and ``Live.replay_path`` set — whoever ended
   it (this job, the host, an operator). It waits until the packager has closed the recording
   (the publisher of a LIVE ended by hand is disconnected within seconds), or
   :data:`PACKAGER_GRACE` after the end if the packager died without closing it.

Both steps are guarded by the rows' state, so running the job twice, or in two processes at
once, ends nothing twice and writes the same replay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.jobs import job
from mercato.live import repository, service
from mercato.live.ingest import recording
from mercato.live.ingest.server import live_folder

BATCH = 100
PACKAGER_GRACE = timedelta(seconds=60)
REPLAY_WINDOW = timedelta(days=1)  # an ended LIVE whose recording never appeared is given up after this


@job("live_end_and_replay", interval_seconds=5)
async def end_and_replay(db: AsyncSession, settings: Settings) -> int:
    now = datetime.now(UTC)
    handled = 0
    for live in await repository.lives_publisher_gone(
            db, left_before=now - timedelta(seconds=settings.live_grace_seconds), limit=BATCH):
        await service.end_live(db, live, reason="publisher_gone")
        handled += 1
    for live in await repository.ended_without_replay(db, ended_after=now - REPLAY_WINDOW, limit=BATCH):
        folder = live_folder(settings, live.id)
        text = recording.recording_text(folder)
        if text is None:
            continue
        ended_at = live.ended_at or now
        if not recording.is_closed(text) and now - ended_at < PACKAGER_GRACE:
            continue  # the packager is still writing the last segment
        if recording.finalise(folder):
            live.replay_path = f"live/{live.id}/{recording.REPLAY}"
            handled += 1
    await db.flush()
    return handled
