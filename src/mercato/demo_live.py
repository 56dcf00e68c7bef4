"""The demo LIVE: a demo creator really on air, fed through the real RTMP ingest.

With ``mercato serve --demo`` (``MERCATO_LIVE_DEMO=1``), the app process that runs the ingest
also runs :class:`DemoPublisher`: it makes sure ``creator1@demo.example.com`` has a LIVE on air
or scheduled (creating one, ``is_demo=True``), gives them a fresh stream key, and starts
``python -m mercato.demo_live SOURCE RTMP_URL``: a child process that loops a short demo clip
into the ingest at real time, exactly as OBS would. The clip is rendered once (the demo clips'
renderer, 360×640 H.264/AAC) and then only copied: no encoding while on air, so its CPU is
a few percent of a core. If the LIVE ends (an operator ends it) or the child stops, a new LIVE
is prepared and the child restarted after :data:`RESTART_SECONDS`; the child stops with the app.

A child process, not a thread: FFmpeg's blocking network calls would otherwise share the GIL with
the very event loop that serves the ingest it talks to.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import sys
import threading
import time
from pathlib import Path

import av

from mercato import demo_repository as dr
from mercato.accounts.models import User
from mercato.config import Settings
from mercato.demo_clips import render_clip
from mercato.demo_videos import CHORDS, DOMAIN, ClipSpec
from mercato.kit.db import Database
from mercato.live import repository as live_repository
from mercato.live import service as live_service
from mercato.live.models import Live

log = logging.getLogger("mercato.demo_live")

HOST_EMAIL = f"creator1@{DOMAIN}"
TITLE = "Spring haul LIVE (demo)"
RESTART_SECONDS = 10.0
STOP_SECONDS = 10.0
SOURCE = ClipSpec(title="Spring haul: LIVE from the studio", price="", badge="LIVE", shop="Mercato LIVE",
                  color="#c2185b", hook="ON AIR", image=None, duration=8.0, motion=0, chord=CHORDS[0])


def source_clip(settings: Settings) -> Path:
    """The looped clip, rendered on first use (a second or two of CPU) and kept in the media folder."""
    folder = settings.media_dir / "live" / "demo-source"
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / f"{SOURCE.key}.mp4"
    if not clip.exists():
        partial = folder / f".{SOURCE.key}.partial.mp4"
        render_clip(SOURCE, settings.media_dir, partial, folder / f"{SOURCE.key}.jpg")
        partial.replace(clip)
    return clip


def ingest_url(settings: Settings, port: int) -> str:
    """The ingest as this machine reaches it (a wildcard bind is reached on the loopback)."""
    try:
        wildcard = ipaddress.ip_address(settings.rtmp_host).is_unspecified
    except ValueError:  # a host name
        wildcard = False
    return f"rtmp://{'127.0.0.1' if wildcard else settings.rtmp_host}:{port}/live"


async def prepare(db: Database) -> str | None:
    """A fresh stream key for the demo host, whose LIVE (on air, else scheduled, else a new demo
    one) the key feeds; None without a demo world."""
    async with db.unit_of_work() as session:
        host_id = await dr.user_id_by_email(session, HOST_EMAIL)
        host = None if host_id is None else await session.get(User, host_id)
        if host is None:
            return None
        if await live_repository.current_live_of(session, host.id) is None:
            await live_repository.add(session, Live(host_id=host.id, title=TITLE, status="scheduled", is_demo=True))
        return await live_service.issue_stream_key(session, host)


class DemoPublisher:
    """Keeps the demo LIVE on air while the app runs (started and stopped by the app's lifespan)."""

    def __init__(self, db: Database, settings: Settings, port: int) -> None:
        self.db, self.settings, self.port = db, settings, port
        self.task: asyncio.Task[None] | None = None
        self.process: asyncio.subprocess.Process | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="demo-live")

    async def _run(self) -> None:
        while True:
            try:
                clip = await asyncio.to_thread(source_clip, self.settings)
                key = await prepare(self.db)
                if key is None:
                    log.info("no demo world: the demo LIVE does not start")
                    return
                self.process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "mercato.demo_live", str(clip),
                    f"{ingest_url(self.settings, self.port)}/{key}", stdin=asyncio.subprocess.PIPE)
                await self.process.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("demo LIVE publisher failed; restarting")
            await asyncio.sleep(RESTART_SECONDS)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        process = self.process
        if process is not None and process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()  # the child stops publishing when its stdin closes
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()


def loop_into(source: Path, url: str, stopping: threading.Event) -> None:
    """Send ``source`` (H.264/AAC) to ``url`` as FLV, copied, looped, paced at real time."""
    with av.open(str(source)) as clip, av.open(url, "w", format="flv") as out:
        inputs = [clip.streams.video[0], *clip.streams.audio[:1]]
        outputs = {stream.index: out.add_stream_from_template(stream) for stream in inputs}
        offset: float | None = None  # seconds added to the clip's timestamps on this loop
        started = time.monotonic()
        while not stopping.is_set():
            clip.seek(0)
            first = end = None
            for packet in clip.demux(inputs):
                if packet.dts is None or packet.pts is None:
                    continue
                at = float(packet.dts * packet.time_base)
                first = at if first is None else first
                if offset is None:
                    offset = -at  # the stream starts at 0
                end = max(end or at, at + float((packet.duration or 0) * packet.time_base))
                if stopping.wait(max(0.0, started + at + offset - time.monotonic())):
                    return
                shift = round(offset / packet.time_base)
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                packet.stream = outputs[packet.stream.index]
                out.mux(packet)
            if first is None or end is None or offset is None:
                return
            offset += end - first  # the next loop starts where this one ended


def main(argv: list[str]) -> int:
    """``python -m mercato.demo_live SOURCE RTMP_URL``: publish until stdin closes."""
    stopping = threading.Event()

    def until_stdin_closes() -> None:
        sys.stdin.read()
        stopping.set()

    threading.Thread(target=until_stdin_closes, daemon=True).start()
    try:
        loop_into(Path(argv[0]), argv[1], stopping)
    except av.error.FFmpegError as exc:
        print(f"demo LIVE publisher: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
