"""An RTMP ingest server of the test's own (a free port, the test database), and real publishers."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.live import service
from mercato.live.ingest.server import IngestServer, service_hooks
from mercato.live.models import Live

REPO = Path(__file__).resolve().parents[3]
WAIT_SECONDS = 20.0  # the bound of every wait in these tests


class Ingest:
    """The ingest server on its own event loop in a background thread (as in the app process)."""

    def __init__(self, database_url: str, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.db = Database(database_url, pool=False)
        self.server = IngestServer(settings, service_hooks(self.db), port=0)
        assert self.call(self.server.start())

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.server.port}/live"

    def publishing(self) -> set[int]:
        async def read() -> set[int]:
            return set(self.server.publishing)
        result: set[int] = self.call(read())
        return result

    def close(self) -> None:
        self.call(self.server.stop())
        self.call(self.db.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def ingest(clean_db: str, settings: Settings) -> Iterator[Ingest]:
    # Ids start again after the tables are emptied: a previous test's folders must not be taken for this one's.
    shutil.rmtree(settings.media_dir / "live", ignore_errors=True)
    server = Ingest(clean_db, settings)
    try:
        yield server
    finally:
        server.close()


@dataclass
class Hosted:
    user_id: int
    key: str
    live_id: int


@pytest.fixture
def make_live(db_run: Callable[..., Any], make_user: Callable[..., dict[str, Any]],
              settings: Settings) -> Callable[[], Hosted]:
    """A host eligible to go LIVE, their stream key, and a scheduled LIVE it feeds."""

    def create() -> Hosted:
        host = make_user()

        async def go(db: AsyncSession) -> Hosted:
            user = await db.get(User, host["user"]["id"])
            assert user is not None
            user.is_creator, user.followers_count = True, settings.live_host_min_followers
            key = await service.issue_stream_key(db, user)
            live = Live(host_id=user.id, title="Spring haul", status="scheduled")
            db.add(live)
            await db.flush()
            return Hosted(user.id, key, live.id)

        result: Hosted = db_run(go)
        return result

    return create


def live_row(db_run: Callable[..., Any], live_id: int) -> Live:
    async def read(db: AsyncSession) -> Live:
        found = await db.get(Live, live_id)
        assert found is not None
        db.expunge(found)
        return found

    result: Live = db_run(read)
    return result


def wait_for(check: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {seconds:.0f} s")
        time.sleep(0.2)


class Publisher:
    """A real RTMP publisher in a process of its own (``tests/live/ingest/publish.py``: PyAV
    encoding a generated picture and tone to H.264/AAC, sent as FLV at real time) until stopped.
    A process, not a thread: FFmpeg's blocking network calls must not share the test's GIL with
    the ingest server they talk to."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.live.ingest.publish", url],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        cwd=REPO)
        self.output = ""

    def stop(self) -> int:
        """Stop publishing (the publisher flushes and disconnects); its exit status."""
        return self.finished(stop=True)

    def finished(self, *, stop: bool = False) -> int:
        """Wait (bounded) for the publisher to exit by itself (a refused publish); its exit status."""
        try:
            # Closing its stdin (communicate does, after the input) tells the publisher to stop.
            out, err = self.process.communicate(input=b"" if stop else None, timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            pytest.fail(f"the publisher did not stop: {err.decode(errors='replace')[-2000:]}")
        self.output = out.decode(errors="replace") + err.decode(errors="replace")
        return self.process.returncode

    def running(self) -> bool:
        return self.process.poll() is None


def has_video(path: Path) -> bool:
    """True when ``path`` (a segment, a playlist, a clip) decodes to at least one video frame."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            return False
        for _frame in container.decode(video=0):
            return True
    return False
