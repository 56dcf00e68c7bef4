"""Use cases of videos and the community around them (service layer: validate, decide, flush —
never commit).

Captions are parsed here: ``#tag`` (Unicode letters, digits and ``_``, lower-cased, at most
:data:`MAX_HASHTAGS` distinct per caption) and ``@handle`` (linked only when the account
exists). The caption is stored as typed text and rendered from parts, never as HTML.
"""

from __future__ import annotations

import re
from urllib.parse import quote

MAX_HASHTAGS = 30
MAX_MENTIONS = 30
_TOKEN_RE = re.compile(
    r"(?<![\w#@])(?:#(?P<tag>\w{1,60})(?!\w)"
    r"|@(?P<handle>[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)(?![\w]))"
)


def caption_tokens(caption: str) -> list[tuple[str, str, str]]:
    """``(kind, text, value)`` tokens in order: kind ``text`` | ``hashtag`` (value: the lower-cased
    tag) | ``mention`` (value: the lower-cased handle, at least 3 characters)."""
    out: list[tuple[str, str, str]] = []
    pos = 0
    for match in _TOKEN_RE.finditer(caption):
        tag, handle = match.group("tag"), match.group("handle")
        if handle is not None and len(handle) < 3:
            continue
        if match.start() > pos:
            out.append(("text", caption[pos:match.start()], ""))
        if tag is not None:
            out.append(("hashtag", match.group(0), tag.lower()))
        else:
            out.append(("mention", match.group(0), handle.lower()))
        pos = match.end()
    if pos < len(caption):
        out.append(("text", caption[pos:], ""))
    return out


def caption_hashtags(caption: str) -> list[str]:
    """Distinct lower-cased tags in order of appearance."""
    seen: dict[str, None] = {}
    for kind, _, value in caption_tokens(caption):
        if kind == "hashtag":
            seen.setdefault(value, None)
    return list(seen)


def caption_handles(caption: str) -> list[str]:
    seen: dict[str, None] = {}
    for kind, _, value in caption_tokens(caption):
        if kind == "mention":
            seen.setdefault(value, None)
    return list(seen)


def tag_href(tag: str) -> str:
    return f"/tag/{quote(tag, safe='')}"


def caption_parts(caption: str, mention_links: dict[str, str]) -> list[dict[str, str | None]]:
    """The caption as typed parts for safe rendering. A mention whose handle is not in
    ``mention_links`` (no such account) stays text; adjacent text parts are merged."""
    parts: list[dict[str, str | None]] = []
    for kind, text, value in caption_tokens(caption):
        part: dict[str, str | None]
        if kind == "hashtag":
            part = {"type": "hashtag", "text": text, "href": tag_href(value)}
        elif kind == "mention" and value in mention_links:
            part = {"type": "mention", "text": text, "href": mention_links[value]}
        else:
            part = {"type": "text", "text": text, "href": None}
        if part["type"] == "text" and parts and parts[-1]["type"] == "text":
            parts[-1]["text"] = f"{parts[-1]['text']}{text}"
        else:
            parts.append(part)
    return parts
