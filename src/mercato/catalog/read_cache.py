"""Shared catalog bodies for signed-in readers: product JSON and the Shop Tab listing / search.

A signed-in ``GET /api/v1/products/{id}`` or ``GET /api/v1/products?…`` used to run the whole
route every time (FastAPI, a unit of work, the ORM, pydantic): two orders of magnitude slower
than the anonymous micro-cache (``kit/cache.py``), which a signed-in reader skips because its
answers hold personal state. This pure ASGI layer answers them from bodies shared by every
reader of this process, checked per request against the database with ONE committed read
(``catalog/repository.py``: ``product_facts``, which also resolves the session, /
``listing_versions``), and with the personal part laid on top:

- **product JSON**: the body is keyed by the product's ``version`` (bumped by database triggers on
  every change the body shows: product row, variants, images, shop, category and brand names;
  migration 0014), kept in two forms (``favourited`` false / true); the request's statement
  reads the reader's own favourite flag. A changed version (a seller's edit, a purchase, a review,
  a favourite) is seen by the next read, in every process: no staleness.
- **listing / search pages** (the same for every reader: cards carry no personal field): the
  body is kept with the versions of the products it shows; a hit needs every one unchanged and
  still active, so a shown product's price, stock or status is never stale. Which products a
  page holds (a new product, one that a change moved into the page) may lag by at most
  ``catalog_cache_seconds`` in another process; a write handled by this process (other than
  the buying paths, whose effect on a page is stock, which the versions catch) drops every page.
- Only ``200`` answers without ``Set-Cookie`` are stored; drafts, archived products, unknown
  sessions and any failure of the check go to the route unchanged (it answers ``401``/``404``
  as before). The route reports the versions of the rows it built a body from
  (:func:`report_versions`), so a body is never stored under a version newer than its content.
"""

from __future__ import annotations

import json
import re
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from markupsafe import escape
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.catalog import repository as repo
from mercato.kit.cache import NON_INVALIDATING
from mercato.kit.security import token_digest
from mercato.web.render import env

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mercato.kit.db import Database

PRODUCT_PATH = re.compile(r"^/api/v1/products/(\d{1,18})$")
LISTING_PATH = "/api/v1/products"
PRODUCT_PAGE = re.compile(r"^/products/(\d{1,18})$")
SHOP_PAGE = "/shop"
SESSION_COOKIE = "mercato_session"
CSRF_COOKIE = "mercato_csrf"
#: What a shared page holds where each reader's own values go: the CSRF token (the route renders
#: the page with this one, the reader's is put back per answer) and the header's avatar.
CSRF_SENTINEL = "shared-page-csrf-token-0000000000000000000"
READER_SENTINEL = "<!--mercato:reader-avatar-->"
AVATAR_LINK = '<a href="/me" class="avatar-link" aria-label="Your account">'
#: base.html's avatar of the signed-in reader, rendered the same way for each reader.
_AVATAR = env.from_string(
    '{% if user.avatar_path %}<img class="avatar sm" src="/media/{{ user.avatar_path }}" alt="">'
    '{% else %}<span class="avatar sm initials">{{ user.display_name[:1] | upper }}</span>{% endif %}')
SCOPE_KEY = "mercato.catalog_versions"
MAX_TOKEN = 200
MAX_PRODUCTS = 8192
MAX_PAGES = 2048

_LIVE: weakref.WeakSet[SignedInReads] = weakref.WeakSet()


def clear_all() -> None:
    """Forget every shared body of this process (a database emptied or restored behind its back,
    where product ids and versions may start again)."""
    for layer in list(_LIVE):
        layer.clear()


def report_versions(scope: Scope, versions: Iterable[tuple[int, int]]) -> None:
    """Called by a route: the (product id, version) of the rows its body was built from."""
    holder = scope.get(SCOPE_KEY)
    if isinstance(holder, list):
        holder.extend(versions)


@dataclass(frozen=True, slots=True)
class ProductBody:
    version: int
    plain: tuple[list[tuple[bytes, bytes]], bytes]  # favourited false: headers, body
    favourite: tuple[list[tuple[bytes, bytes]], bytes]  # favourited true


@dataclass(frozen=True, slots=True)
class PageBody:
    expires: float
    versions: dict[int, int]
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True, slots=True)
class HtmlPage:
    expires: float
    version: int  # the page's product (product page), else 0
    versions: dict[int, int]  # every other product the page shows
    headers: list[tuple[bytes, bytes]]
    parts: tuple[str, ...]  # the page split at the sentinels: text, reader/csrf slot, text, …
    slots: tuple[str, ...]  # which sentinel each gap between parts is


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1"))
    return {}


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            if value[:7].lower() == b"bearer ":
                token = value[7:].strip().decode("latin-1")
                return token if 0 < len(token) <= MAX_TOKEN else None
            return None
    token = _cookies(scope).get(SESSION_COOKIE)
    return token if token and len(token) <= MAX_TOKEN else None


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return None


