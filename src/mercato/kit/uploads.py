"""Reading uploaded files with a hard size cap (never trusting Content-Length alone)."""

from __future__ import annotations

from fastapi import UploadFile

from mercato.kit.errors import KitError, PayloadTooLarge

CHUNK = 256 * 1024


async def read_capped(upload: UploadFile, max_bytes: int, *, code: str = KitError.FILE_TOO_LARGE) -> bytes:
    parts: list[bytes] = []
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", code=code)
        parts.append(chunk)
    return b"".join(parts)
