"""``python -m tests.live.ingest.publish RTMP_URL``: publish a generated test stream until stdin closes.

PyAV encodes a moving picture (H.264, a keyframe a second) and a tone (AAC) and sends them as FLV
over RTMP at real time. Exit status 0 after a clean stop, 3 when the server refused the stream.
"""

from __future__ import annotations

import sys
import threading
import time
from fractions import Fraction

import av
import numpy as np

WIDTH, HEIGHT, FPS, RATE = 320, 240, 25, 44_100
REFUSED = 3


def publish(url: str, stopping: threading.Event) -> None:
    with av.open(url, "w", format="flv") as out:
        video = out.add_stream("libx264", rate=FPS,
                               options={"preset": "ultrafast", "tune": "zerolatency", "g": str(FPS)})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        out.start_encoding()
        print("publishing", flush=True)
        started, frames, samples = time.monotonic(), 0, 0
        while not stopping.is_set():
            picture = np.full((HEIGHT, WIDTH, 3), (frames * 7) % 256, dtype=np.uint8)
            picture[:, (frames * 4) % WIDTH] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = frames, Fraction(1, FPS)
            out.mux(video.encode(frame))
            count = RATE // FPS
            tone = (0.2 * np.sin(2 * np.pi * 440 * (samples + np.arange(count)) / RATE)).astype(np.float32)
            sound = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="fltp", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = RATE, samples, Fraction(1, RATE)
            out.mux(audio.encode(sound))
            samples += count
            frames += 1
            ahead = started + frames / FPS - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        out.mux(video.encode(None))
        out.mux(audio.encode(None))


def main() -> int:
    stopping = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stopping.set()), daemon=True).start()
    try:
        publish(sys.argv[1], stopping)
    except av.error.FFmpegError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main())
