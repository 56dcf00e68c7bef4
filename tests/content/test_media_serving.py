"""Video files are served with HTTP range requests so that players can seek, and only to whoever
may see the video: a removed (taken-down) video's files are for its creator and operators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.content.models import Video
from tests.content.conftest import DbRun


def test_range_requests(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                        post_video: Callable[..., dict[str, Any]], settings: Settings) -> None:
    video = post_video(make_user())
    url = video["media_url"]
    data = (settings.media_dir / url.removeprefix("/media/")).read_bytes()
    size = len(data)

    whole = api.get(url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == size

    part = api.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{size}"
    assert part.content == data[100:1100]

    tail = api.get(url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    assert tail.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"

    open_ended = api.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert open_ended.status_code == 206 and open_ended.content == data[-10:]

    beyond = api.get(url, headers={"Range": f"bytes={size}-{size + 100}"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"

    head = api.head(url, headers={"Range": "bytes=0-9"})
    assert head.status_code == 206 and head.content == b""

    assert api.get(video["media_url"].replace(".mp4", "x.mp4")).status_code == 404
    assert api.get("/media/videos/../../etc/passwd").status_code == 404


def _cookie(user: dict[str, Any]) -> dict[str, str]:
    """The session as a browser's ``<video>`` / ``<img>`` element sends it: the cookie."""
    return {"Cookie": f"mercato_session={user['token']}"}


def test_a_removed_videos_files_are_served_only_to_its_creator_and_operators(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]], post_video: Callable[..., dict[str, Any]],
    make_admin: Callable[[], dict[str, Any]], settings: Settings,
) -> None:
    creator, other, admin = make_user(), make_user(), make_admin()
    video = post_video(creator)
    urls = [video["media_url"], video["poster_url"]]
    data = (settings.media_dir / video["media_url"].removeprefix("/media/")).read_bytes()
    for url in urls:
        public = api.get(url)
        assert public.status_code == 200 and public.headers["cache-control"] == "public, max-age=60"

    down = api.post(f"/api/v1/admin/videos/{video['id']}/takedown", headers=admin["headers"],
                    json={"reason": "Misleading claims"})
    assert down.status_code == 200, down.text
    strangers: list[dict[str, str]] = [
        {}, other["headers"], _cookie(other), {"Authorization": "Bearer not-a-session"},
        {"Cookie": "mercato_session=not-a-session"},
    ]
    for url in urls:
        for headers in strangers:
            for method in ("GET", "HEAD"):
                refused = api.request(method, url, headers=headers)
                assert refused.status_code == 404, (url, headers, method)
            ranged = api.get(url, headers={**headers, "Range": "bytes=0-9"})
            assert ranged.status_code == 404 and ranged.content != data[:10]
        for headers in (creator["headers"], _cookie(creator), admin["headers"], _cookie(admin)):
            allowed = api.get(url, headers=headers)
            assert allowed.status_code == 200, (url, headers)
            assert allowed.headers["cache-control"] == "private, no-store"
    # The creator's player still seeks: ranges, HEAD and unsatisfiable ranges as before.
    size = len(data)
    part = api.get(video["media_url"], headers={**_cookie(creator), "Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{size}"
    head = api.head(video["media_url"], headers={**admin["headers"], "Range": "bytes=0-9"})
    assert head.status_code == 206 and head.content == b""
    beyond = api.get(video["media_url"], headers={**creator["headers"], "Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    # The files stay where they were: restoring makes them public again at once.
    restored = api.post(f"/api/v1/admin/videos/{video['id']}/restore", headers=admin["headers"])
    assert restored.status_code == 200 and restored.json()["media_url"] == video["media_url"]
    for url in urls:
        again = api.get(url)
        assert again.status_code == 200 and again.headers["cache-control"] == "public, max-age=60"
    tail = api.get(video["media_url"], headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]


def test_a_file_is_public_while_a_published_video_uses_it_and_never_when_none_does(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]], post_video: Callable[..., dict[str, Any]],
    make_admin: Callable[[], dict[str, Any]], settings: Settings, db_run: DbRun,
) -> None:
    first_creator, second_creator, admin = make_user(), make_user(), make_admin()
    video = post_video(first_creator)
    media_path = video["media_url"].removeprefix("/media/")

    async def share_clip(db: AsyncSession) -> int:  # the demo lets videos share a clip
        copy = Video(creator_id=second_creator["user"]["id"], caption="same clip", media_path=media_path,
                     duration_ms=video["duration_ms"], width=video["width"], height=video["height"])
        db.add(copy)
        await db.flush()
        return int(copy.id)

    copy_id = db_run(share_clip)

    def take_down(video_id: int) -> None:
        response = api.post(f"/api/v1/admin/videos/{video_id}/takedown", headers=admin["headers"],
                            json={"reason": "Spam"})
        assert response.status_code == 200, response.text

    take_down(video["id"])
    assert api.get(video["media_url"]).status_code == 200  # still another published video's clip
    assert api.get(video["poster_url"]).status_code == 404  # the poster is the removed video's only
    take_down(copy_id)
    assert api.get(video["media_url"]).status_code == 404
    for owner in (first_creator, second_creator):
        assert api.get(video["media_url"], headers=owner["headers"]).status_code == 200
    # A file no video refers to (an orphan, a partial upload) is served to nobody, not even operators.
    folder = settings.media_dir / "videos"
    (folder / "orphan-clip.mp4").write_bytes(b"\x00" * 64)
    (folder / "incoming").mkdir(exist_ok=True)
    (folder / "incoming" / "upload.part").write_bytes(b"\x00" * 64)
    for url in ("/media/videos/orphan-clip.mp4", "/media/videos/incoming/upload.part", "/media/videos/",
                "/media/videos/incoming/"):
        assert api.get(url, headers=admin["headers"]).status_code == 404, url
    # Other media stay plain static files.
    (settings.media_dir / "products").mkdir(exist_ok=True)
    (settings.media_dir / "products" / "still-public.webp").write_bytes(b"RIFF")
    assert api.get("/media/products/still-public.webp").status_code == 200
