"""The video work of an upload — probe, served MP4, poster — done with PyAV, in a child process.

PyAV's wheels carry FFmpeg's libraries (H.264 through libx264, AAC, VP8/VP9, AV1 through dav1d…),
so a machine with only Python can accept videos: no ``ffmpeg`` binary is needed. The work still
runs in a process of its own (``python -m mercato.content.transcoder …``, started by
:mod:`mercato.content.media`): a decoder fed a hostile file can only crash or hang that process,
which the server then kills at its deadline; the event loop and the server's memory are never at
stake, and the GIL is not held by frame loops while requests wait.

Commands (exit status 0 on success, 2 when the input is not a video we read, 1 otherwise):

- ``probe FILE``: prints ffprobe-shaped JSON (``format`` and ``streams``, with the fields
  :func:`mercato.content.media.parse_probe` reads), after decoding the first video frame;
- ``rendition SOURCE TARGET copy|encode``: the served MP4 (``+faststart``, no metadata): the first
  video stream and the first audio stream either copied as they are, or re-encoded to H.264 (high
  profile, CRF 23, 4:2:0, the long side at most 1920 px, turned upright) and AAC (stereo, 128 kb/s);
- ``poster SOURCE TARGET SECONDS``: the first frame at or after ``SECONDS``, upright, within
  720×1280, as a JPEG.

Only the MP4/MOV and Matroska/WebM demuxers and the ``file`` protocol are allowed
(``format_whitelist``, ``protocol_whitelist``), so a playlist or another text file disguised as a
video is refused before anything is decoded and cannot make FFmpeg open other files.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import numpy as np
from av.audio.resampler import AudioResampler
from av.video.frame import VideoFrame
from numpy.typing import NDArray

DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
RENDITION_LONG_SIDE = 1920
POSTER_BOX = (720, 1280)  # (landscape width, portrait height) limits, as the rendition's poster
NOT_A_VIDEO = 2


def open_input(path: Path) -> av.container.InputContainer:
    return av.open(f"file:{path}", mode="r",
                   options={"format_whitelist": DEMUXERS, "protocol_whitelist": "file"})


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> VideoFrame | None:
    for frame in container.decode(stream):
        return frame
    return None


def probe(path: Path) -> dict[str, Any]:
    with open_input(path) as container:
        streams: list[dict[str, Any]] = []
        first_video: av.video.stream.VideoStream | None = None
        for stream in container.streams:
            entry: dict[str, Any] = {"index": stream.index, "codec_type": stream.type,
                                     "tags": dict(stream.metadata)}
            codec = stream.codec_context.codec if stream.codec_context is not None else None
            entry["codec_name"] = codec.canonical_name if codec is not None else ""
            if stream.duration is not None and stream.time_base is not None:
                entry["duration"] = str(float(stream.duration * stream.time_base))
            if isinstance(stream, av.video.stream.VideoStream):
                attached = bool(stream.disposition & av.stream.Disposition.attached_pic)
                entry.update(width=stream.codec_context.width, height=stream.codec_context.height,
                             pix_fmt=stream.codec_context.pix_fmt or "", disposition={"attached_pic": int(attached)})
                if first_video is None and not attached:
                    first_video = stream
            streams.append(entry)
        if first_video is not None:
            frame = _first_frame(container, first_video)
            if frame is None:
                raise av.error.InvalidDataError(0, "no decodable video frame")
            if frame.rotation:
                streams[first_video.index]["side_data_list"] = [{"rotation": frame.rotation}]
        fmt: dict[str, Any] = {"format_name": container.format.name, "tags": dict(container.metadata)}
        if container.duration is not None:
            fmt["duration"] = str(container.duration / av.time_base)
        return {"format": fmt, "streams": streams}


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Scale (width, height) so the long side is at most ``long_side`` (never up), even sides."""
    scale = min(1.0, long_side / max(width, height))
    return _even(width * scale), _even(height * scale)


def upright(frame: VideoFrame) -> VideoFrame:
    """The frame turned as its display matrix says (what players do; ffmpeg's autorotate)."""
    turns = round(frame.rotation / 90) % 4  # counter-clockwise quarter turns
    if not turns:
        return frame
    pixels: NDArray[np.uint8] = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), turns))
    turned = VideoFrame.from_ndarray(pixels, format="rgb24")
    turned.pts, turned.time_base = frame.pts, frame.time_base
    return turned