def _shared_page(html: str, avatar: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The page rendered for one reader (with :data:`CSRF_SENTINEL` as its token) cut into the
    parts every reader shares, or ``None`` when the reader's avatar is not exactly where
    base.html puts it (then the page is not shared)."""
    start = html.find(AVATAR_LINK)
    if start < 0 or html.find(AVATAR_LINK, start + 1) >= 0:
        return None
    end = html.find("</a>", start)
    at = html.find(avatar, start, end)
    if at < 0 or html.find(avatar, at + 1, end) >= 0:
        return None
    html = html[:at] + READER_SENTINEL + html[at + len(avatar):]
    parts: list[str] = []
    slots: list[str] = []
    for piece in re.split(f"({re.escape(READER_SENTINEL)}|{re.escape(CSRF_SENTINEL)})", html):
        if piece in (READER_SENTINEL, CSRF_SENTINEL):
            slots.append(piece)
        else:
            parts.append(piece)
    return tuple(parts), tuple(slots)


def _personal(page: HtmlPage, avatar: str, csrf: str) -> bytes:
    values = {READER_SENTINEL: avatar, CSRF_SENTINEL: str(escape(csrf))}
    out = [page.parts[0]]
    for slot, part in zip(page.slots, page.parts[1:], strict=True):
        out.append(values[slot])
        out.append(part)
    return "".join(out).encode()


def _oldest(versions: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each product's lowest reported version: a page that read a product twice (the product and
    its shop's related products) is only as new as its older read."""
    out: dict[int, int] = {}
    for product_id, version in versions:
        out[product_id] = min(version, out.get(product_id, version))
    return out


def _with_length(headers: list[tuple[bytes, bytes]], body: bytes) -> list[tuple[bytes, bytes]]:
    return [*(h for h in headers if h[0].lower() != b"content-length"), (b"content-length", str(len(body)).encode())]


def _json(content: Any) -> bytes:
    """The bytes FastAPI's ``JSONResponse`` renders for ``content``."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


class _Captured:
    """The route's answer, passed on to the client as it comes and kept for the cache."""

    def __init__(self, send: Send) -> None:
        self.send = send
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
        await self.send(message)

    @property
    def storable(self) -> bool:
        return self.status == 200 and self.done and not any(n.lower() == b"set-cookie" for n, _ in self.headers)


async def _answer(send: Send, headers: list[tuple[bytes, bytes]], body: bytes, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SignedInReads:
    """Pure ASGI middleware; see the module docstring for the contract."""

    def __init__(self, app: ASGIApp, page_seconds: float) -> None:
        self.app = app
        self.page_seconds = page_seconds
        self.products: dict[int, ProductBody] = {}
        self.pages: dict[bytes, PageBody] = {}
        self.html: dict[tuple[str, bytes, bool, bool], HtmlPage] = {}
        _LIVE.add(self)

    def clear(self) -> None:
        self.products.clear()
        self.pages.clear()
        self.html.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method not in ("GET", "HEAD"):
            try:
                await self.app(scope, receive, send)
            finally:
                if not NON_INVALIDATING.match(path):
                    self.pages.clear()  # a new or changed product may enter any page
                    self.html.clear()
            return
        if method == "GET" and (path == SHOP_PAGE or PRODUCT_PAGE.match(path)):
            token = _token(scope)
            database_: Database | None = getattr(scope["app"].state, "db", None)
            csrf = _cookies(scope).get(CSRF_COOKIE, "")
            # A browser without its CSRF cookie yet gets it from the route (a Set-Cookie answer);
            # htmx partials are the route's.
            if (token is not None and database_ is not None and database_.committed_reads.available
                    and 20 <= len(csrf) <= 100 and _header(scope, b"hx-request") is None):
                await self._html(scope, receive, send, database_, token, csrf)
                return
        if method == "GET" and (path == LISTING_PATH or PRODUCT_PATH.match(path)):
            token = _token(scope)
            database: Database | None = getattr(scope["app"].state, "db", None)
            if token is not None and database is not None and database.committed_reads.available:
                if path == LISTING_PATH:
                    await self._page(scope, receive, send, database)
                else:
                    await self._product(scope, receive, send, database, token)
                return
        await self.app(scope, receive, send)

    async def _product(self, scope: Scope, receive: Receive, send: Send, database: Database, token: str) -> None:
        match = PRODUCT_PATH.match(scope["path"])
        assert match is not None
        product_id = int(match.group(1))
        try:
            facts = await repo.product_facts(database.committed_reads, token_digest(token), datetime.now(UTC),
                                             product_id)
        except Exception:  # the check only answers from the cache; the route decides whenever it cannot
            facts = None
        if facts is None or facts.status != "active":
            await self.app(scope, receive, send)
            return
        entry = self.products.get(product_id)
        if entry is not None and entry.version == facts.version:
            await _answer(send, *(entry.favourite if facts.favourited else entry.plain))
            return
        versions: list[tuple[int, int]] = []
        scope[SCOPE_KEY] = versions
        captured = _Captured(send)
        await self.app(scope, receive, captured)
        own = _oldest(versions)
        if not captured.storable or set(own) != {product_id}:
            return
        content = json.loads(b"".join(captured.chunks))
        forms = []
        for favourited in (False, True):
            content["favourited"] = favourited
            body = _json(content)
            forms.append((_with_length(captured.headers, body), body))
        if len(self.products) >= MAX_PRODUCTS:
            self.products.pop(next(iter(self.products)))
        self.products[product_id] = ProductBody(version=own[product_id], plain=forms[0], favourite=forms[1])

    async def _page(self, scope: Scope, receive: Receive, send: Send, database: Database) -> None:
        key = scope.get("query_string", b"")
        entry = self.pages.get(key)
        now = time.monotonic()
        if entry is not None and entry.expires > now:
            try:
                current = await repo.listing_versions(database.committed_reads, list(entry.versions))
            except Exception:  # as above: the route decides
                current = None
            if current == entry.versions:
                await _answer(send, entry.headers, entry.body)
                return
        versions: list[tuple[int, int]] = []
        scope[SCOPE_KEY] = versions
        captured = _Captured(send)
        await self.app(scope, receive, captured)
        # An empty page is not kept: there would be no version to check it against.
        if not captured.storable or not versions:
            return
        if len(self.pages) >= MAX_PAGES:
            self.pages.pop(next(iter(self.pages)))
        self.pages[key] = PageBody(expires=now + self.page_seconds, versions=_oldest(versions),
                                   headers=captured.headers, body=b"".join(captured.chunks))

    async def _html(self, scope: Scope, receive: Receive, send: Send, database: Database, token: str,
                    csrf: str) -> None:
        """A signed-in product page or Shop Tab page: shared by every reader with the same
        favourite and membership flags for it, checked like the JSON bodies (the product's version,
        the versions of every other product shown, page membership for ``page_seconds``)."""
        match = PRODUCT_PAGE.match(scope["path"])
        product_id = int(match.group(1)) if match else 0
        try:
            facts = await repo.product_facts(database.committed_reads, token_digest(token), datetime.now(UTC),
                                             product_id)
        except Exception:  # the check only answers from the cache; the route decides whenever it cannot
            facts = None
        if facts is None or (match is not None and facts.status != "active"):
            await self.app(scope, receive, send)
            return
        avatar = _AVATAR.render(user=facts)
        key = (scope["path"], scope.get("query_string", b""), facts.favourited, facts.is_member)
        entry = self.html.get(key)
        now = time.monotonic()
        if entry is not None and entry.expires > now and entry.version == facts.version:
            try:
                current = await repo.listing_versions(database.committed_reads, list(entry.versions)) \
                    if entry.versions else {}
            except Exception:  # as above
                current = None
            if current == entry.versions:
                body = _personal(entry, avatar, csrf)
                await _answer(send, _with_length(entry.headers, body), body)
                return
        # The route renders the page with the sentinel token in the reader's cookie; the reader's
        # own token is put back before the answer leaves.
        cookies = {**_cookies(scope), CSRF_COOKIE: CSRF_SENTINEL}
        headers = [(n, v) for n, v in scope["headers"] if n != b"cookie"]
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode("latin-1")))
        versions: list[tuple[int, int]] = []
        inner = {**scope, "headers": headers, SCOPE_KEY: versions}
        captured = _Buffered()
        await self.app(inner, receive, captured)
        html = b"".join(captured.chunks).decode() if captured.status else ""
        shared = _shared_page(html, avatar) if captured.storable and versions else None
        if shared is None:  # sent as the route made it, the reader's token put back
            body = html.replace(CSRF_SENTINEL, str(escape(csrf))).encode() if captured.status else b""
            await _answer(send, _with_length(captured.headers, body), body, captured.status or 500)
            return
        own = _oldest(versions)
        if product_id and product_id not in own:
            await _answer(send, _with_length(captured.headers, html.encode()), html.encode())
            return
        version = own.pop(product_id, 0)
        page = HtmlPage(expires=now + self.page_seconds, version=version, versions=own, headers=captured.headers,
                        parts=shared[0], slots=shared[1])
        body = _personal(page, avatar, csrf)
        await _answer(send, _with_length(captured.headers, body), body)
        if version != facts.version:
            return  # changed since the reader's flags were read (a favourite just toggled): not shared
        if len(self.html) >= MAX_PAGES:
            self.html.pop(next(iter(self.html)))
        self.html[key] = page


class _Buffered(_Captured):
    """The route's whole answer, held back (its body is rewritten before it leaves)."""

    def __init__(self) -> None:
        super().__init__(_discard)

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            self.done = not message.get("more_body", False)


async def _discard(message: Message) -> None:
    """Nothing: a buffered answer is sent by the layer itself."""
