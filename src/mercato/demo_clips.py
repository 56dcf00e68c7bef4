"""One demo clip and its poster, drawn with Pillow and encoded with PyAV (no ``ffmpeg`` binary).

A clip (:class:`mercato.demo_videos.ClipSpec`) is a vertical product showcase: the product's
picture drifting and zooming over a gradient in its shop's colour, the shop's name, a hook line,
the product's name sliding in, its price fading in, a badge, and a soft chord. Frames are drawn
with Pillow (the text layers once, then composited with their fade per frame), encoded to H.264
(libx264, main profile, 4:2:0, a capped bit rate so that files stay small) and the chord to AAC,
muxed into an MP4 with ``+faststart``; the poster is the frame at :data:`POSTER_AT`, as a JPEG.

:func:`render_clip` is CPU work of a second or two per clip: the demo seeding runs it in worker
processes, one per core.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from mercato.demo_videos import ClipSpec

#: Debian's fonts-dejavu-core; without it, Pillow's own scalable default font.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
WIDTH, HEIGHT, FPS = 360, 640, 24
POSTER_AT = 1.25  # seconds: the title and price have faded in by then
AUDIO_RATE = 22_050


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if FONT.exists():
        return ImageFont.truetype(str(FONT), size)
    return ImageFont.load_default(size=size)


def gradient(color: str) -> Image.Image:
    """A vertical gradient in the shop's colour, lighter at the top."""
    base = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    shade = 1.05 - 0.7 * np.arange(HEIGHT) / HEIGHT
    column = np.clip(base[None, :] * shade[:, None], 0, 255).astype(np.uint8)
    return Image.fromarray(np.repeat(column[:, None, :], WIDTH, axis=1), "RGB")


def text_layer(text: str, size: int, *, fill: tuple[int, int, int, int] = (255, 255, 255, 255),
               box: tuple[int, int, int, int] | None = None, border: int = 0) -> Image.Image:
    """The text (and its box, if any) on a transparent layer of just its size."""
    face = font(size)
    left, top, right, bottom = face.getbbox(text)
    width, height = int(right - left) + 2 * border, int(bottom - top) + 2 * border
    layer = Image.new("RGBA", (max(1, width), max(1, height)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if box is not None:
        draw.rectangle([0, 0, width, height], fill=box)
    draw.text((border - left, border - top), text, font=face, fill=fill)
    return layer


def faded(layer: Image.Image, alpha: float) -> Image.Image:
    if alpha >= 1.0:
        return layer
    channel = layer.getchannel("A").point(lambda a: int(a * max(0.0, alpha)))
    out = layer.copy()
    out.putalpha(channel)
    return out


def _wrap(title: str, width: int = 17) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in title.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return lines[:2]


def _picture(path: Path | None) -> Image.Image | None:
    """The product's picture with a white frame, 400 px wide (None when there is none)."""
    if path is None or not path.exists():
        return None
    with Image.open(path) as source:
        image = source.convert("RGB")
    framed = Image.new("RGB", (image.width + 16, image.height + 16), (255, 255, 255))
    framed.paste(image, (8, 8))
    return framed.resize((400, max(2, round(framed.height * 400 / framed.width / 2) * 2)), Image.Resampling.BILINEAR)


def frames(spec: ClipSpec, media_dir: Path) -> list[Image.Image]:
    """Every frame of the clip, in order."""
    d = spec.duration
    background = gradient(spec.color)
    picture = _picture(media_dir / spec.image if spec.image else None)
    lines = _wrap(spec.title)
    top = 472 if len(lines) == 2 else 490
    shop = text_layer(spec.shop.upper(), 17, fill=(255, 255, 255, 230))
    hook = text_layer(spec.hook, 21, box=(0, 0, 0, 77), border=8)
    titles = [text_layer(line, 29) for line in lines]
    price = text_layer(spec.price, 42 if len(spec.price) <= 8 else 34, box=(0, 0, 0, 89), border=10)
    price_y = top + 36 * len(lines) + 12
    badge = text_layer(spec.badge, 20, fill=(0, 0, 0, 255), box=(255, 214, 10, 242), border=6) if spec.badge else None
    out: list[Image.Image] = []
    for n in range(round(d * FPS)):
        t = n / FPS
        frame = background.convert("RGBA")
        if picture is not None:
            grow = {0: 256 + 44 * t / d, 1: 300 - 44 * t / d}.get(spec.motion, 280.0)
            w = max(2, int(grow) // 2 * 2)
            h = max(2, round(picture.height * w / picture.width / 2) * 2)
            x = (WIDTH - w) / 2 + (22 * math.sin(2 * math.pi * t / d) if spec.motion == 2 else 0.0)
            y = 300 - h / 2 + 5 * math.sin(2 * math.pi * t / d)
            frame.paste(picture.resize((w, h), Image.Resampling.BILINEAR), (round(x), round(y)))

        def put(layer: Image.Image, y: float, alpha: float = 1.0, frame: Image.Image = frame) -> None:
            frame.alpha_composite(faded(layer, alpha), ((WIDTH - layer.width) // 2, round(y)))

        put(shop, 34)
        put(hook, 66 - 8)
        for i, title in enumerate(titles):
            put(title, top + 36 * i + max(0.0, 24 - 48 * t), min(1.0, t / 0.6))
        put(price, price_y - 10, min(1.0, max(0.0, (t - 0.4) / 0.5)))
        if badge is not None:
            put(badge, 112 - 6)
        out.append(frame.convert("RGB"))
    return out


def chord(spec: ClipSpec) -> np.ndarray:
    """The clip's soft chord (mono float samples), faded in and out."""
    d = spec.duration
    t = np.arange(round(d * AUDIO_RATE)) / AUDIO_RATE
    a, b, c = spec.chord
    envelope = np.minimum(1, t / 0.4) * np.minimum(1, (d - t) / 0.6)
    wave = (0.10 * np.sin(2 * np.pi * a * t) * (0.7 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
            + 0.06 * np.sin(2 * np.pi * b * t) + 0.06 * np.sin(2 * np.pi * c * t))
    return (envelope * wave).astype(np.float32)


def render_clip(spec: ClipSpec, media_dir: Path, out_video: Path, out_poster: Path) -> None:
    """Write the clip (H.264/AAC MP4, ``+faststart``) and its poster (JPEG)."""
    pictures = frames(spec, media_dir)
    with av.open(str(out_video), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=FPS, options={
            "preset": "veryfast", "crf": "30", "maxrate": "500k", "bufsize": "1000k", "profile": "main"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.codec_context.gop_size = FPS * 2
        video.codec_context.thread_count = 1
        audio = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        audio.bit_rate = 48_000
        for n, picture in enumerate(pictures):
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        samples = chord(spec)
        for start in range(0, len(samples), 1024):
            piece = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="flt", layout="mono")
            piece.sample_rate, piece.pts = AUDIO_RATE, start
            out.mux(audio.encode(piece))
        out.mux(audio.encode(None))
    pictures[min(len(pictures) - 1, int(POSTER_AT * FPS))].save(out_poster, format="JPEG", quality=85)
