"""Text helpers shared by the templates (the ``plain`` filter) and the domains."""

from __future__ import annotations

import html
import re

TAG_RE = re.compile(r"<[^>]+>")


def plain_text(markup: str) -> str:
    """Text of an HTML description (imports carry HTML); the templates escape it again."""
    return re.sub(r"\s+", " ", html.unescape(TAG_RE.sub(" ", markup))).strip()
