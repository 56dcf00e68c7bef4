"""Serving video files (``/media/videos/…``): renditions and posters, only to whoever may see
the video.

Product images and avatars stay plain static files under ``/media``; video files are mounted
in front of that at ``/media/videos`` by :class:`VideoFiles`, which asks the database on every
request which videos use the file (``ix_videos_media_path`` / ``ix_videos_poster_path``, one
short read transaction) and serves it only when one of them is published, or to their creators
and operators when all of them are removed (taken down). A file no video refers to (a partial
upload, an orphan, a deleted video's) is 404 for everyone. Nothing moves on take-down or
restore: the video's status is the single truth, in every process at once.

The answer itself is Starlette's ``StaticFiles`` response, unchanged: ``Accept-Ranges``, 206
with ``Content-Range``, 416, ``HEAD``, ``If-Range``, ETag / Last-Modified and 304. A public file
may be cached for :data:`PUBLIC_MAX_AGE` seconds (so a cache in front of the app stops serving a
taken-down video within that); a removed video's file is ``private, no-store``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from mercato.accounts import service as accounts_service
from mercato.accounts.deps import token_from
from mercato.accounts.models import User
from mercato.content import service
from mercato.content.media import VIDEO_FOLDER
from mercato.kit.db import Database

PUBLIC_MAX_AGE = 60
MAX_NAME = 255


class VideoFiles(StaticFiles):
    """``StaticFiles`` over ``media_dir/videos`` that checks the file's video and the caller first."""

    def __init__(self, media_dir: Path) -> None:
        super().__init__(directory=media_dir / VIDEO_FOLDER, check_dir=False)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            return await super().get_response(path, scope)  # 405, as for any static file
        # Video files sit directly in the folder (never ``incoming/…``, never a dot name).
        if not path or "/" in path or "\\" in path or path.startswith(".") or len(path) > MAX_NAME:
            raise HTTPException(status_code=404)
        request = Request(scope)
        database: Database = request.app.state.db
        async with database.unit_of_work(write=False) as db:
            audience = await service.file_audience(db, f"{VIDEO_FOLDER}/{path}")
            if audience is None:
                raise HTTPException(status_code=404)
            viewer = None if audience.public else await _viewer(db, request)
            if not audience.admits(viewer):
                raise HTTPException(status_code=404)  # as if it did not exist
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}" if audience.public \
            else "private, no-store"
        return response


async def _viewer(db: AsyncSession, request: Request) -> User | None:
    """The caller from the bearer token or the session cookie (a ``<video>`` element sends the
    cookie); a stale or unknown token is simply nobody here, never a 401."""
    token, _ = token_from(request)
    if not token:
        return None
    return await accounts_service.resolve_token(db, token)
