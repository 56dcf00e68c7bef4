"""Throw-away servers for the test suite: PostgreSQL (initdb in a temporary folder on a free
port) and Redis, started when their binaries exist, plus the app itself on a real socket.

The suite needs only Python and npm. Three system packages add to it when installed — see
:data:`SYSTEM_PACKAGES`; without one, what needs it is skipped and the run ends with one line
saying what was skipped and how to install it, unless its ``MERCATO_REQUIRE_*`` variable is 1
(``.ci/run`` sets them all), which makes a missing package fail the run instead."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import httpx
import pytest
import uvicorn

T = TypeVar("T")


@dataclass(frozen=True)
class SystemPackage:
    enables: str  # what the suite runs with it
    binary: str  # what is looked up (on PATH; PostgreSQL also in Debian's /usr/lib/postgresql/*/bin)
    package: str  # Debian's package name
    require: str  # the variable that makes its absence fail the run


SYSTEM_PACKAGES = {
    "postgres": SystemPackage("the PostgreSQL pass", "initdb and pg_ctl", "postgresql", "MERCATO_REQUIRE_POSTGRES"),
    "redis": SystemPackage("the Redis tests", "redis-server", "redis-server", "MERCATO_REQUIRE_REDIS"),
    "browser": SystemPackage("the browser tests", "chromium", "chromium", "MERCATO_REQUIRE_BROWSER"),
    "ffmpeg": SystemPackage("the tests that publish with the ffmpeg CLI", "ffmpeg", "ffmpeg", "MERCATO_REQUIRE_FFMPEG"),
}
def _reason(need: SystemPackage) -> str:
    return f"{need.enables} need {need.binary} (apt-get install {need.package})"


def required(key: str) -> bool:
    return os.environ.get(SYSTEM_PACKAGES[key].require) == "1"


def missing(key: str) -> NoReturn:
    """Skip the calling test for want of a system package (fail it when that package is required)."""
    need = SYSTEM_PACKAGES[key]
    if required(key):
        pytest.fail(f"{need.require}=1 but {_reason(need)}", pytrace=False)
    pytest.skip(_reason(need))


def skipped_summary(reasons: list[str]) -> str | None:
    """One line for the skip reasons of a run: what was skipped for want of which package, and the
    command that installs them (None when nothing was)."""
    counts = {key: sum(_reason(need) in reason for reason in reasons) for key, need in SYSTEM_PACKAGES.items()}
    wanted = [key for key, n in counts.items() if n]
    if not wanted:
        return None
    parts = [f"{SYSTEM_PACKAGES[k].enables} ({counts[k]} skipped: no {SYSTEM_PACKAGES[k].binary})" for k in wanted]
    packages = " ".join(SYSTEM_PACKAGES[k].package for k in wanted)
    return f"Skipped for want of system packages: {'; '.join(parts)}. Install them with: apt-get install {packages}"


def chromium() -> str | None:
    return shutil.which("chromium")


def postgres_available() -> bool:
    return bool(_pg_bin("initdb") and _pg_bin("pg_ctl"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _as_user_prefix() -> tuple[list[str], str | None]:
    """initdb refuses to run as root: run the server as the 'postgres' (or 'nobody') user then."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            runner = shutil.which("runuser") or shutil.which("su")
            if runner and runner.endswith("runuser"):
                return [runner, "-u", name, "--"], name
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an asyncpg URL of a fresh PostgreSQL cluster; everything is deleted afterwards."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl) not found")
    prefix, user = _as_user_prefix()
    root = Path(tempfile.mkdtemp(prefix="mercato-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if user:
        info = pwd.getpwnam(user)
        for path in (root, sock):
            os.chown(path, info.pw_uid, info.pw_gid)
    port = free_port()
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--no-instructions"], check=True, capture_output=True)
        options = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB")
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"],
                       check=True, capture_output=True)
        psql = _pg_bin("psql")
        createdb = _pg_bin("createdb")
        if createdb:
            subprocess.run([createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mercato"],
                           check=True, capture_output=True)
        elif psql:
            subprocess.run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c",
                            "CREATE DATABASE mercato"], check=True, capture_output=True)
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/mercato"
    finally:
        with contextlib.suppress(Exception):
            subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                           timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if not binary:
        yield None
        return
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class LiveServer:
    """The real app served by uvicorn on a free port, in a background thread."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                access_log=False)  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.05)

    def call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work()`` on the server's event loop (where the app's tasks and connections live)
        from any thread, and return its result."""
        loop = self.server.servers[0].get_loop()
        return asyncio.run_coroutine_threadsafe(_call(work), loop).result()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


@contextlib.contextmanager
def app_process(
    database_url: str, *, fault: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """The app in a process of its own (a real uvicorn), on the given database: for load tests
    that must not share the test's interpreter, and for crash tests whose fault point kills it."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "MERCATO_IDEMPOTENCY_LOCK_SECONDS": "1",
           "MERCATO_RUN_JOBS": "false", **(extra_env or {})}
    env.pop("MERCATO_FAULT_POINT", None)
    if fault:
        env["MERCATO_FAULT_POINT"] = fault
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "mercato.asgi:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log",
                             "--timeout-keep-alive", "120", "--backlog", "4096"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("app process did not start")
            time.sleep(0.1)
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)
