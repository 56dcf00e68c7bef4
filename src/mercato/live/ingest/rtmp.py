"""The RTMP wire format a publisher speaks: handshake, chunk streams, messages (Adobe's RTMP 1.0 spec).

Only the publishing side of a server is needed: read chunked messages from OBS or FFmpeg, answer
their commands, and hand the audio, video and metadata messages on. The plain handshake is used
(S1 with zero version bytes, S2 echoing C1): FFmpeg and librtmp (OBS) skip their digest checks
for it. Reading the chunk stream follows FFmpeg's reading of the spec's corner cases: a type-3
header that starts a new message repeats the previous timestamp field (the delta, or the
absolute timestamp after a type-0 header), and carries an extended timestamp whenever the
header it repeats did.
"""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass, field

HANDSHAKE_SIZE = 1536
VERSION = 3
# Message types.
SET_CHUNK_SIZE, ABORT, ACK, USER_CONTROL, WINDOW_ACK_SIZE, SET_PEER_BANDWIDTH = 1, 2, 3, 4, 5, 6
AUDIO, VIDEO, DATA_AMF3, COMMAND_AMF3, DATA_AMF0, COMMAND_AMF0 = 8, 9, 15, 17, 18, 20
# Chunk stream ids the server sends on.
CONTROL_CSID, COMMAND_CSID, STREAM_CSID = 2, 3, 5
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # no audio or video frame of a LIVE comes near; a larger one is hostile
MAX_CHUNK_SIZE = 0x7FFFFFFF


class ProtocolError(Exception):
    """The peer broke the protocol: the connection is closed."""


@dataclass
class Message:
    type_id: int
    stream_id: int
    timestamp: int  # milliseconds
    payload: bytes


@dataclass
class _ChunkState:
    timestamp: int = 0
    ts_field: int = 0
    extended: bool = False
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    buffer: bytearray = field(default_factory=bytearray)


async def handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    c0c1 = await reader.readexactly(1 + HANDSHAKE_SIZE)
    if c0c1[0] != VERSION:
        raise ProtocolError(f"RTMP version {c0c1[0]} is not supported")
    s1 = struct.pack(">II", 0, 0) + os.urandom(HANDSHAKE_SIZE - 8)
    writer.write(bytes([VERSION]) + s1 + c0c1[1:])
    await writer.drain()
    await reader.readexactly(HANDSHAKE_SIZE)  # C2: nothing in it matters to a server


class ChunkReader:
    """Reassembles messages from the chunk streams of one connection."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.chunk_size = 128
        self.bytes_read = 0
        self.streams: dict[int, _ChunkState] = {}

    async def _read(self, n: int) -> bytes:
        data = await self.reader.readexactly(n)
        self.bytes_read += n
        return data

    async def _uint(self, n: int) -> int:
        return int.from_bytes(await self._read(n), "big")

    async def read_message(self) -> Message:
        while True:
            message = await self._read_chunk()
            if message is None:
                continue
            if message.type_id == SET_CHUNK_SIZE:
                if len(message.payload) < 4:
                    raise ProtocolError("short Set Chunk Size")
                size = struct.unpack(">I", message.payload[:4])[0] & MAX_CHUNK_SIZE
                if size < 1:
                    raise ProtocolError("chunk size 0")
                self.chunk_size = size
            elif message.type_id == ABORT and len(message.payload) >= 4:
                state = self.streams.get(struct.unpack(">I", message.payload[:4])[0])
                if state is not None:
                    state.buffer.clear()
            return message

    async def _read_chunk(self) -> Message | None:
        first = (await self._read(1))[0]
        fmt, csid = first >> 6, first & 0x3F
        if csid == 0:
            csid = 64 + await self._uint(1)
        elif csid == 1:
            low, high = await self._read(2)
            csid = 64 + low + 256 * high
        state = self.streams.get(csid)
        if state is None:
            if fmt != 0:
                raise ProtocolError(f"chunk stream {csid} starts without a full header")
            state = self.streams[csid] = _ChunkState()
        starting = not state.buffer
        if fmt <= 2:
            ts_field = await self._uint(3)
            if fmt <= 1:
                state.length = await self._uint(3)
                state.type_id = await self._uint(1)
                if fmt == 0:
                    state.stream_id = int.from_bytes(await self._read(4), "little")
            state.extended = ts_field == 0xFFFFFF
            if state.extended:
                ts_field = await self._uint(4)
            state.ts_field = ts_field
            if starting:
                state.timestamp = ts_field if fmt == 0 else state.timestamp + ts_field
        else:
            if state.extended:
                await self._uint(4)  # repeated on every chunk of a message whose header had one
            if starting:
                state.timestamp += state.ts_field
        if state.length > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"a message of {state.length} bytes")
        take = min(self.chunk_size, state.length - len(state.buffer))
        state.buffer += await self._read(take)
        if len(state.buffer) < state.length:
            return None
        message = Message(state.type_id, state.stream_id, state.timestamp & 0xFFFFFFFF, bytes(state.buffer))
        state.buffer.clear()
        return message


class ChunkWriter:
    """Writes messages as chunks (a full header, then type-3 continuation chunks)."""

    def __init__(self, writer: asyncio.StreamWriter, chunk_size: int = 4096) -> None:
        self.writer = writer
        self.chunk_size = chunk_size

    def write(self, csid: int, type_id: int, stream_id: int, payload: bytes, timestamp: int = 0) -> None:
        extended = timestamp >= 0xFFFFFF
        header = bytes([csid]) + (0xFFFFFF if extended else timestamp).to_bytes(3, "big")
        header += len(payload).to_bytes(3, "big") + bytes([type_id]) + stream_id.to_bytes(4, "little")
        ext = timestamp.to_bytes(4, "big") if extended else b""
        out = [header, ext]
        for start in range(0, max(len(payload), 1), self.chunk_size):
            if start:
                out += [bytes([0xC0 | csid]), ext]
            out.append(payload[start:start + self.chunk_size])
        self.writer.write(b"".join(out))

    def control(self, type_id: int, payload: bytes) -> None:
        self.write(CONTROL_CSID, type_id, 0, payload)

    def set_chunk_size(self) -> None:
        self.control(SET_CHUNK_SIZE, struct.pack(">I", self.chunk_size))

    def stream_begin(self, stream_id: int) -> None:
        self.control(USER_CONTROL, struct.pack(">HI", 0, stream_id))


def flv_header() -> bytes:
    """An FLV file header (audio and video present) and the first previous-tag-size."""
    return b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00\x00\x00\x00"


def flv_tag(tag_type: int, timestamp: int, data: bytes) -> bytes:
    """One FLV tag (audio 8, video 9, script 18) and its trailing previous-tag-size."""
    ts = timestamp & 0xFFFFFFFF
    head = bytes([tag_type]) + len(data).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
    head += bytes([ts >> 24]) + b"\x00\x00\x00"
    return head + data + (11 + len(data)).to_bytes(4, "big")
