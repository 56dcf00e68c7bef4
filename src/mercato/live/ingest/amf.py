"""AMF0, the value encoding of RTMP commands (``connect``, ``publish``…) and of ``onMetaData``.

Only what publishers send and what the server answers is supported: numbers, booleans, strings
(short and long), objects, ECMA arrays, strict arrays, null, undefined and dates. Anything else
raises :class:`AMFError`, which ends the connection (a publisher never sends it).
"""

from __future__ import annotations

import struct
from typing import Any

NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = 0x08, 0x09, 0x0A, 0x0B, 0x0C


class AMFError(ValueError):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise AMFError("truncated AMF0 value")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def short_string(self) -> str:
        (length,) = struct.unpack(">H", self.take(2))
        return self.take(length).decode("utf-8", "replace")

    def properties(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            key = self.short_string()
            if key == "" and self.data[self.pos:self.pos + 1] == bytes([OBJECT_END]):
                self.pos += 1
                return out
            out[key] = self.value()

    def value(self) -> Any:
        marker = self.take(1)[0]
        if marker == NUMBER:
            return struct.unpack(">d", self.take(8))[0]
        if marker == BOOLEAN:
            return self.take(1) != b"\x00"
        if marker == STRING:
            return self.short_string()
        if marker == LONG_STRING:
            (length,) = struct.unpack(">I", self.take(4))
            return self.take(length).decode("utf-8", "replace")
        if marker == OBJECT:
            return self.properties()
        if marker == ECMA_ARRAY:
            self.take(4)  # an approximate count: the properties end with the object-end marker
            return self.properties()
        if marker == STRICT_ARRAY:
            (count,) = struct.unpack(">I", self.take(4))
            return [self.value() for _ in range(count)]
        if marker == DATE:
            (millis,) = struct.unpack(">d", self.take(8))
            self.take(2)  # time zone, unused by the format
            return millis
        if marker in (NULL, UNDEFINED):
            return None
        raise AMFError(f"unsupported AMF0 marker {marker:#x}")


def decode_all(data: bytes) -> list[Any]:
    """Every AMF0 value of ``data``, in order (a command: name, transaction id, arguments…)."""
    reader = _Reader(data)
    values = []
    while reader.pos < len(data):
        values.append(reader.value())
    return values


def _short(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def encode(value: Any) -> bytes:
    if value is None:
        return bytes([NULL])
    if isinstance(value, bool):
        return bytes([BOOLEAN, 1 if value else 0])
    if isinstance(value, int | float):
        return bytes([NUMBER]) + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode("utf-8")
        if len(raw) < 0x10000:
            return bytes([STRING]) + _short(value)
        return bytes([LONG_STRING]) + struct.pack(">I", len(raw)) + raw
    if isinstance(value, dict):
        body = b"".join(_short(str(key)) + encode(item) for key, item in value.items())
        return bytes([OBJECT]) + body + b"\x00\x00" + bytes([OBJECT_END])
    if isinstance(value, list | tuple):
        return bytes([STRICT_ARRAY]) + struct.pack(">I", len(value)) + b"".join(encode(v) for v in value)
    raise AMFError(f"cannot encode {type(value).__name__} in AMF0")


def encode_all(*values: Any) -> bytes:
    return b"".join(encode(value) for value in values)
