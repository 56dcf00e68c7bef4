"""Video files: streamed uploads with a hard size cap, probe validation, an H.264/AAC rendition
and a poster frame, made with PyAV (FFmpeg's libraries from its wheel) in a child process.

Everything runs in the request, without a worker: the body is parsed as it arrives and written
to a temporary file under ``media_dir/videos/`` in chunks (never whole in memory), and the video
work runs in a child process (``python -m mercato.content.transcoder``, started with
``asyncio.create_subprocess_exec``), so the event loop keeps serving other requests while it
works, and a hostile file can at worst crash or hang that child, which is killed at its deadline.
At most :data:`PROCESSING_SLOTS` such jobs run at once per process; the others wait for a slot.
The trade-off: a long, odd-format upload keeps its HTTP request open while it is transcoded
(seconds for short clips, about real time for minutes of 1080p on a small machine). A queue with
a worker would answer sooner but the video would not be playable yet; short clips are the
platform's staple, so transcoding inline is the simpler, always-consistent choice (docs/videos.md).

Security: only the demuxers of MP4/MOV and Matroska/WebM and only the ``file`` protocol are
allowed (see :mod:`mercato.content.transcoder`), so a playlist or any other text file disguised as
a video is refused before anything is decoded, and cannot make FFmpeg read other files or the
network. Every output is re-muxed or re-encoded without the upload's metadata (GPS tags of phone
videos). Files are named by random tokens; on any failure every file made for the upload is
removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from mercato.config import Settings
from mercato.content import transcoder
from mercato.content.errors import ContentError
from mercato.kit.errors import AppError, PayloadTooLarge, ValidationFailed

log = logging.getLogger("mercato.content")

VIDEO_FOLDER = "videos"
INCOMING_FOLDER = "videos/incoming"
WRITE_CHUNK = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 200
MAX_FORM_BYTES = 1024 * 1024  # every part but the file, together
PROCESSING_SLOTS = 2
DEMUXERS = transcoder.DEMUXERS
# Decoders we accept for the video stream (everything else: 422 invalid_video).
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "prores", "mjpeg", "mpeg2video", "h263"})
AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis", "pcm_s16le", "pcm_s24le", "pcm_f32le", "alac", "ac3",
                          "eac3", "flac", "pcm_s16be", "amr_nb"})
MAX_SIDE = 4096
PROBE_TIMEOUT = 30.0


class MediaUnavailable(AppError):
    """The video worker missing, killed or too slow: the server's problem, not the file's."""

    status = 503
    code = ContentError.VIDEO_PROCESSING_UNAVAILABLE


def _invalid(message: str = "The file is not a video we can read (use MP4, WebM or MOV).") -> ValidationFailed:
    return ValidationFailed(message, code=ContentError.INVALID_VIDEO)


def new_token() -> str:
    return secrets.token_urlsafe(16)


def remove_files(media_dir: Path, paths: Iterable[str | None]) -> None:
    """Delete media files given relative to ``media_dir`` (missing ones are fine)."""
    root = media_dir.resolve()
    for rel in paths:
        if not rel:
            continue
        target = (media_dir / rel).resolve()
        if root not in target.parents:
            continue  # never outside the media folder
        with contextlib.suppress(FileNotFoundError):
            target.unlink()


# --- streamed multipart upload --------------------------------------------------------------

@dataclass
class Received:
    """A parsed upload: the file (a temporary file; the caller removes it) and the other fields."""

    path: Path | None = None
    filename: str = ""
    size: int = 0
    fields: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


class _Collector:
    """Callbacks of python-multipart's streaming parser. File data is buffered only until the
    current network chunk has been parsed, then appended to disk."""

    def __init__(self, file_field: str) -> None:
        self.file_field = file_field
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.name = ""
        self.is_file = False
        self.data = bytearray()
        self.form_bytes = 0
        self.pending = bytearray()
        self.files = 0
        self.field_count = 0
        self.filename = ""
        self.fields: dict[str, list[str]] = {}

    def on_part_begin(self) -> None:
        self.disposition = b""
        self.name = ""
        self.is_file = False
        self.data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        raw_name = options.get(b"name")
        if raw_name is None:
            raise _invalid_form("A form part has no name.")
        self.name = raw_name.decode("utf-8", "replace")
        if b"filename" in options:
            if self.name != self.file_field or self.files:
                raise _invalid_form(f"Send one file, in the field {self.file_field!r}.")
            self.files += 1
            self.is_file = True
            self.filename = options[b"filename"].decode("utf-8", "replace")[:255]
        else:
            self.field_count += 1
            if self.field_count > MAX_FIELDS:
                raise _invalid_form("Too many form fields.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            self.pending += data[start:end]
        else:
            self.data += data[start:end]
            self.form_bytes += end - start
            if len(self.data) > MAX_FIELD_BYTES or self.form_bytes > MAX_FORM_BYTES:
                raise _invalid_form(f"The field {self.name!r} is too long.")

    def on_part_end(self) -> None:
        if not self.is_file:
            self.fields.setdefault(self.name, []).append(self.data.decode("utf-8", "replace"))

    def on_end(self) -> None:
        return None


def _invalid_form(message: str) -> ValidationFailed:
    return ValidationFailed(message, code=ContentError.INVALID_FORM)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    mb = max_bytes / (1024 * 1024)
    size = f"{mb:.0f} MB" if mb >= 1 else f"{max_bytes // 1024} KB"
    return PayloadTooLarge(f"Videos may be at most {size}.", code=ContentError.FILE_TOO_LARGE,
                           details={"max_bytes": max_bytes})


async def receive_upload(request: Request, settings: Settings, *, file_field: str = "file") -> Received:
    """Parse a ``multipart/form-data`` body as it arrives. The file goes to a temporary file
    under ``media_dir/videos/incoming/`` chunk by chunk; more than ``max_video_bytes`` → 413
    ``file_too_large`` (the rest of the body is not read, the partial file is deleted)."""
    max_bytes = settings.max_video_bytes
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise ValidationFailed("Send the video as multipart/form-data with a 'file' field.",
                               code=ContentError.INVALID_FORM)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MAX_FORM_BYTES:
        raise _too_large(max_bytes)  # refuse before reading a byte
    folder = settings.media_dir / INCOMING_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{new_token()}.part"
    collector = _Collector(file_field)
    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": collector.on_part_begin, "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end, "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value, "on_header_end": collector.on_header_end,
        "on_headers_finished": collector.on_headers_finished, "on_end": collector.on_end,
    })
    size = 0
    ok = False
    handle = await asyncio.to_thread(open, path, "wb")
    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise _invalid_form("The form data is malformed.") from exc
            if collector.pending:
                size += len(collector.pending)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                data = bytes(collector.pending)
                collector.pending.clear()
                await asyncio.to_thread(handle.write, data)
        try:
            parser.finalize()
        except FormParserError as exc:
            raise _invalid_form("The form data is malformed.") from exc
        if not collector.files:
            raise ValidationFailed("Choose a video file to upload.", code=ContentError.FILE_MISSING,
                                   details={"field": file_field})
        if size == 0:
            raise _invalid("The file is empty.")
        ok = True
    finally:
        await asyncio.to_thread(handle.close)
        if not ok:
            path.unlink(missing_ok=True)
    return Received(path=path, filename=collector.filename, size=size, fields=collector.fields)


# --- probing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    format_name: str
    major_brand: str
    duration_ms: int
    video_codec: str
    pix_fmt: str
    width: int  # as displayed (rotation applied)
    height: int
    rotation: int
    audio_codec: str | None

    @property
    def is_mp4(self) -> bool:
        return "mp4" in self.format_name.split(",") and self.major_brand.strip() not in ("qt", "")

    @property
    def browser_ready(self) -> bool:
        """H.264 (8-bit 4:2:0) with AAC or no audio in an MP4: served as is (re-muxed)."""
        return (self.is_mp4 and self.video_codec == "h264" and self.pix_fmt in ("yuv420p", "yuvj420p")
                and self.audio_codec in (None, "aac"))


async def _run(args: list[str], seconds: float) -> tuple[int, bytes, bytes]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise MediaUnavailable("Video processing is not available on this server.") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), seconds)
    except (TimeoutError, asyncio.CancelledError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.shield(proc.wait())
        raise
    return proc.returncode or 0, out, err


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def _rotation(stream: dict[str, Any]) -> int:
    for item in stream.get("side_data_list") or []:
        if isinstance(item, dict) and "rotation" in item:
            value = _number(item["rotation"])
            if value is not None:
                return round(value) % 360
    value = _number((stream.get("tags") or {}).get("rotate"))
    return round(value) % 360 if value is not None else 0


def parse_probe(data: dict[str, Any]) -> Probe:
    """Read the probe's JSON (ffprobe's shape); anything that is not a single readable video → 422 invalid_video."""
    fmt = data.get("format")
    streams = data.get("streams")
    if not isinstance(fmt, dict) or not isinstance(streams, list):
        raise _invalid()
    format_name = str(fmt.get("format_name", ""))
    if not set(format_name.split(",")) & set(DEMUXERS.split(",")):
        raise _invalid()
    videos = [s for s in streams if isinstance(s, dict) and s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    audios = [s for s in streams if isinstance(s, dict) and s.get("codec_type") == "audio"]
    if not videos:
        raise _invalid("The file has no video track.")
    stream = videos[0]
    codec = str(stream.get("codec_name", ""))
    if codec not in VIDEO_CODECS:
        raise _invalid(f"The video codec {codec or 'unknown'!r} is not supported (use H.264, HEVC, VP8/VP9 or AV1).")
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
        raise _invalid(f"The picture must be between 16 and {MAX_SIDE} pixels on each side.")
    rotation = _rotation(stream)
    if rotation in (90, 270):
        width, height = height, width
    duration = _number(fmt.get("duration")) or _number(stream.get("duration"))
    if duration is None or duration <= 0:
        raise _invalid("The video has no duration.")
    audio_codec = str(audios[0].get("codec_name", "")) if audios else None
    if audio_codec is not None and audio_codec not in AUDIO_CODECS:
        audio_codec = "unsupported"
    brand = str((fmt.get("tags") or {}).get("major_brand", ""))
    return Probe(format_name=format_name, major_brand=brand, duration_ms=round(duration * 1000),
                 video_codec=codec, pix_fmt=str(stream.get("pix_fmt", "")), width=width, height=height,
                 rotation=rotation, audio_codec=audio_codec)


def _tool(*args: str) -> list[str]:
    """The command line of one piece of video work (mercato/content/transcoder.py)."""
    return [sys.executable, "-m", "mercato.content.transcoder", *args]


async def probe(path: Path, settings: Settings) -> Probe:
    try:
        code, out, _ = await _run(_tool("probe", str(path)), PROBE_TIMEOUT)
    except TimeoutError as exc:
        raise _invalid("The file could not be read in time.") from exc
    if code != 0:
        raise _invalid()
    try:
        data = json.loads(out)
    except ValueError as exc:
        raise _invalid() from exc
    if not isinstance(data, dict):
        raise _invalid()
    return parse_probe(data)


# --- rendition and poster -------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessedVideo:
    """The stored files (relative to ``media_dir``) and what the served file contains."""

    media_path: str
    poster_path: str | None
    width: int
    height: int
    duration_ms: int
    size_bytes: int
    video_codec: str
    audio_codec: str | None
    transcoded: bool
    container: str = "mp4"
    mime_type: str = "video/mp4"

    @property
    def paths(self) -> list[str]:
        return [p for p in (self.media_path, self.poster_path) if p]


_slots: asyncio.Semaphore | None = None


def _processing_slots() -> asyncio.Semaphore:
    global _slots
    if _slots is None:
        _slots = asyncio.Semaphore(PROCESSING_SLOTS)
    return _slots


def rendition_args(source: Path, target: Path, info: Probe) -> list[str]:
    """Browser-ready uploads are re-muxed as they are; anything else is re-encoded to H.264/AAC."""
    return _tool("rendition", str(source), str(target), "copy" if info.browser_ready else "encode")


def poster_args(source: Path, target: Path, duration_ms: int) -> list[str]:
    at = min(1.0, duration_ms / 2000)
    return _tool("poster", str(source), str(target), f"{at:.3f}")


async def process_upload(source: Path, settings: Settings) -> ProcessedVideo:
    """Probe ``source`` and make the served MP4 and the poster under ``media_dir/videos/``.

    422 ``invalid_video`` (not a readable video), 422 ``video_too_long``; on any failure the
    files made here are removed (``source`` stays the caller's)."""
    info = await probe(source, settings)
    if info.duration_ms > settings.max_video_seconds * 1000:
        raise ValidationFailed(
            f"Videos may be at most {settings.max_video_seconds // 60} min {settings.max_video_seconds % 60} s long.",
            code=ContentError.VIDEO_TOO_LONG, details={"max_seconds": settings.max_video_seconds,
                                            "duration_ms": info.duration_ms},
        )
    token = new_token()
    media_rel = f"{VIDEO_FOLDER}/{token}.mp4"
    poster_rel = f"{VIDEO_FOLDER}/{token}.jpg"
    target, poster = settings.media_dir / media_rel, settings.media_dir / poster_rel
    target.parent.mkdir(parents=True, exist_ok=True)
    ok = False
    try:
        budget = 60.0 + info.duration_ms / 1000 * (1 if info.browser_ready else 6)
        async with _processing_slots():
            try:
                code, _, err = await _run(rendition_args(source, target, info), budget)
            except TimeoutError as exc:
                raise MediaUnavailable("The video took too long to process; try a shorter clip.") from exc
            if code != 0 or not target.exists() or target.stat().st_size == 0:
                log.info("the video worker refused an upload: %s", err.decode("utf-8", "replace")[-500:])
                raise _invalid("The video could not be decoded.")
            result = await probe(target, settings)
            try:
                code, _, err = await _run(poster_args(target, poster, result.duration_ms), 60.0)
            except TimeoutError:
                code, err = -1, b"timeout"
        poster_kept: str | None = poster_rel
        if code != 0 or not poster.exists() or poster.stat().st_size == 0:
            log.warning("no poster frame for %s: %s", media_rel, err.decode("utf-8", "replace")[-500:])
            remove_files(settings.media_dir, [poster_rel])
            poster_kept = None
        processed = ProcessedVideo(
            media_path=media_rel, poster_path=poster_kept, width=result.width, height=result.height,
            duration_ms=result.duration_ms, size_bytes=target.stat().st_size,
            video_codec=result.video_codec,
            audio_codec=result.audio_codec, transcoded=not info.browser_ready,
        )
        ok = True
        return processed
    finally:
        if not ok:
            remove_files(settings.media_dir, [media_rel, poster_rel])
