"""FLV on stdin → HLS in a folder, with PyAV, in a child process of the ingest server.

``python -m mercato.live.ingest.packager FOLDER SEGMENT_SECONDS LIST_SIZE`` reads the FLV stream
the RTMP server writes to its stdin and remuxes it into FOLDER:

- ``seg_000000.ts``… MPEG-TS segments of about SEGMENT_SECONDS, cut on video keyframes;
- ``recording.m3u8``: every segment since the LIVE started (FFmpeg's HLS muxer, ``append_list``:
  a publisher that reconnects within the grace continues the numbering after an
  ``#EXT-X-DISCONTINUITY``); the replay is this list finalised (:mod:`mercato.live.replay`);
- ``index.m3u8``: the sliding live playlist, the last LIST_SIZE segments of the recording,
  rewritten (atomically) each time the recording gains a segment.

H.264 video and AAC audio are copied as they are; other codecs are re-encoded to H.264 (libx264,
``veryfast``, ``zerolatency``) and AAC. A child process keeps demuxing and muxing off the server's
event loop and away from its memory: a hostile stream can only crash or stall this process.
Exit status 0 when the input ended cleanly, 2 when it held no video, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import av
import av.container

SEGMENT = "seg_%06d.ts"
RECORDING, INDEX = "recording.m3u8", "index.m3u8"
NO_VIDEO = 2
# The FLV demuxer learns the codecs from the first tags: probing need not wait for more.
INPUT_OPTIONS = {"probesize": "65536", "analyzeduration": "1000000"}


def hls_options(segment_seconds: float, folder: Path) -> dict[str, str]:
    return {"hls_time": str(segment_seconds), "hls_list_size": "0",
            "hls_flags": "append_list+temp_file+independent_segments",
            "hls_segment_filename": str(folder / SEGMENT), "hls_allow_cache": "1"}


def sliding_playlist(recording: str, list_size: int) -> str:
    """The live playlist of the last ``list_size`` segments of ``recording``'s text: the media
    sequence and discontinuity sequence say where in the whole list they stand (RFC 8216 6.2.2)."""
    header: list[str] = []
    entries: list[tuple[bool, list[str]]] = []  # (after a discontinuity, its lines)
    pending: list[str] = []
    discontinuity = False
    for line in recording.splitlines():
        if not line or line == "#EXTM3U" or line == "#EXT-X-ENDLIST":
            continue
        if line.startswith(("#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-INDEPENDENT-SEGMENTS")):
            header.append(line)
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith(("#EXTINF", "#EXT-X-PROGRAM-DATE-TIME")):
            pending.append(line)
        elif not line.startswith("#"):
            # FFmpeg's append_list marks the very first segment too: nothing precedes it to break from.
            entries.append((discontinuity and bool(entries), [*pending, line]))
            pending, discontinuity = [], False
    first = max(0, len(entries) - list_size)
    out = ["#EXTM3U", *header, f"#EXT-X-MEDIA-SEQUENCE:{first}",
           f"#EXT-X-DISCONTINUITY-SEQUENCE:{sum(1 for disc, _ in entries[:first] if disc)}"]
    for disc, lines in entries[first:]:
        if disc:
            out.append("#EXT-X-DISCONTINUITY")
        out.extend(lines)
    return "\n".join(out) + "\n"


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


class Playlists:
    """Keeps ``index.m3u8`` in step with the recording the HLS muxer writes."""

    def __init__(self, folder: Path, list_size: int) -> None:
        self.recording, self.index, self.list_size = folder / RECORDING, folder / INDEX, list_size
        self.seen = -1

    def refresh(self) -> None:
        try:
            stamp = self.recording.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if stamp != self.seen:
            self.seen = stamp
            write_atomically(self.index, sliding_playlist(self.recording.read_text(), self.list_size))


class PipeInput:
    """Standard input as PyAV reads it, but answering each read with what has arrived: a
    buffered ``read(n)`` would wait for ``n`` bytes (seconds at a low bit rate) before the
    demuxer sees a frame."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, size: int) -> bytes:
        return os.read(self.fd, size)


def package(source: Any, folder: Path, segment_seconds: float, list_size: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    playlists = Playlists(folder, list_size)
    with av.open(source, "r", format="flv", options=INPUT_OPTIONS) as container:
        video = next((s for s in container.streams.video), None)
        if video is None:
            return NO_VIDEO
        audio = next((s for s in container.streams.audio), None)
        with av.open(str(folder / RECORDING), "w", format="hls",
                     options=hls_options(segment_seconds, folder)) as out:
            inputs = [s for s in (video, audio) if s is not None]
            outputs: dict[int, Any] = {}
            encoders: dict[int, Any] = {}
            for stream in inputs:
                copy = stream.codec_context.name in ("h264", "aac")
                if copy:
                    outputs[stream.index] = out.add_stream_from_template(stream)
                elif stream.type == "video":
                    encoders[stream.index] = out.add_stream(
                        "libx264", rate=stream.average_rate or 25,
                        options={"preset": "veryfast", "tune": "zerolatency",
                                 "g": str(max(1, round(float(stream.average_rate or 25) * segment_seconds)))})
                    encoders[stream.index].width = stream.codec_context.width
                    encoders[stream.index].height = stream.codec_context.height
                    encoders[stream.index].pix_fmt = "yuv420p"
                    encoders[stream.index].time_base = stream.time_base
                else:
                    encoders[stream.index] = out.add_stream("aac", rate=stream.codec_context.sample_rate or 44100)
            for packet in container.demux(inputs):
                if packet.dts is None:
                    continue
                index = packet.stream.index
                if index in outputs:
                    packet.stream = outputs[index]
                    out.mux(packet)
                else:
                    for frame in packet.decode():
                        if isinstance(frame, av.VideoFrame):
                            frame.pict_type = av.video.frame.PictureType.NONE  # the encoder chooses
                        out.mux(encoders[index].encode(frame))
                # The muxer writes a segment when the interleaver hands it the next keyframe, a
                # packet or two after we muxed it: look after every packet (one stat call).
                playlists.refresh()
            for encoder in encoders.values():
                out.mux(encoder.encode(None))
    playlists.refresh()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m mercato.live.ingest.packager FOLDER SEGMENT_SECONDS LIST_SIZE", file=sys.stderr)
        return 1
    folder, segment_seconds, list_size = Path(argv[0]), float(argv[1]), int(argv[2])
    try:
        return package(PipeInput(sys.stdin.fileno()), folder, segment_seconds, list_size)
    except (av.error.FFmpegError, OSError) as exc:
        print(f"packager: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
