"""Video files are served with HTTP range requests so that players can seek."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mercato.config import Settings


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
