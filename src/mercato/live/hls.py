"""``GET|HEAD /live/{id}/hls/{name}``: a LIVE's HLS playlists and segments, from the media folder.

The packager (:mod:`mercato.live.ingest.packager`) writes them under ``media_dir/live/<id>/`` and
any app process serves them, so viewers may be spread over processes while one runs the ingest.
Only the names the packager writes are served (``index.m3u8``, ``replay.m3u8``, ``seg_NNNNNN.ts``):
anything else — another file of the folder, a path, a dot name — is 404 like a missing file.
Playlists change every segment (``no-cache``: a cache must ask again); a segment never changes
once listed (``immutable``, a year), so a CDN in front of the app serves the viewers of a
crowded room from its cache. A playlist is answered from one read of the file: the packager
replaces it whole (``os.replace``) every segment, and a ``FileResponse`` takes the size and the
bytes in two steps, so a replacement between them sent a ``Content-Length`` of the old file and
the bytes of the new one (the server then drops the connection).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from mercato.config import Settings
from mercato.kit.errors import NotFound
from mercato.kit.fields import PathId
from mercato.live.errors import LiveError

router = APIRouter()

NAME = re.compile(r"(?P<playlist>(?:index|replay)\.m3u8)|seg_\d{6}\.(?P<ext>ts|mp4|m4s)")
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPES = {"ts": "video/mp2t", "mp4": "video/mp4", "m4s": "video/mp4"}
PLAYLIST_CACHE = "no-cache"
SEGMENT_CACHE = "public, max-age=31536000, immutable"


def playback_url(live_id: int) -> str:
    """The live playlist's path (``playback_url`` of a LIVE, relative to the site)."""
    return f"/live/{live_id}/hls/index.m3u8"


def replay_url(live_id: int) -> str:
    """The replay's path, once the LIVE has ended and ``Live.replay_path`` is set."""
    return f"/live/{live_id}/hls/replay.m3u8"


def _missing() -> NotFound:
    return NotFound("No such playlist or segment.", code=LiveError.HLS_FILE_NOT_FOUND)


@router.api_route("/live/{live_id:int}/hls/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def hls_file(request: Request, live_id: PathId, name: str) -> Response:
    match = NAME.fullmatch(name)
    if match is None:
        raise _missing()
    settings: Settings = request.app.state.settings
    path = settings.media_dir / "live" / str(live_id) / name
    if not path.is_file():
        raise _missing()
    if match.group("playlist"):
        try:
            text = path.read_bytes()  # a few hundred bytes: one read, one version of the file
        except FileNotFoundError:
            raise _missing() from None
        return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": PLAYLIST_CACHE})
    return FileResponse(path, media_type=SEGMENT_TYPES[match.group("ext")], headers={"Cache-Control": SEGMENT_CACHE})
