"""The RTMP ingest server: publishers (OBS, FFmpeg) in, one HLS packager child per LIVE out.

A publisher connects to ``rtmp://<host>:<port>/live`` and publishes the stream named by its
secret stream key. The key is checked through :class:`PublishHooks` (the LIVE service in a unit
of work, see :func:`service_hooks`): an unknown or revoked key, a LIVE that already has a
publisher, or a LIVE that cannot start is refused with ``NetStream.Publish.BadName`` and the
connection closed; the refusal is logged with the client's address, never the key. An accepted
publisher's audio, video and metadata messages are written as an FLV stream to a packager child
(:mod:`mercato.live.ingest.packager`) that writes HLS under ``media_dir/live/<live id>/``. When
the publisher disconnects (or goes silent, or its LIVE is ended by the host or an operator), the
LIVE is told (``publisher_left``) and the packager finishes its last segment.

Only one process binds the port: in a second one, :meth:`IngestServer.start` logs one line and
that process serves HLS only (every process reads the shared media folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import struct
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import Conflict
from mercato.live import service
from mercato.live.ingest import amf, rtmp

log = logging.getLogger("mercato.live.ingest")

APP = "live"
HANDSHAKE_SECONDS = 10.0
IDLE_SECONDS = 30.0  # a publisher that sends nothing for this long is gone
STATUS_CHECK_SECONDS = 5.0  # how often a publishing connection checks that its LIVE is still on air
PACKAGER_EXIT_SECONDS = 30.0
WINDOW = 2_500_000


@dataclass(frozen=True)
class PublishHooks:
    """What the ingest asks of the LIVE domain, each its own unit of work."""

    authorize: Callable[[str], Awaitable[int | None]]  # stream key → the LIVE it feeds, or None
    started: Callable[[int], Awaitable[bool]]  # False: the LIVE cannot start (ended meanwhile)
    left: Callable[[int], Awaitable[None]]
    on_air: Callable[[int], Awaitable[bool]]


def service_hooks(db: Database) -> PublishHooks:
    """The hooks backed by the LIVE service (``authorize_publish``, ``publisher_started``,
    ``publisher_left``) on ``db``: what the app wires into its ingest server."""

    async def authorize(key: str) -> int | None:
        async with db.unit_of_work() as session:
            live = await service.authorize_publish(session, key)
            return None if live is None else live.id

    async def started(live_id: int) -> bool:
        try:
            async with db.unit_of_work() as session:
                await service.publisher_started(session, await service.get_live(session, live_id))
        except Conflict:
            return False
        return True

    async def left(live_id: int) -> None:
        async with db.unit_of_work() as session:
            await service.publisher_left(session, await service.get_live(session, live_id))

    async def on_air(live_id: int) -> bool:
        async with db.unit_of_work(write=False) as session:
            return (await service.get_live(session, live_id)).status == "live"

    return PublishHooks(authorize=authorize, started=started, left=left, on_air=on_air)


def publish_url(settings: Settings) -> str:
    """The RTMP server URL publishers are told (OBS's "Server"; ``ingest_url`` is this + "/<key>"):
    ``MERCATO_RTMP_PUBLIC_URL``, else the bound address (the public site's host for a wildcard bind)."""
    if settings.rtmp_public_url:
        return settings.rtmp_public_url.rstrip("/")
    host = settings.rtmp_host
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:
            host = urlsplit(settings.public_base_url).hostname or "127.0.0.1"
    return f"rtmp://{host}:{settings.rtmp_port}/{APP}"


def live_folder(settings: Settings, live_id: int) -> Path:
    return settings.media_dir / "live" / str(live_id)


class Refused(Exception):
    """The publish was refused; the connection is answered and closed."""


class IngestServer:
    def __init__(self, settings: Settings, hooks: PublishHooks, *, port: int | None = None) -> None:
        self.settings = settings
        self.hooks = hooks
        self.host = settings.rtmp_host
        self.port = settings.rtmp_port if port is None else port
        self.server: asyncio.Server | None = None
        self.publishing: dict[int, _Publisher] = {}  # live id → its connected publisher
        self.packagers: dict[int, asyncio.subprocess.Process] = {}  # live id → its packager, until it exits
        self.connections: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> bool:
        """Bind and serve; False (one line logged) when another process holds the port."""
        try:
            self.server = await asyncio.start_server(self._connected, self.host, self.port)
        except OSError as exc:
            log.info("RTMP ingest not started here: %s:%d is taken (%s); this process serves HLS only",
                     self.host, self.port, os.strerror(exc.errno) if exc.errno else exc)
            return False
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        log.info("RTMP ingest on rtmp://%s:%d/%s", self.host, self.port, APP)
        return True

    async def stop(self) -> None:
        """Close every connection (each publisher's LIVE hears it left, as for any disconnect)
        and let the packagers finish their last segment."""
        if self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.close()
        if self.connections:
            _done, pending = await asyncio.wait(list(self.connections), timeout=PACKAGER_EXIT_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*(self.reap(p) for p in list(self.packagers.values())), return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()
            self.server = None

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        self.writers.add(writer)
        peer = writer.get_extra_info("peername")
        address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        publisher = _Publisher(self, reader, writer, address)
        try:
            await asyncio.wait_for(rtmp.handshake(reader, writer), HANDSHAKE_SECONDS)
            await publisher.run()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, rtmp.ProtocolError, amf.AMFError) as exc:
            log.debug("RTMP connection from %s closed: %r", address, exc)
        except Refused:
            pass
        except asyncio.CancelledError:
            log.debug("RTMP connection from %s cancelled at shutdown", address)
        except Exception:  # one connection's surprise must not reach the server
            log.exception("RTMP connection from %s failed", address)
        finally:
            try:
                await publisher.finish()
            except Exception:
                log.exception("RTMP connection from %s: the LIVE could not be told its publisher left", address)
            except asyncio.CancelledError:
                pass  # shutting down: the end job ends the LIVE after the grace anyway
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            self.connections.discard(task)
            self.writers.discard(writer)

    async def start_packager(self, live_id: int) -> asyncio.subprocess.Process:
        previous = self.packagers.get(live_id)
        if previous is not None:  # a reconnect: the last segments of the previous connection first
            await self.reap(previous)
        folder = live_folder(self.settings, live_id)
        folder.mkdir(parents=True, exist_ok=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mercato.live.ingest.packager", str(folder),
            str(self.settings.hls_segment_seconds), str(self.settings.hls_list_size),
            stdin=asyncio.subprocess.PIPE)
        self.packagers[live_id] = process
        return process

    async def reap(self, process: asyncio.subprocess.Process) -> None:
        """Let the packager finish its last segment; kill it if it does not exit in time."""
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), PACKAGER_EXIT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
        for live_id, known in list(self.packagers.items()):
            if known is process:
                del self.packagers[live_id]
        if process.returncode:
            log.warning("HLS packager exited with status %s", process.returncode)


class _Publisher:
    """One RTMP connection: its commands, then (once allowed to publish) its media."""

    def __init__(self, ingest: IngestServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 address: str) -> None:
        self.ingest = ingest
        self.chunks = rtmp.ChunkReader(reader)
        self.out = rtmp.ChunkWriter(writer)
        self.writer = writer
        self.address = address
        self.app: str | None = None
        self.live_id: int | None = None
        self.packager: asyncio.subprocess.Process | None = None
        self.window = 0
        self.acknowledged = 0
        self.done = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_check = loop.time() + STATUS_CHECK_SECONDS
        while not self.done:
            message = await asyncio.wait_for(self.chunks.read_message(), IDLE_SECONDS)
            await self._acknowledge()
            await self._handle(message)
            if self.live_id is not None and loop.time() >= next_check:
                next_check = loop.time() + STATUS_CHECK_SECONDS
                if not await self.ingest.hooks.on_air(self.live_id):
                    log.info("LIVE %d ended: its publisher (%s) is disconnected", self.live_id, self.address)
                    return

    async def _acknowledge(self) -> None:
        if self.window and self.chunks.bytes_read - self.acknowledged >= self.window:
            self.acknowledged = self.chunks.bytes_read
            self.out.control(rtmp.ACK, struct.pack(">I", self.acknowledged & 0xFFFFFFFF))
            await self.writer.drain()

    async def _handle(self, message: rtmp.Message) -> None:
        kind = message.type_id
        if kind in (rtmp.AUDIO, rtmp.VIDEO):
            if self.packager is not None:
                await self._feed(rtmp.flv_tag(kind, message.timestamp, message.payload))
        elif kind == rtmp.DATA_AMF0:
            await self._data(amf.decode_all(message.payload))
        elif kind in (rtmp.COMMAND_AMF0, rtmp.COMMAND_AMF3):
            payload = message.payload[1:] if kind == rtmp.COMMAND_AMF3 else message.payload
            await self._command(message.stream_id, amf.decode_all(payload))
        elif kind == rtmp.WINDOW_ACK_SIZE and len(message.payload) >= 4:
            self.window = struct.unpack(">I", message.payload[:4])[0]

    async def _data(self, values: list[Any]) -> None:
        if values and values[0] == "@setDataFrame":
            values = values[1:]
        if self.packager is not None and len(values) >= 2 and values[0] == "onMetaData":
            metadata = values[1] if isinstance(values[1], dict) else {}
            await self._feed(rtmp.flv_tag(18, 0, amf.encode_all("onMetaData", metadata)))

    async def _command(self, stream_id: int, values: list[Any]) -> None:
        if len(values) < 2 or not isinstance(values[0], str):
            return
        name, txn, args = values[0], values[1], values[2:]
        if name == "connect":
            await self._connect(txn, args[0] if args and isinstance(args[0], dict) else {})
        elif name in ("releaseStream", "FCPublish"):
            self._send_command(rtmp.COMMAND_CSID, 0, "_result", txn, None, None)
        elif name == "createStream":
            self._send_command(rtmp.COMMAND_CSID, 0, "_result", txn, None, 1)
        elif name == "publish":
            key = str(args[1]) if len(args) >= 2 and args[1] is not None else ""
            await self._publish(stream_id or 1, key.split("?", 1)[0])
        elif name in ("FCUnpublish", "deleteStream", "closeStream"):
            self.done = True
        await self.writer.drain()

    async def _connect(self, txn: Any, command: dict[str, Any]) -> None:
        self.app = str(command.get("app", "")).strip("/").split("?", 1)[0]
        if self.app != APP:
            self._send_command(rtmp.COMMAND_CSID, 0, "_error", txn, None,
                               {"level": "error", "code": "NetConnection.Connect.Rejected",
                                "description": f"Unknown application; publish to /{APP}."})
            await self.writer.drain()
            raise Refused
        self.out.control(rtmp.WINDOW_ACK_SIZE, struct.pack(">I", WINDOW))
        self.out.control(rtmp.SET_PEER_BANDWIDTH, struct.pack(">IB", WINDOW, 2))
        self.out.set_chunk_size()
        self._send_command(rtmp.COMMAND_CSID, 0, "_result", txn,
                           {"fmsVer": "FMS/3,0,1,123", "capabilities": 31},
                           {"level": "status", "code": "NetConnection.Connect.Success",
                            "description": "Connection succeeded.", "objectEncoding": 0})

    async def _publish(self, stream_id: int, key: str) -> None:
        if self.live_id is not None:
            return
        hooks = self.ingest.hooks
        live_id = await hooks.authorize(key) if key else None
        if live_id is None:
            await self._refuse(stream_id, "unknown or revoked stream key, or no LIVE to feed")
            return
        if live_id in self.ingest.publishing:
            await self._refuse(stream_id, f"LIVE {live_id} already has a publisher")
            return
        self.ingest.publishing[live_id] = self  # held while the LIVE starts: a second publisher waits for nothing
        if not await hooks.started(live_id):
            del self.ingest.publishing[live_id]
            await self._refuse(stream_id, f"LIVE {live_id} has ended")
            return
        self.live_id = live_id
        self.packager = await self.ingest.start_packager(live_id)
        await self._feed(rtmp.flv_header())
        self.out.stream_begin(stream_id)
        self._status(stream_id, "status", "NetStream.Publish.Start", "Publishing.")
        log.info("LIVE %d: publisher connected from %s", live_id, self.address)

    async def _refuse(self, stream_id: int, reason: str) -> None:
        log.warning("RTMP publish refused from %s: %s", self.address, reason)
        self._status(stream_id, "error", "NetStream.Publish.BadName", "Publishing refused.")
        await self.writer.drain()
        raise Refused

    async def _feed(self, data: bytes) -> None:
        assert self.packager is not None and self.packager.stdin is not None
        try:
            self.packager.stdin.write(data)
            await self.packager.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            log.error("LIVE %s: the HLS packager stopped taking the stream; closing the publisher", self.live_id)
            raise ConnectionResetError("packager gone") from exc

    def _status(self, stream_id: int, level: str, code: str, description: str) -> None:
        self._send_command(rtmp.STREAM_CSID, stream_id, "onStatus", 0, None,
                           {"level": level, "code": code, "description": description})

    def _send_command(self, csid: int, stream_id: int, *values: Any) -> None:
        self.out.write(csid, rtmp.COMMAND_AMF0, stream_id, amf.encode_all(*values))

    async def finish(self) -> None:
        """The connection is over: the LIVE hears its publisher left; the packager finishes."""
        if self.live_id is None or self.ingest.publishing.get(self.live_id) is not self:
            return
        live_id, packager = self.live_id, self.packager
        del self.ingest.publishing[live_id]
        log.info("LIVE %d: publisher %s disconnected", live_id, self.address)
        try:
            await self.ingest.hooks.left(live_id)
        finally:
            if packager is not None:
                await self.ingest.reap(packager)
