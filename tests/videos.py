"""Real video files for tests, made and inspected with PyAV (FFmpeg's libraries from its wheel), so
the video tests need no ``ffmpeg`` binary."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np


def make_clip(target: Path, *, video: str = "libx264", audio: str | None = "aac", size: tuple[int, int] = (320, 568),
              seconds: float = 2.0, rate: int = 24, pix_fmt: str = "yuv420p", audio_rate: int = 44_100,
              options: dict[str, str] | None = None, container_options: dict[str, str] | None = None) -> Path:
    """A test pattern (moving colour bars) with a 440 Hz tone, like ffmpeg's testsrc and sine."""
    width, height = size
    with av.open(str(target), mode="w", options=container_options or {}) as out:
        v = out.add_stream(video, rate=rate, options=options or {})
        v.width, v.height, v.pix_fmt = width, height, pix_fmt
        a = None
        if audio is not None:
            a = out.add_stream(audio, rate=audio_rate, layout="mono")
        bars = np.repeat((np.arange(width) * 8 // width * 32).astype(np.uint8)[None, :], height, axis=0)
        frames = round(seconds * rate)
        for i in range(frames):
            rgb = np.stack([np.roll(bars, i * 4, axis=1), np.roll(bars, -i * 3, axis=1),
                            np.full_like(bars, (i * 9) % 256)], axis=2)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, rate)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        if a is not None:
            samples = round(seconds * audio_rate)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / audio_rate)).astype(np.float32)
            chunk = 1024
            for start in range(0, samples, chunk):
                piece = av.AudioFrame.from_ndarray(tone[None, start:start + chunk], format="flt", layout="mono")
                piece.sample_rate, piece.pts = audio_rate, start
                out.mux(a.encode(piece))
            out.mux(a.encode(None))
    return target


def make_image(target: Path, size: tuple[int, int] = (64, 64)) -> Path:
    """A PNG picture under ``target``'s name (whatever its extension)."""
    from PIL import Image

    Image.new("RGB", size, (200, 40, 90)).save(target, format="PNG")
    return target


def probe(path: Path) -> dict[str, Any]:
    """The facts tests check of a video file, in ffprobe's shape (``format`` and ``streams``)."""
    with av.open(str(path)) as container:
        streams = []
        for s in container.streams:
            entry: dict[str, Any] = {"codec_type": s.type, "codec_name": s.codec_context.codec.canonical_name,
                                     "nb_frames": s.frames, "bit_rate": s.codec_context.bit_rate}
            if s.type == "video":
                entry.update(width=s.codec_context.width, height=s.codec_context.height,
                             pix_fmt=s.codec_context.pix_fmt)
            streams.append(entry)
        duration = container.duration / av.time_base if container.duration is not None else None
        return {"format": {"format_name": container.format.name, "duration": duration}, "streams": streams}
