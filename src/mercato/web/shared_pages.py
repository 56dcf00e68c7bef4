"""Pages shared by signed-in readers: rendered once by their route, each reader's own values put
back in every answer.

A signed-in page differs between readers in two places that base.html and the forms put there:
the CSRF token (double-submit cookie, in the ``<meta>`` and every form) and the header's avatar.
:func:`render_shared` has the route render the page with :data:`CSRF_SENTINEL` as the reader's
token; :func:`split` cuts the page at that token and at the reader's avatar (found exactly once,
inside base.html's account link, or the page is not shared); :func:`personal` puts another
reader's token (escaped, as Jinja would) and avatar back. Everything else a shared page shows
must be the same for every reader it is shared with: the domain layer that keeps it keys it by
whatever else is personal (``catalog/read_cache.py``: favourite and membership flags;
``orders/read_cache.py``: the reader).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import escape
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.web.render import env

SESSION_COOKIE = "mercato_session"
CSRF_COOKIE = "mercato_csrf"
CSRF_SENTINEL = "shared-page-csrf-token-0000000000000000000"
READER_SENTINEL = "<!--mercato:reader-avatar-->"
AVATAR_LINK = '<a href="/me" class="avatar-link" aria-label="Your account">'
MAX_TOKEN = 200
#: base.html's avatar of the signed-in reader, rendered the same way for each reader.
_AVATAR = env.from_string(
    '{% if avatar_path %}<img class="avatar sm" src="/media/{{ avatar_path }}" alt="">'
    '{% else %}<span class="avatar sm initials">{{ display_name[:1] | upper }}</span>{% endif %}')
_SPLIT = re.compile(f"({re.escape(READER_SENTINEL)}|{re.escape(CSRF_SENTINEL)})")


@dataclass(frozen=True, slots=True)
class SharedPage:
    """A page cut at the readers' own values: ``parts[0]``, slot 0, ``parts[1]``, slot 1, …"""

    expires: float
    headers: list[tuple[bytes, bytes]]
    parts: tuple[str, ...]
    slots: tuple[str, ...]


def cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1"))
    return {}


def header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return None


def session_token(scope: Scope) -> str | None:
    """The bearer token, else the session cookie (``accounts/deps.py`` reads them the same way)."""
    auth = header(scope, b"authorization")
    if auth is not None:
        if auth[:7].lower() != b"bearer ":
            return None
        token = auth[7:].strip().decode("latin-1")
        return token if 0 < len(token) <= MAX_TOKEN else None
    cookie = cookies(scope).get(SESSION_COOKIE)
    return cookie if cookie and len(cookie) <= MAX_TOKEN else None


def page_reader(scope: Scope) -> tuple[str, str] | None:
    """(session token, CSRF cookie) of a signed-in browser asking for a whole page, else ``None``:
    a browser without its CSRF cookie yet gets it from the route (a ``Set-Cookie`` answer), and
    htmx partials are always the route's."""
    token = session_token(scope)
    csrf = cookies(scope).get(CSRF_COOKIE, "")
    if token is None or not 20 <= len(csrf) <= 100 or header(scope, b"hx-request") is not None:
        return None
    return token, csrf


def avatar(display_name: str, avatar_path: str | None) -> str:
    return _AVATAR.render(display_name=display_name, avatar_path=avatar_path)


def with_length(headers: list[tuple[bytes, bytes]], body: bytes) -> list[tuple[bytes, bytes]]:
    return [*(h for h in headers if h[0].lower() != b"content-length"), (b"content-length", str(len(body)).encode())]


async def answer(send: Send, headers: list[tuple[bytes, bytes]], body: bytes, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Buffered:
    """The route's whole answer, held back (its body is rewritten before it leaves)."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.done = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            self.done = not message.get("more_body", False)

    @property
    def storable(self) -> bool:
        return self.status == 200 and self.done and not any(n.lower() == b"set-cookie" for n, _ in self.headers)

    @property
    def html(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


async def render_shared(app: ASGIApp, scope: Scope, receive: Receive, **extra: object) -> Buffered:
    """The route's answer for this reader, rendered with :data:`CSRF_SENTINEL` as their token
    (``extra``: more scope keys for the route, e.g. where it reports what it read)."""
    jar = {**cookies(scope), CSRF_COOKIE: CSRF_SENTINEL}
    headers = [(n, v) for n, v in scope["headers"] if n != b"cookie"]
    headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in jar.items()).encode("latin-1")))
    captured = Buffered()
    await app({**scope, "headers": headers, **extra}, receive, captured)
    return captured


async def send_own(send: Send, captured: Buffered, csrf: str) -> None:
    """The route's answer as it made it, with the reader's own token put back."""
    body = captured.html.replace(CSRF_SENTINEL, str(escape(csrf))).encode()
    await answer(send, with_length(captured.headers, body), body, captured.status or 500)


def split(html: str, reader_avatar: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The page rendered for one reader cut into the parts every reader shares, or ``None`` when
    the reader's avatar is not exactly once inside base.html's account link (then not shared)."""
    start = html.find(AVATAR_LINK)
    if start < 0 or html.find(AVATAR_LINK, start + 1) >= 0:
        return None
    end = html.find("</a>", start)
    at = html.find(reader_avatar, start, end)
    if at < 0 or html.find(reader_avatar, at + 1, end) >= 0:
        return None
    html = html[:at] + READER_SENTINEL + html[at + len(reader_avatar):]
    parts: list[str] = []
    slots: list[str] = []
    for piece in _SPLIT.split(html):
        (slots if piece in (READER_SENTINEL, CSRF_SENTINEL) else parts).append(piece)
    return tuple(parts), tuple(slots)


def personal(page: SharedPage, reader_avatar: str, csrf: str) -> bytes:
    """The shared page with this reader's avatar and CSRF token."""
    values = {READER_SENTINEL: reader_avatar, CSRF_SENTINEL: str(escape(csrf))}
    out = [page.parts[0]]
    for slot, part in zip(page.slots, page.parts[1:], strict=True):
        out.append(values[slot])
        out.append(part)
    return "".join(out).encode()


async def send_shared(send: Send, page: SharedPage, reader_avatar: str, csrf: str) -> None:
    body = personal(page, reader_avatar, csrf)
    await answer(send, with_length(page.headers, body), body)