def rendition(source: Path, target: Path, mode: str) -> None:
    with open_input(source) as container, av.open(f"file:{target}", mode="w", format="mp4",
                                                   options={"movflags": "+faststart"}) as out:
        videos = [s for s in container.streams.video
                  if not s.disposition & av.stream.Disposition.attached_pic]
        if not videos:
            raise av.error.InvalidDataError(0, "no video stream")
        video = videos[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        if mode == "copy":
            _copy(container, out, video, audio)
        else:
            _encode(container, out, video, audio)


def _copy(container: av.container.InputContainer, out: av.container.OutputContainer,
          video: av.video.stream.VideoStream, audio: av.audio.stream.AudioStream | None) -> None:
    pairs: dict[int, Any] = {video.index: out.add_stream_from_template(video)}
    if audio is not None:
        pairs[audio.index] = out.add_stream_from_template(audio)
    for target in pairs.values():
        target.metadata.clear()
    for packet in container.demux([s for s in (video, audio) if s is not None]):
        if packet.dts is None:
            continue
        packet.stream = pairs[packet.stream.index]
        out.mux(packet)


def _encode(container: av.container.InputContainer, out: av.container.OutputContainer,
            video: av.video.stream.VideoStream, audio: av.audio.stream.AudioStream | None) -> None:
    rate: Fraction = video.average_rate or video.guessed_rate or Fraction(30)
    v_out = out.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "23", "profile": "high"})
    v_out.pix_fmt = "yuv420p"
    v_out.codec_context.thread_count = 2
    v_out.codec_context.time_base = video.time_base or Fraction(1, 90_000)
    a_out = None
    resampler = None
    if audio is not None:
        a_out = out.add_stream("aac", rate=48_000, layout="stereo")
        a_out.bit_rate = 128_000
        resampler = AudioResampler(format="fltp", layout="stereo", rate=48_000)
    sized = False
    first_pts: int | None = None
    last_pts = -1
    audio_pts = 0
    for frame in container.decode(*[s for s in (video, audio) if s is not None]):
        if isinstance(frame, VideoFrame):
            if frame.pts is None:
                continue
            if first_pts is None:
                first_pts = frame.pts
            pts = frame.pts - first_pts
            if pts <= last_pts:
                continue
            last_pts = pts
            picture = upright(frame)
            if not sized:
                v_out.width, v_out.height = fit(picture.width, picture.height, RENDITION_LONG_SIDE)
                sized = True
            encoded = picture.reformat(width=v_out.width, height=v_out.height, format="yuv420p")
            encoded.pts, encoded.time_base = pts, video.time_base
            out.mux(v_out.encode(encoded))
        elif isinstance(frame, av.AudioFrame) and a_out is not None and resampler is not None:
            frame.pts = None
            for chunk in resampler.resample(frame):
                chunk.pts = audio_pts
                audio_pts += chunk.samples
                out.mux(a_out.encode(chunk))
    if a_out is not None and resampler is not None:
        for chunk in resampler.resample(None):
            chunk.pts = audio_pts
            audio_pts += chunk.samples
            out.mux(a_out.encode(chunk))
        out.mux(a_out.encode(None))
    if not sized:
        raise av.error.InvalidDataError(0, "no decodable video frame")
    out.mux(v_out.encode(None))


def poster(source: Path, target: Path, at_seconds: float) -> None:
    with open_input(source) as container:
        video = container.streams.video[0]
        if at_seconds > 0 and video.time_base is not None:
            container.seek(int(at_seconds / video.time_base), stream=video, backward=True)
        chosen = None
        for frame in container.decode(video):
            chosen = frame
            if frame.time is None or frame.time >= at_seconds - 1e-3:
                break
        if chosen is None:
            raise av.error.InvalidDataError(0, "no decodable video frame")
        picture = upright(chosen)
        w, h = picture.width, picture.height
        limit = POSTER_BOX[0] if w >= h else POSTER_BOX[1]
        size = fit(w, h, max(limit, 2)) if (w >= h and w > limit) or (h > w and h > limit) else (w, h)
        image = picture.to_image()  # type: ignore[no-untyped-call]
        if size != (w, h):
            image = image.resize(size)
        image.save(target, format="JPEG", quality=85)


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 2 and argv[0] == "probe":
            print(json.dumps(probe(Path(argv[1]))))
        elif len(argv) == 4 and argv[0] == "rendition" and argv[3] in ("copy", "encode"):
            rendition(Path(argv[1]), Path(argv[2]), argv[3])
        elif len(argv) == 4 and argv[0] == "poster":
            poster(Path(argv[1]), Path(argv[2]), float(argv[3]))
        else:
            print("usage: python -m mercato.content.transcoder probe FILE | rendition SOURCE TARGET copy|encode"
                  " | poster SOURCE TARGET SECONDS", file=sys.stderr)
            return 1
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return NOT_A_VIDEO
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
