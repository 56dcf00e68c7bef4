"""RTMP in, HLS out: real publishers (PyAV, the ffmpeg CLI) against the real ingest server."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import demo_live
from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import ValidationFailed
from mercato.kit.jobs import run_job
from mercato.live import service
from mercato.live.hls import playback_url, replay_url
from mercato.live.ingest import clips, recording
from mercato.live.ingest.packager import write_atomically
from mercato.live.ingest.server import IngestServer, live_folder
from tests.conftest import run_async
from tests.harness import missing
from tests.live.ingest.conftest import WAIT_SECONDS, Hosted, Ingest, Publisher, has_video, live_row, wait_for
from tests.live.ingest.publish import FPS, REFUSED

JSON = {"Accept": "application/json"}  # the error shape (a browser asking a media URL gets the HTML page)
PLAYLIST_SECONDS = 10.0  # docs/live.md: the playlist lists a segment within 10 s of a publisher starting


def listed_segments(api: httpx.Client, live_id: int) -> list[str]:
    response = api.get(f"/live/{live_id}/hls/index.m3u8")
    if response.status_code != 200:
        return []
    return [line for line in response.text.splitlines() if line and not line.startswith("#")]


def fetch_segment(api: httpx.Client, live_id: int, name: str, tmp_path: Path) -> Path:
    response = api.get(f"/live/{live_id}/hls/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp2t"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def run_end_job(database_url: str, settings: Settings) -> int:
    async def go() -> int:
        db = Database(database_url, pool=False)
        try:
            return await run_job(db, settings, "live_end_and_replay")
        finally:
            await db.dispose()

    result: int = run_async(go())
    return result


def test_pyav_publisher_goes_live_and_the_replay_plays(
        ingest: Ingest, make_live: Callable[[], Hosted], api: httpx.Client, db_run: Callable[..., Any],
        settings: Settings, clean_db: str, tmp_path: Path) -> None:
    hosted = make_live()
    publisher = Publisher(f"{ingest.url}/{hosted.key}")
    segments = wait_for(lambda: listed_segments(api, hosted.live_id), "a listed segment", PLAYLIST_SECONDS)
    assert publisher.running()
    live = live_row(db_run, hosted.live_id)
    assert live.status == "live" and live.started_at is not None and live.publisher_left_at is None
    playlist = api.get(playback_url(hosted.live_id))
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert playlist.headers["cache-control"] == "no-cache"
    assert has_video(fetch_segment(api, hosted.live_id, segments[0], tmp_path))

    # The publisher stops: the LIVE stays on air for the grace, then the job ends it and makes the replay.
    wait_for(lambda: len(listed_segments(api, hosted.live_id)) >= 2, "a second segment")
    assert publisher.stop() == 0, publisher.output
    wait_for(lambda: live_row(db_run, hosted.live_id).publisher_left_at is not None, "the publisher to leave")
    assert live_row(db_run, hosted.live_id).status == "live"
    assert run_end_job(clean_db, settings) == 0  # within the grace: nothing ends
    assert live_row(db_run, hosted.live_id).status == "live"

    no_grace = settings.model_copy(update={"live_grace_seconds": 0})
    wait_for(lambda: run_end_job(clean_db, no_grace) or live_row(db_run, hosted.live_id).replay_path,
             "the replay")
    live = live_row(db_run, hosted.live_id)
    assert live.status == "ended" and live.ended_reason == "publisher_gone"
    assert live.replay_path == f"live/{hosted.live_id}/replay.m3u8"
    assert replay_url(hosted.live_id) == f"/live/{hosted.live_id}/hls/replay.m3u8"
    assert run_end_job(clean_db, no_grace) == 0  # idempotent: nothing more to do
    replay = api.get(f"/live/{hosted.live_id}/hls/replay.m3u8")
    assert replay.status_code == 200
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay.text
    assert replay.text.rstrip().endswith("#EXT-X-ENDLIST")
    assert has_video(settings.media_dir / live.replay_path)

    # A clip of the recording: the asked range, to a frame (the test stream has no B-frames).
    clip = tmp_path / "clip.mp4"
    duration = clips.cut(live_folder(settings, hosted.live_id), 1000, 3500, clip)
    assert abs(duration - 2.5) <= 1 / FPS
    assert has_video(clip)
    with av.open(str(clip)) as container:
        assert abs(container.duration / av.time_base - 2.5) <= 1 / FPS
        assert abs(sum(1 for _ in container.decode(video=0)) - 2.5 * FPS) <= 1
    outside = tmp_path / "outside.mp4"
    with pytest.raises(clips.ClipError):
        clips.cut(live_folder(settings, hosted.live_id), 1000, 3_600_000, outside)
    assert not outside.exists()
    # As the app cuts them: in a child process, into the LIVE's clips folder.
    made = run_async(clips.cut_clip(settings, hosted.live_id, 500, 2500))
    assert made.parent == live_folder(settings, hosted.live_id) / "clips" and has_video(made)
    with av.open(str(made)) as container:
        assert abs(container.duration / av.time_base - 2.0) <= 1 / FPS
    with pytest.raises(ValidationFailed) as refused:
        run_async(clips.cut_clip(settings, hosted.live_id, 2500, 2500))
    assert refused.value.code == "clip_range_invalid"
    assert sorted(made.parent.iterdir()) == [made]  # nothing left of the refused cut


def test_ffmpeg_cli_publisher(ingest: Ingest, make_live: Callable[[], Hosted], api: httpx.Client,
                              db_run: Callable[..., Any], tmp_path: Path) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        missing("ffmpeg")
    hosted = make_live()
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
               "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
               "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-f", "flv", f"{ingest.url}/{hosted.key}"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        segments = wait_for(lambda: listed_segments(api, hosted.live_id), "a listed segment", PLAYLIST_SECONDS)
        assert live_row(db_run, hosted.live_id).status == "live"
        assert has_video(fetch_segment(api, hosted.live_id, segments[0], tmp_path))
        output, _ = process.communicate(timeout=WAIT_SECONDS)
        assert process.returncode == 0, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    wait_for(lambda: live_row(db_run, hosted.live_id).publisher_left_at is not None, "the publisher to leave")


def test_wrong_or_revoked_key_is_refused_and_logged(
        ingest: Ingest, make_live: Callable[[], Hosted], db_run: Callable[..., Any], settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mercato.live.ingest")
    hosted = make_live()
    wrong = hosted.key[:-4] + "XXXX"
    assert Publisher(f"{ingest.url}/{wrong}").finished() == REFUSED

    async def rotate(db: AsyncSession) -> None:
        user = await db.get(User, hosted.user_id)
        assert user is not None
        await service.issue_stream_key(db, user)

    db_run(rotate)
    assert Publisher(f"{ingest.url}/{hosted.key}").finished() == REFUSED  # the old key is revoked

    refusals = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
    assert len(refusals) == 2
    for record in refusals:
        assert "from 127.0.0.1:" in record.getMessage()
        assert hosted.key not in record.getMessage() and wrong not in record.getMessage()
    live = live_row(db_run, hosted.live_id)
    assert live.status == "scheduled" and live.started_at is None  # nothing started
    assert not live_folder(settings, hosted.live_id).exists()  # nothing written
    assert ingest.publishing() == set()


def test_one_publisher_per_live(ingest: Ingest, make_live: Callable[[], Hosted], api: httpx.Client,
                                db_run: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mercato.live.ingest")
    hosted = make_live()
    first = Publisher(f"{ingest.url}/{hosted.key}")
    try:
        wait_for(lambda: listed_segments(api, hosted.live_id), "a listed segment", PLAYLIST_SECONDS)
        second = Publisher(f"{ingest.url}/{hosted.key}")
        assert second.finished() == REFUSED
        assert any(f"LIVE {hosted.live_id} already has a publisher" in r.getMessage() for r in caplog.records)
        assert first.running()
        assert ingest.publishing() == {hosted.live_id}
        live = live_row(db_run, hosted.live_id)
        assert live.status == "live" and live.publisher_left_at is None
    finally:
        assert first.stop() == 0, first.output


def test_reconnect_within_the_grace_resumes_the_same_live(
        ingest: Ingest, make_live: Callable[[], Hosted], api: httpx.Client, db_run: Callable[..., Any],
        settings: Settings, clean_db: str) -> None:
    hosted = make_live()
    first = Publisher(f"{ingest.url}/{hosted.key}")
    wait_for(lambda: listed_segments(api, hosted.live_id), "a listed segment", PLAYLIST_SECONDS)
    assert first.stop() == 0, first.output
    wait_for(lambda: live_row(db_run, hosted.live_id).publisher_left_at is not None, "the publisher to leave")
    recorded = live_folder(settings, hosted.live_id) / "recording.m3u8"
    wait_for(lambda: recording.is_closed(recorded.read_text()), "the packager to close the recording")
    before = [s.name for s in recording.segments(recorded.read_text())]
    started_at = live_row(db_run, hosted.live_id).started_at
    assert run_end_job(clean_db, settings) == 0  # within the grace

    second = Publisher(f"{ingest.url}/{hosted.key}")
    try:
        after = wait_for(lambda: [s for s in listed_segments(api, hosted.live_id) if s > max(before)],
                         "a segment of the second connection", PLAYLIST_SECONDS)
        live = live_row(db_run, hosted.live_id)
        assert live.status == "live" and live.publisher_left_at is None and live.started_at == started_at
        text = (live_folder(settings, hosted.live_id) / "recording.m3u8").read_text()
        listed = recording.segments(text)
        names = [s.name for s in listed]
        assert names == sorted(set(names))  # numbering continues
        assert sum(s.discontinuity for s in listed) == 1  # one break: the reconnect
        assert after[0] in names
        index = api.get(f"/live/{hosted.live_id}/hls/index.m3u8").text
        assert "#EXT-X-DISCONTINUITY" in index or "#EXT-X-DISCONTINUITY-SEQUENCE:1" in index
    finally:
        assert second.stop() == 0, second.output


def test_hls_route_types_cache_and_names(api: httpx.Client, settings: Settings) -> None:
    folder = settings.media_dir / "live" / "77"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "index.m3u8").write_text("#EXTM3U\n")
    (folder / "replay.m3u8").write_text("#EXTM3U\n#EXT-X-ENDLIST\n")
    (folder / "seg_000001.ts").write_bytes(b"G" * 188)
    (folder / "recording.m3u8").write_text("#EXTM3U\n")
    (folder / "notes.txt").write_text("private")
    (settings.media_dir / "live" / "secret.m3u8").write_text("#EXTM3U\n")

    for name in ("index.m3u8", "replay.m3u8"):
        for method in ("GET", "HEAD"):
            response = api.request(method, f"/live/77/hls/{name}")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
            assert response.headers["cache-control"] == "no-cache"
            assert response.content == (b"" if method == "HEAD" else (folder / name).read_bytes())
    segment = api.head("/live/77/hls/seg_000001.ts")
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    assert segment.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert api.get("/live/77/hls/seg_000001.ts").content == b"G" * 188

    for name in ("seg_000002.ts", "recording.m3u8", "notes.txt", "seg_1.ts", ".index.m3u8.tmp", "index.m3u8x"):
        response = api.get(f"/live/77/hls/{name}", headers=JSON)
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "hls_file_not_found", name
    assert api.get("/live/78/hls/index.m3u8", headers=JSON).json()["error"]["code"] == "hls_file_not_found"
    # Paths out of the folder never reach a file: an encoded slash is a path separator to the router.
    for path in ("/live/77/hls/..%2Fsecret.m3u8", "/live/77/hls/%2e%2e%2fsecret.m3u8", "/live/77/hls/../secret.m3u8"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert "#EXTM3U" not in response.text
    assert api.get("/live/0/hls/index.m3u8").status_code == 422


def test_demo_publisher_keeps_the_demo_live_on_air(ingest: Ingest, api: httpx.Client, db_run: Callable[..., Any],
                                                   settings: Settings, clean_db: str) -> None:
    response = api.post("/api/v1/auth/register", json={
        "email": demo_live.HOST_EMAIL, "password": "correct-horse-1", "display_name": "Creator One",
        "date_of_birth": "1990-01-01"})
    assert response.status_code == 201
    host_id = response.json()["user"]["id"]

    async def eligible(db: AsyncSession) -> None:
        user = await db.get(User, host_id)
        assert user is not None
        user.is_creator, user.followers_count = True, settings.live_host_min_followers

    db_run(eligible)
    database = Database(clean_db, pool=False)
    publisher = demo_live.DemoPublisher(database, settings, ingest.server.port)

    async def start() -> None:
        publisher.start()

    ingest.call(start())
    try:
        live_id = wait_for(lambda: next(iter(ingest.publishing()), None), "the demo publisher", WAIT_SECONDS * 2)
        wait_for(lambda: listed_segments(api, live_id), "a listed segment of the demo LIVE", WAIT_SECONDS * 2)
        live = live_row(db_run, live_id)
        assert live.is_demo and live.host_id == host_id and live.status == "live" and live.title == demo_live.TITLE
    finally:
        ingest.call(publisher.stop())
        ingest.call(database.dispose())
    wait_for(lambda: live_row(db_run, live_id).publisher_left_at is not None, "the demo publisher to leave")
    assert publisher.process is not None and publisher.process.returncode == 0


def test_a_live_ended_by_hand_disconnects_its_publisher_and_gets_its_replay(
        ingest: Ingest, make_live: Callable[[], Hosted], api: httpx.Client, db_run: Callable[..., Any],
        settings: Settings, clean_db: str) -> None:
    hosted = make_live()
    publisher = Publisher(f"{ingest.url}/{hosted.key}")
    wait_for(lambda: listed_segments(api, hosted.live_id), "a listed segment", PLAYLIST_SECONDS)

    async def end(db: AsyncSession) -> None:
        await service.end_live(db, await service.get_live(db, hosted.live_id), reason="host")

    db_run(end)
    # The ingest notices within its status check and closes the connection: the publisher stops by itself.
    wait_for(lambda: not ingest.publishing(), "the ingest to drop the publisher")
    publisher.finished()
    wait_for(lambda: run_end_job(clean_db, settings) or live_row(db_run, hosted.live_id).replay_path, "the replay")
    live = live_row(db_run, hosted.live_id)
    assert live.status == "ended" and live.ended_reason == "host"
    assert (settings.media_dir / f"live/{hosted.live_id}/replay.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    # An ended LIVE takes no publisher again.
    assert Publisher(f"{ingest.url}/{hosted.key}").finished() == REFUSED


def test_a_second_process_finds_the_port_taken_and_serves_hls_only(
        ingest: Ingest, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mercato.live.ingest")
    second = IngestServer(settings, ingest.server.hooks, port=ingest.server.port)
    assert ingest.call(second.start()) is False
    lines = [r.getMessage() for r in caplog.records if r.name == "mercato.live.ingest"]
    assert lines == [f"RTMP ingest not started here: 127.0.0.1:{ingest.server.port} is taken "
                     "(Address already in use); this process serves HLS only"]
    assert second.server is None


def test_a_client_that_breaks_the_protocol_is_closed(ingest: Ingest, make_live: Callable[[], Hosted],
                                                    api: httpx.Client) -> None:
    with socket.create_connection(("127.0.0.1", ingest.server.port), timeout=WAIT_SECONDS) as client:
        client.sendall(b"\x06" + bytes(1536))  # RTMP version 6 does not exist
        assert client.recv(1) == b""  # closed without an answer
    hosted = make_live()  # the server goes on serving
    publisher = Publisher(f"{ingest.url}/{hosted.key}")
    try:
        wait_for(lambda: listed_segments(api, hosted.live_id), "a listed segment", PLAYLIST_SECONDS)
    finally:
        assert publisher.stop() == 0, publisher.output


def test_a_playlist_replaced_while_it_is_served_comes_whole(api: httpx.Client, settings: Settings) -> None:
    """The packager replaces ``index.m3u8`` every segment (``os.replace``): every answer is one
    whole version of the file, never the length of one and the bytes of another."""
    folder = settings.media_dir / "live" / "79"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    versions = [f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:{n}\n" + "#EXTINF:2.0,\nseg_000001.ts\n" * n for n in (1, 40)]
    write_atomically(folder / "index.m3u8", versions[0])
    stop = threading.Event()

    def rewrite() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            write_atomically(folder / "index.m3u8", versions[n % 2])

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        answers = {api.get("/live/79/hls/index.m3u8").text for _ in range(300)}
    finally:
        stop.set()
        writer.join()
    assert answers <= set(versions) and answers
