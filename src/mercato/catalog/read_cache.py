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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.catalog import repository as repo
from mercato.kit.cache import NON_INVALIDATING
from mercato.kit.security import token_digest
from mercato.web import shared_pages as shared

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mercato.kit.db import Database

PRODUCT_PATH = re.compile(r"^/api/v1/products/(\d{1,18})$")
LISTING_PATH = "/api/v1/products"
PRODUCT_PAGE = re.compile(r"^/products/(\d{1,18})$")
SHOP_PAGE = "/shop"
SELLER_PAGE = re.compile(r"^/seller/([a-z0-9][a-z0-9-]{0,59})$")
READ_PREFIXES = ("/products/", "/api/v1/products/", "/seller/")
SCOPE_KEY = "mercato.catalog_versions"
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
    version: int  # the page's product (product page), else 0
    versions: dict[int, int]  # every other product the page shows
    page: shared.SharedPage


def _oldest(versions: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each product's lowest reported version: a page that read a product twice (the product and
    its shop's related products) is only as new as its older read."""
    out: dict[int, int] = {}
    for product_id, version in versions:
        out[product_id] = min(version, out.get(product_id, version))
    return out


def _json(content: Any) -> bytes:
    """The bytes FastAPI's ``JSONResponse`` renders for ``content``."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


class _Captured(shared.Buffered):
    """The route's answer, passed on to the client as it comes and kept for the cache."""

    def __init__(self, send: Send) -> None:
        super().__init__()
        self.send = send

    async def __call__(self, message: Message) -> None:
        await super().__call__(message)
        await self.send(message)


class SignedInReads:
    """Pure ASGI middleware; see the module docstring for the contract."""

    def __init__(self, app: ASGIApp, page_seconds: float) -> None:
        self.app = app
        self.page_seconds = page_seconds
        self.products: dict[int, ProductBody] = {}
        self.pages: dict[bytes, PageBody] = {}
        self.html: dict[tuple[str, bytes, bool, bool], HtmlPage] = {}
        self.seller: dict[tuple[str, bytes, str], tuple[tuple[str, int, int], shared.SharedPage]] = {}
        _LIVE.add(self)

    def clear(self) -> None:
        self.products.clear()
        self.pages.clear()
        self.html.clear()
        self.seller.clear()

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
        if method != "GET" or not (path in (SHOP_PAGE, LISTING_PATH) or path.startswith(READ_PREFIXES)):
            await self.app(scope, receive, send)
            return
        database: Database | None = getattr(scope["app"].state, "db", None)
        if database is None or not database.committed_reads.available:
            await self.app(scope, receive, send)
            return
        if path == SHOP_PAGE or PRODUCT_PAGE.match(path) or SELLER_PAGE.match(path):
            reader = shared.page_reader(scope)
            if reader is not None:
                if path.startswith("/seller/"):
                    await self._seller(scope, receive, send, database, *reader)
                else:
                    await self._html(scope, receive, send, database, *reader)
                return
        elif path == LISTING_PATH or PRODUCT_PATH.match(path):
            token = shared.session_token(scope)
            if token is not None:
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
            await shared.answer(send, *(entry.favourite if facts.favourited else entry.plain))
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
            forms.append((shared.with_length(captured.headers, body), body))
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
                await shared.answer(send, entry.headers, entry.body)
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
        avatar = shared.avatar(facts.display_name, facts.avatar_path)
        key = (scope["path"], scope.get("query_string", b""), facts.favourited, facts.is_member)
        entry = self.html.get(key)
        now = time.monotonic()
        if entry is not None and entry.page.expires > now and entry.version == facts.version:
            try:
                current = await repo.listing_versions(database.committed_reads, list(entry.versions)) \
                    if entry.versions else {}
            except Exception:  # as above
                current = None
            if current == entry.versions:
                await shared.send_shared(send, entry.page, avatar, csrf)
                return
        versions: list[tuple[int, int]] = []
        captured = await shared.render_shared(self.app, scope, receive, **{SCOPE_KEY: versions})
        own = _oldest(versions)
        cut = shared.split(captured.html, avatar) if captured.storable and own else None
        # Not shared: not a plain 200, or (product page) changed since the reader's flags were read
        # (a favourite just toggled) or not reported by the route.
        if cut is None or (product_id and own.get(product_id) != facts.version):
            await shared.send_own(send, captured, csrf)
            return
        version = own.pop(product_id, 0)
        entry = HtmlPage(version=version, versions=own, page=shared.SharedPage(
            expires=now + self.page_seconds, headers=captured.headers, parts=cut[0], slots=cut[1]))
        await shared.send_shared(send, entry.page, avatar, csrf)
        if len(self.html) >= MAX_PAGES:
            self.html.pop(next(iter(self.html)))
        self.html[key] = entry

    async def _seller(self, scope: Scope, receive: Receive, send: Send, database: Database, token: str,
                      csrf: str) -> None:
        """A Seller Center products page: shared by the shop's members of one role, kept while the
        shop's fingerprint (its row, its products' count and versions) is unchanged — exact, in
        every process. Read before the route renders, so a kept page is never older than it."""
        match = SELLER_PAGE.match(scope["path"])
        assert match is not None
        try:
            facts = await repo.seller_page_facts(database.committed_reads, token_digest(token), datetime.now(UTC),
                                                 match.group(1))
        except Exception:  # the check only answers from the cache; the route decides whenever it cannot
            facts = None
        if facts is None or facts.role is None:
            await self.app(scope, receive, send)
            return
        avatar = shared.avatar(facts.display_name, facts.avatar_path)
        key = (scope["path"], scope.get("query_string", b""), facts.role)
        kept = self.seller.get(key)
        if kept is not None and kept[0] == facts.fingerprint:
            await shared.send_shared(send, kept[1], avatar, csrf)
            return
        captured = await shared.render_shared(self.app, scope, receive)
        cut = shared.split(captured.html, avatar) if captured.storable else None
        if cut is None:
            await shared.send_own(send, captured, csrf)
            return
        page = shared.SharedPage(expires=float("inf"), headers=captured.headers, parts=cut[0], slots=cut[1])
        await shared.send_shared(send, page, avatar, csrf)
        if len(self.seller) >= MAX_PAGES:
            self.seller.pop(next(iter(self.seller)))
        self.seller[key] = (facts.fingerprint, page)
