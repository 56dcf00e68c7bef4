"""Cutting a time range of a LIVE's replay into a video file (the host's clips).

The ingest keeps the recording and knows how to cut it; it installs its cutter here when the
app starts (:func:`install`). Without one, or before the replay exists, cutting answers
``409 replay_not_ready`` — never a half-made clip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from mercato.config import Settings
from mercato.kit.errors import Conflict
from mercato.live.errors import LiveError
from mercato.live.models import Live

#: ``cutter(settings, live, start_ms, end_ms)`` → a temporary MP4 file (the caller removes it).
Cutter = Callable[[Settings, Live, int, int], Awaitable[Path]]
_cutters: list[Cutter] = []


def install(cutter: Cutter) -> None:
    _cutters[:] = [cutter]


def uninstall() -> None:
    _cutters.clear()


async def cut_clip(settings: Settings, live: Live, start_ms: int, end_ms: int) -> Path:
    """The range ``[start_ms, end_ms)`` of the replay of ``live`` as a video file."""
    if not _cutters or live.replay_path is None:
        raise Conflict("The replay of this LIVE is not ready yet.", code=LiveError.REPLAY_NOT_READY)
    return await _cutters[0](settings, live, start_ms, end_ms)
