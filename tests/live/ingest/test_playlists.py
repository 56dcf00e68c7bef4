"""The packager's sliding playlist and the replay's VOD playlist, from a recording's text."""

from __future__ import annotations

from mercato.live.ingest import recording
from mercato.live.ingest.packager import sliding_playlist

RECORDING = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-DISCONTINUITY
#EXTINF:2.000000,
seg_000000.ts
#EXTINF:2.000000,
seg_000001.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.500000,
seg_000002.ts
#EXTINF:2.000000,
seg_000003.ts
#EXT-X-DISCONTINUITY
#EXTINF:2.000000,
seg_000004.ts
#EXT-X-ENDLIST
"""


def test_sliding_playlist_counts_what_slid_out() -> None:
    assert sliding_playlist(RECORDING, 2).splitlines() == [
        "#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-TARGETDURATION:2", "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-MEDIA-SEQUENCE:3", "#EXT-X-DISCONTINUITY-SEQUENCE:1",
        "#EXTINF:2.000000,", "seg_000003.ts", "#EXT-X-DISCONTINUITY", "#EXTINF:2.000000,", "seg_000004.ts"]
    whole = sliding_playlist(RECORDING, 6).splitlines()
    assert whole[4:6] == ["#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-DISCONTINUITY-SEQUENCE:0"]
    assert whole.count("#EXT-X-DISCONTINUITY") == 2  # not before the very first segment
    assert "#EXT-X-ENDLIST" not in whole  # a live playlist never ends


def test_replay_playlist() -> None:
    listed = recording.segments(RECORDING)
    assert [(s.name, s.start, s.discontinuity) for s in listed] == [
        ("seg_000000.ts", 0.0, False), ("seg_000001.ts", 2.0, False), ("seg_000002.ts", 4.0, True),
        ("seg_000003.ts", 5.5, False), ("seg_000004.ts", 7.5, True)]
    assert recording.is_closed(RECORDING) and not recording.is_closed(RECORDING.replace("#EXT-X-ENDLIST\n", ""))
    vod = recording.vod_playlist(RECORDING).splitlines()
    assert vod[:6] == ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0",
                       "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"]
    assert vod[-1] == "#EXT-X-ENDLIST" and vod.count("#EXT-X-DISCONTINUITY") == 2
    assert [line for line in vod if not line.startswith("#")] == [s.name for s in listed]
