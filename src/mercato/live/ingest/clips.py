"""Cut a time range of a LIVE's recording into an MP4 file, without re-encoding.

Times are milliseconds from the start of the recording (the sum of the segments' durations
before them, as a player of the replay counts). The video is copied from the last keyframe at or
before the start; its earlier frames get negative timestamps, so the MP4 muxer writes an edit
list and players (and FFmpeg) start presenting exactly at the start: a frame-accurate start with
no re-encoding. The video ends with the last frame decoded before the end, the audio with the
last frame starting before it. The core of LIVE turns the file into a shoppable video through
``mercato.content`` (see docs/live.md, "Clips").

:func:`cut` is blocking file work with FFmpeg: the app calls :func:`cut_clip`, which runs it in a
child process (``python -m mercato.live.ingest.clips FOLDER START_MS END_MS TARGET``), like the
video transcoder, so a damaged recording can only fail that process.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from mercato.config import Settings
from mercato.kit.errors import ValidationFailed
from mercato.live.errors import LiveError
from mercato.live.ingest import recording
from mercato.live.ingest.server import live_folder

MIN_CLIP_MS = 500
CLIP_FOLDER = "clips"
OUT_OF_RANGE = 2  # the child's exit status for a ClipError


class ClipError(ValueError):
    """The range is not in the recording (or there is no recording)."""


def _timed_packets(folder: Path, listed: list[recording.Segment], start: float, end: float, stack: ExitStack
                   ) -> tuple[list[tuple[Any, float, float]], list[tuple[Any, float]], Any, Any]:
    """Video packets (packet, pts seconds, dts seconds) and audio packets (packet, pts seconds)
    on the recording's clock, from the segments overlapping [start, end); and the first
    segment's video and audio streams (the templates of the output). The segments stay open on
    ``stack`` while the packets and templates are used."""
    video_packets: list[tuple[Any, float, float]] = []
    audio_packets: list[tuple[Any, float]] = []
    video_template = audio_template = None
    origins: dict[int, float] = {}  # group head index → its clock's offset from the recording's
    for index, segment in enumerate(listed):
        if segment.start + segment.duration <= start or segment.start >= end:
            continue
        container = stack.enter_context(_open(folder / segment.name))
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None:
            continue
        if video_template is None:
            video_template, audio_template = video, audio
        head = _group_head(listed, index)
        if head not in origins:
            origins[head] = _first_video_seconds(folder / listed[head].name) - listed[head].start
        origin = origins[head]
        for packet in container.demux(*(s for s in (video, audio) if s is not None)):
            if packet.pts is None or packet.dts is None:
                continue
            at = float(packet.pts * packet.time_base) - origin
            if packet.stream is video:
                video_packets.append((packet, at, float(packet.dts * packet.time_base) - origin))
            elif packet.stream is audio:
                audio_packets.append((packet, at))
    return video_packets, audio_packets, video_template, audio_template


def _open(path: Path) -> Any:
    return av.open(str(path), options={"protocol_whitelist": "file"})


def _group_head(listed: list[recording.Segment], index: int) -> int:
    """The first segment of ``index``'s publisher connection (timestamps run on within it)."""
    while index > 0 and not listed[index].discontinuity:
        index -= 1
    return index


def _first_video_seconds(path: Path) -> float:
    """Within one connection the timestamps are continuous: the first segment's first frame
    places the whole connection on the recording's clock (the segments' listed durations are
    rounded, their timestamps are not)."""
    with _open(path) as container:
        video = container.streams.video[0]
        for packet in container.demux(video):
            if packet.pts is not None:
                return float(packet.pts * video.time_base)
    raise ClipError("A segment of the recording holds no video.")


def cut(folder: Path, start_ms: int, end_ms: int, target: Path) -> float:
    """Write ``[start_ms, end_ms)`` of the recording in ``folder`` to ``target`` (MP4, faststart);
    return the clip's duration in seconds."""
    text = recording.recording_text(folder)
    if text is None:
        raise ClipError("This LIVE has no recording.")
    listed = recording.segments(text)
    total_ms = round(sum(s.duration for s in listed) * 1000)
    if not 0 <= start_ms < end_ms or end_ms - start_ms < MIN_CLIP_MS or end_ms > total_ms:
        raise ClipError(f"The range must lie within the recording (0–{total_ms} ms) "
                        f"and last at least {MIN_CLIP_MS} ms.")
    start, end = start_ms / 1000, end_ms / 1000
    with ExitStack() as stack:
        _write(_timed_packets(folder, listed, start, end, stack), start, end, target)
    with av.open(str(target)) as clip:
        return float(clip.duration or 0) / av.time_base


def _write(timed: tuple[list[tuple[Any, float, float]], list[tuple[Any, float]], Any, Any], start: float, end: float,
           target: Path) -> None:
    video_packets, audio_packets, video_template, audio_template = timed
    keyframes = [i for i, (p, at, _) in enumerate(video_packets) if p.is_keyframe and at <= start + 1e-6]
    if not keyframes:
        raise ClipError("No keyframe at or before the start of the range.")
    first = keyframes[-1]
    with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video_out = out.add_stream_from_template(video_template)
        audio_out = out.add_stream_from_template(audio_template) if audio_template is not None else None
        chosen: list[tuple[float, Any, float, Any]] = []  # (decode time, packet, presentation time, stream)
        for packet, at, decoded_at in video_packets[first:]:
            if decoded_at >= end:
                break
            chosen.append((decoded_at, packet, at, video_out))
        if audio_out is not None:
            chosen += [(at, packet, at, audio_out) for packet, at in audio_packets if start <= at < end]
        chosen.sort(key=lambda item: item[0])
        for decoded_at, packet, at, stream in chosen:
            base: Fraction = packet.time_base
            packet.pts, packet.dts = round((at - start) / base), round((decoded_at - start) / base)
            packet.stream = stream
            out.mux(packet)


async def cut_clip(settings: Settings, live_id: int, start_ms: int, end_ms: int) -> Path:
    """Cut ``[start_ms, end_ms)`` of the LIVE's recording into a new MP4 under its folder, in a
    child process; the caller hands the file to ``content.media.process_upload`` and removes it.
    422 ``clip_range_invalid`` when the range is not within the recording."""
    folder = live_folder(settings, live_id)
    target = folder / CLIP_FOLDER / f"{secrets.token_hex(8)}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mercato.live.ingest.clips", str(folder), str(start_ms), str(end_ms), str(target),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        _out, err = await asyncio.wait_for(process.communicate(), 60.0 + (end_ms - start_ms) / 1000)
    except (TimeoutError, asyncio.CancelledError):
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await asyncio.shield(process.wait())
        target.unlink(missing_ok=True)
        raise
    if process.returncode != 0:
        target.unlink(missing_ok=True)
        message = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["The clip could not be cut."]
        if process.returncode == OUT_OF_RANGE:
            raise ValidationFailed(message[0], code=LiveError.CLIP_RANGE_INVALID,
                                   details={"start_ms": start_ms, "end_ms": end_ms})
        raise RuntimeError(f"clip cutter failed: {message[0]}")
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: python -m mercato.live.ingest.clips FOLDER START_MS END_MS TARGET", file=sys.stderr)
        return 1
    try:
        cut(Path(argv[0]), int(argv[1]), int(argv[2]), Path(argv[3]))
    except ClipError as exc:
        print(str(exc), file=sys.stderr)
        return OUT_OF_RANGE
    except (av.error.FFmpegError, OSError) as exc:
        Path(argv[3]).unlink(missing_ok=True)
        print(f"clip: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
