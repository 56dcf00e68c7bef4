"""The signed-in cart page (``GET /cart``) kept per reader and re-checked on every request.

The page shows the reader's cart lines and, for each, its product, variant, shop, price and
stock: everything that ``products.version`` (migration 0014) tracks. So each reader's page is
kept with what it showed — (cart item id, quantity, product version) per line — and one
committed read per request (``orders/repository.py``: ``cart_page_facts``, which also resolves
the session) tells whether it still holds: any line added, removed or changed, and any change of
a shown product (price, stock, title, image, shop name), by this process or another, makes the
route render it again. The page is read before the route renders it, so a kept page is never
older than what it was checked against. The CSRF token and the header's avatar are put back per
answer (``web/shared_pages.py``), so one browser's token never reaches another; a page with
``?error=…`` and anything but a plain ``200`` are the route's.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from mercato.kit.security import token_digest
from mercato.orders import repository
from mercato.web import shared_pages as shared

if TYPE_CHECKING:
    from mercato.kit.db import Database

CART_PAGE = "/cart"
MAX_READERS = 4096

_LIVE: weakref.WeakSet[SharedCartPage] = weakref.WeakSet()


def clear_all() -> None:
    """Forget every kept cart page of this process (a database emptied or restored behind its back)."""
    for layer in list(_LIVE):
        layer.pages.clear()


@dataclass(frozen=True, slots=True)
class CartPage:
    lines: tuple[tuple[int, int, int], ...]
    page: shared.SharedPage


class SharedCartPage:
    """Pure ASGI middleware; see the module docstring for the contract."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pages: dict[int, CartPage] = {}
        _LIVE.add(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != CART_PAGE or scope.get(
                "query_string"):
            await self.app(scope, receive, send)
            return
        database: Database | None = getattr(scope["app"].state, "db", None)
        reader = shared.page_reader(scope)
        if database is None or reader is None or not database.committed_reads.available:
            await self.app(scope, receive, send)
            return
        token, csrf = reader
        try:
            facts = await repository.cart_page_facts(database.committed_reads, token_digest(token), datetime.now(UTC))
        except Exception:  # the check only answers from what is kept; the route decides whenever it cannot
            facts = None
        if facts is None:
            await self.app(scope, receive, send)
            return
        user_id, display_name, avatar_path, lines = facts
        avatar = shared.avatar(display_name, avatar_path)
        kept = self.pages.get(user_id)
        if kept is not None and kept.lines == lines:
            await shared.send_shared(send, kept.page, avatar, csrf)
            return
        captured = await shared.render_shared(self.app, scope, receive)
        cut = shared.split(captured.html, avatar) if captured.storable else None
        if cut is None:
            await shared.send_own(send, captured, csrf)
            return
        kept = CartPage(lines=lines, page=shared.SharedPage(expires=float("inf"), headers=captured.headers,
                                                            parts=cut[0], slots=cut[1]))
        await shared.send_shared(send, kept.page, avatar, csrf)
        if len(self.pages) >= MAX_READERS:
            self.pages.pop(next(iter(self.pages)))
        self.pages[user_id] = kept
