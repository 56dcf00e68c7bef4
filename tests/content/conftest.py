"""Real video files made once per session (with PyAV), and helpers to upload them over HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.content.models import Video
from tests.videos import make_clip

DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]
Upload = Callable[..., httpx.Response]

@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """mp4 (H.264/AAC), webm (VP9/Opus), mov (QuickTime, MPEG-4 part 2 / PCM), a text file named .mp4;
    each 2 s of a 320×568 test pattern at 24 fps with a tone."""
    root = tmp_path_factory.mktemp("clips")
    text = root / "notes.mp4"
    text.write_text("this is not a video, just text with a .mp4 name\n" * 50)
    return {
        "mp4": make_clip(root / "clip.mp4", container_options={"movflags": "+faststart"}),
        "webm": make_clip(root / "clip.webm", video="libvpx-vp9", audio="libopus", audio_rate=48_000,
                          options={"deadline": "realtime", "cpu-used": "8"}),
        "mov": make_clip(root / "clip.mov", video="mpeg4", audio="pcm_s16le"),
        "text": text,
    }


@pytest.fixture
def upload(api: httpx.Client, clips: dict[str, Path]) -> Upload:
    """POST /api/v1/videos for ``user`` with one of the clips (or any path)."""

    def send(user: dict[str, Any], clip: str | Path = "mp4", *, caption: str = "",
             product_ids: list[int] | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        path = clips[clip] if isinstance(clip, str) else clip
        data: dict[str, Any] = {"caption": caption}
        if product_ids:
            data["product_ids"] = [str(p) for p in product_ids]
        with path.open("rb") as fh:
            return api.post("/api/v1/videos", headers=headers if headers is not None else user["headers"],
                            data=data, files={"file": (path.name, fh, "application/octet-stream")})

    return send


@pytest.fixture
def post_video(upload: Upload) -> Callable[..., dict[str, Any]]:
    def make(user: dict[str, Any], caption: str = "", product_ids: list[int] | None = None) -> dict[str, Any]:
        response = upload(user, "mp4", caption=caption, product_ids=product_ids)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return make


@pytest.fixture
def make_admin(make_user: Callable[..., dict[str, Any]], db_run: DbRun) -> Callable[[], dict[str, Any]]:
    def create() -> dict[str, Any]:
        admin = make_user()

        async def promote(session: AsyncSession) -> None:
            await session.execute(update(User).where(User.id == admin["user"]["id"]).values(is_admin=True))

        db_run(promote)
        return admin

    return create


@pytest.fixture
def set_handle(api: httpx.Client) -> Callable[[dict[str, Any], str], None]:
    def change(user: dict[str, Any], handle: str) -> None:
        response = api.patch("/api/v1/me", headers=user["headers"], json={"handle": handle})
        assert response.status_code == 200, response.text

    return change


def video_files(media_dir: Path) -> set[str]:
    folder = media_dir / "videos"
    return {str(p.relative_to(media_dir)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def count_videos(db_run: DbRun) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(Video))).scalar_one())

    result: int = db_run(count)
    return result
