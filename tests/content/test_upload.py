"""Uploads with real video files: validation, renditions, posters, and nothing kept on failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from mercato.config import Settings
from tests.content.conftest import DbRun, Upload, count_videos, video_files
from tests.videos import make_image, probe


def _media(settings: Settings, url: str) -> Path:
    assert url.startswith("/media/")
    return settings.media_dir / url.removeprefix("/media/")


@pytest.mark.parametrize("clip", ["mp4", "webm", "mov"])
def test_upload_makes_a_playable_h264_mp4_and_a_poster(
    clip: str, api: httpx.Client, make_user: Callable[..., dict[str, Any]], upload: Upload, settings: Settings
) -> None:
    me = make_user()
    response = upload(me, clip, caption="First clip #Demo")
    assert response.status_code == 201, response.text
    video = response.json()
    assert video["status"] == "published"
    assert video["creator"]["id"] == me["user"]["id"]
    assert (video["width"], video["height"]) == (320, 568)
    assert 1800 <= video["duration_ms"] <= 2200
    assert video["media_url"].endswith(".mp4") and video["mime_type"] == "video/mp4"
    assert video["hashtags"] == ["demo"]
    served = probe(_media(settings, video["media_url"]))
    codecs = {s["codec_type"]: s["codec_name"] for s in served["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert "mp4" in served["format"]["format_name"]
    poster = _media(settings, video["poster_url"])
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    # The files are served, the video as video/mp4.
    got = api.get(video["media_url"])
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    assert got.content == _media(settings, video["media_url"]).read_bytes()
    assert api.get(video["poster_url"]).headers["content-type"] == "image/jpeg"
    # And the API answers the same body again.
    again = api.get(f"/api/v1/videos/{video['id']}")
    assert again.status_code == 200 and again.json()["media_url"] == video["media_url"]


def test_mp4_without_metadata_is_served_as_uploaded_streams(
    make_user: Callable[..., dict[str, Any]], upload: Upload, settings: Settings, clips: dict[str, Path]
) -> None:
    """An H.264/AAC MP4 is re-muxed (fast start, no metadata), not re-encoded."""
    response = upload(make_user(), "mp4")
    assert response.status_code == 201, response.text
    served = probe(_media(settings, response.json()["media_url"]))
    original = probe(clips["mp4"])
    assert served["streams"][0]["nb_frames"] == original["streams"][0]["nb_frames"]
    assert served["streams"][0]["bit_rate"] == original["streams"][0]["bit_rate"]


def test_a_text_file_named_mp4_is_refused_and_nothing_is_kept(
    make_user: Callable[..., dict[str, Any]], upload: Upload, settings: Settings, db_run: DbRun
) -> None:
    before = video_files(settings.media_dir)
    response = upload(make_user(), "text", caption="not a video")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_video"
    assert count_videos(db_run) == 0
    assert video_files(settings.media_dir) == before


def test_other_files_are_refused(
    make_user: Callable[..., dict[str, Any]], upload: Upload, settings: Settings, db_run: DbRun, tmp_path: Path
) -> None:
    me = make_user()
    png = make_image(tmp_path / "picture.mp4")
    audio = tmp_path / "song.mp4"
    with av.open(str(audio), mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44_100, layout="mono")
        for i in range(40):
            tone = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
            tone.sample_rate, tone.pts = 44_100, i * 1024
            out.mux(stream.encode(tone))
        out.mux(stream.encode(None))
    playlist = tmp_path / "list.mp4"
    playlist.write_text("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    before = video_files(settings.media_dir)
    for path, code in ((png, "invalid_video"), (audio, "invalid_video"), (playlist, "invalid_video"),
                       (empty, "invalid_video")):
        response = upload(me, path)
        assert response.status_code == 422, (path.name, response.text)
        assert response.json()["error"]["code"] == code
    assert count_videos(db_run) == 0
    assert video_files(settings.media_dir) == before


def test_an_oversized_body_is_refused_with_413_and_nothing_is_kept(
    make_user: Callable[..., dict[str, Any]], upload: Upload, settings: Settings, db_run: DbRun,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    me = make_user()
    monkeypatch.setattr(settings, "max_video_bytes", 40_000)
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * 300_000)  # read as it streams: refused once 40 kB have arrived
    huge = tmp_path / "huge.mp4"
    huge.write_bytes(b"\0" * 3_000_000)  # the declared length alone is too much: refused before reading
    before = video_files(settings.media_dir)
    for path in (big, huge):
        response = upload(me, path)
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "file_too_large"
    assert count_videos(db_run) == 0
    assert video_files(settings.media_dir) == before


def test_a_video_longer_than_the_limit_is_refused(
    make_user: Callable[..., dict[str, Any]], upload: Upload, settings: Settings, db_run: DbRun,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "max_video_seconds", 1)
    before = video_files(settings.media_dir)
    response = upload(make_user(), "webm")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "video_too_long"
    assert count_videos(db_run) == 0
    assert video_files(settings.media_dir) == before


def test_a_failure_after_processing_removes_the_new_files(
    make_user: Callable[..., dict[str, Any]], make_shop: Callable[..., dict[str, Any]],
    make_product: Callable[..., dict[str, Any]], upload: Upload, settings: Settings, db_run: DbRun
) -> None:
    """Anchors are checked before ffmpeg runs: a forbidden product costs no processing and keeps nothing."""
    product = make_product(make_shop())
    before = video_files(settings.media_dir)
    response = upload(make_user(), "mov", product_ids=[product["id"]])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "anchor_not_allowed"
    assert count_videos(db_run) == 0
    assert video_files(settings.media_dir) == before


def test_upload_needs_a_login_a_file_and_csrf_with_cookies(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]], upload: Upload, clips: dict[str, Path],
    settings: Settings, db_run: DbRun
) -> None:
    before = video_files(settings.media_dir)
    assert upload({}, "mp4", headers={}).status_code == 401
    bad = upload({}, "mp4", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    me = make_user()
    no_file = api.post("/api/v1/videos", headers=me["headers"], data={"caption": "x"},
                       files={"other": ("x.txt", b"hi", "text/plain")})
    assert no_file.status_code == 422
    missing = api.post("/api/v1/videos", headers=me["headers"], data={"caption": "only a caption"},
                       files={})
    assert missing.status_code == 422
    json_body = api.post("/api/v1/videos", headers=me["headers"], json={"caption": "x"})
    assert json_body.status_code == 422 and json_body.json()["error"]["code"] == "invalid_form"
    # A browser session: the CSRF token must come with the form (header or field).
    with httpx.Client(base_url=str(api.base_url), timeout=60) as browser:
        login = browser.post("/api/v1/auth/login", json={"email": me["user"]["email"], "password": me["password"]})
        assert login.status_code == 200, login.text
        browser.cookies.set("mercato_session", me["token"])
        browser.cookies.set("mercato_csrf", "csrf-token-value")
        with clips["mp4"].open("rb") as fh:
            refused = browser.post("/api/v1/videos", data={"caption": "x"}, files={"file": ("a.mp4", fh, "video/mp4")})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
        with clips["mp4"].open("rb") as fh:
            wrong = browser.post("/api/v1/videos", data={"caption": "x"}, headers={"X-CSRF-Token": "other"},
                                 files={"file": ("a.mp4", fh, "video/mp4")})
        assert wrong.status_code == 403
        assert count_videos(db_run) == 0
        assert video_files(settings.media_dir) == before
        with clips["mp4"].open("rb") as fh:
            by_field = browser.post("/api/v1/videos", data={"caption": "field", "csrf_token": "csrf-token-value"},
                                    files={"file": ("a.mp4", fh, "video/mp4")})
        assert by_field.status_code == 201, by_field.text
        with clips["mp4"].open("rb") as fh:
            by_header = browser.post("/api/v1/videos", data={"caption": "header"},
                                     headers={"X-CSRF-Token": "csrf-token-value"},
                                     files={"file": ("a.mp4", fh, "video/mp4")})
        assert by_header.status_code == 201, by_header.text
