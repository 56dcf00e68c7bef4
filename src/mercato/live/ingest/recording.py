"""A LIVE's recording on disk: the packager's ``recording.m3u8`` and its segments.

The replay is the recording finalised as an HLS VOD playlist (``replay.m3u8``: the same segments,
``#EXT-X-PLAYLIST-TYPE:VOD``, ``#EXT-X-ENDLIST``), so it plays like any video in hls.js or Safari
and no segment is copied. Clips read the segments through :func:`segments`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mercato.live.ingest.packager import RECORDING, write_atomically

REPLAY = "replay.m3u8"
ENDLIST = "#EXT-X-ENDLIST"


@dataclass(frozen=True)
class Segment:
    name: str
    start: float  # seconds from the start of the recording
    duration: float
    discontinuity: bool  # a new publisher connection starts here


def recording_text(folder: Path) -> str | None:
    try:
        return (folder / RECORDING).read_text()
    except FileNotFoundError:
        return None


def is_closed(text: str) -> bool:
    """True once the packager has written its last segment (FFmpeg closes the list with ENDLIST)."""
    return text.rstrip().endswith(ENDLIST)


def segments(text: str) -> list[Segment]:
    out: list[Segment] = []
    start, duration, discontinuity = 0.0, 0.0, False
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = bool(out)
        elif line and not line.startswith("#"):
            out.append(Segment(line, start, duration, discontinuity))
            start += duration
            discontinuity = False
    return out


def vod_playlist(text: str) -> str:
    """The recording as a finished VOD playlist."""
    listed = segments(text)
    target = max((round(s.duration + 0.5) for s in listed), default=1)
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for segment in listed:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXTINF:{segment.duration:.6f},", segment.name]
    lines.append(ENDLIST)
    return "\n".join(lines) + "\n"


def finalise(folder: Path) -> bool:
    """Write ``replay.m3u8`` from the recording; False when there is no segment to replay."""
    text = recording_text(folder)
    if text is None or not segments(text):
        return False
    write_atomically(folder / REPLAY, vod_playlist(text))
    return True
