"""Caption parsing: hashtags, mentions and safe parts (no database)."""

from __future__ import annotations

import pytest

from mercato.content.media import parse_probe
from mercato.content.service import caption_handles, caption_hashtags, caption_parts, caption_tokens
from mercato.kit.errors import ValidationFailed


def test_hashtags_are_unicode_lower_cased_and_distinct() -> None:
    caption = "#Hello #hello #日本 #über_cool #x1 ##double #a-b (#paren) end#no"
    assert caption_hashtags(caption) == ["hello", "日本", "über_cool", "x1", "a", "paren"]
    assert caption_hashtags("#" + "a" * 61) == []  # too long for a tag: plain text
    assert caption_hashtags("#" + "a" * 60) == ["a" * 60]


def test_mentions_need_three_characters_and_no_word_before() -> None:
    assert caption_handles("@Alice hi @bo @carol.d. mail@host.com @_x_") == ["alice", "carol.d", "_x_"]


def test_parts_rebuild_the_caption_exactly_and_link_only_known_handles() -> None:
    caption = "<img src=x onerror=alert(1)> @known @unknown #Tag & more"
    parts = caption_parts(caption, {"known": "/@known"})
    assert "".join(p["text"] or "" for p in parts) == caption
    assert [p["type"] for p in parts] == ["text", "mention", "text", "hashtag", "text"]
    assert parts[2]["text"] == " @unknown "
    assert caption_parts("", {}) == []
    assert [k for k, _, _ in caption_tokens("#a#b")] == ["hashtag", "text"]


def _probe(**fmt: object) -> dict[str, object]:
    stream = {"codec_type": "video", "codec_name": "h264", "width": 1080, "height": 1920, "pix_fmt": "yuv420p"}
    return {"format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "3.5", **fmt}, "streams": [stream]}


def test_probe_reading() -> None:
    info = parse_probe(_probe(tags={"major_brand": "isom"}))
    assert (info.width, info.height, info.duration_ms, info.browser_ready) == (1080, 1920, 3500, True)
    assert parse_probe(_probe(tags={"major_brand": "qt  "})).browser_ready is False
    rotated = _probe()
    rotated["streams"][0]["side_data_list"] = [{"rotation": -90}]  # type: ignore[index]
    info = parse_probe(rotated)
    assert (info.width, info.height) == (1920, 1080)
    for bad in ({"format": {}, "streams": []}, _probe(duration="nan"), _probe(format_name="png_pipe"),
                {"format": {"format_name": "matroska,webm", "duration": "1"},
                 "streams": [{"codec_type": "audio", "codec_name": "opus"}]}):
        with pytest.raises(ValidationFailed):
            parse_probe(bad)  # type: ignore[arg-type]
