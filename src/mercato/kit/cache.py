"""Micro-cache for anonymous catalog reads (the Shop Tab listing and product JSON).

Anonymous ``GET /api/v1/products…`` answers are the same for everyone, so each process keeps
them for ``catalog_cache_seconds`` and answers repeats before routing, database or
serialisation. Correctness rules:

- only anonymous requests (no ``Authorization`` header, no session cookie) and only ``200``
  answers without ``Set-Cookie`` are stored;
- a write (any unsafe method) handled by this process empties the cache, except the
  high-frequency buying paths (cart, checkout, payment, webhooks): their only effect on
  catalog answers is the ``available`` count, which may then lag by at most the TTL — the
  stock itself is always checked atomically when buying;
- other processes' writes show after at most the TTL;
- a change behind every process's back (a database restored or emptied) is made visible at once
  with :func:`clear_all`.
"""

from __future__ import annotations

import random
import re
import time
import weakref
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHED_PATHS = re.compile(r"^/api/v1/products(/\d+)?$")
NON_INVALIDATING = re.compile(r"^/api/v1/(cart|checkouts|payments|webhooks)(/|$)|^/(cart|checkout)(/|$)")
SESSION_COOKIE = b"mercato_session="
MAX_ENTRIES = 4096


#: Every cache of this process (an app has one; weak, so a dropped app takes its cache along).
_LIVE: weakref.WeakSet[CatalogReadCache] = weakref.WeakSet()


def clear_all() -> None:
    """Empty every micro-cache of this process: for a database changed behind the app's back
    (restored or emptied), whose old answers must not be served for another TTL."""
    for cache in list(_LIVE):
        cache.clear()


@dataclass
class Entry:
    expires: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class CatalogReadCache:
    def __init__(self, app: ASGIApp, ttl_seconds: float) -> None:
        self.app = app
        self.ttl = ttl_seconds
        self.entries: dict[tuple[str, bytes], Entry] = {}
        _LIVE.add(self)

    def clear(self) -> None:
        self.entries.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.ttl <= 0:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method not in ("GET", "HEAD"):
            try:
                await self.app(scope, receive, send)
            finally:
                if not NON_INVALIDATING.match(path):
                    self.clear()
            return
        if method != "GET" or not CACHED_PATHS.match(path) or not self._anonymous(scope):
            await self.app(scope, receive, send)
            return
        key = (path, scope.get("query_string", b""))
        now = time.monotonic()
        entry = self.entries.get(key)
        if entry is not None and entry.expires > now:
            await send({"type": "http.response.start", "status": entry.status, "headers": entry.headers})
            await send({"type": "http.response.body", "body": entry.body})
            return
        captured: dict[str, object] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    captured["done"] = True
            await send(message)

        await self.app(scope, receive, capture)
        headers = captured.get("headers")
        if captured.get("status") == 200 and captured.get("done") and isinstance(headers, list) and not any(
            name.lower() == b"set-cookie" for name, _ in headers
        ):
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
            # Jittered lifetimes: entries filled together do not all expire (and miss) together.
            lifetime = self.ttl * random.uniform(0.75, 1.25)
            self.entries[key] = Entry(expires=now + lifetime, status=200, headers=headers, body=b"".join(chunks))

    @staticmethod
    def _anonymous(scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE in value):
                return False
        return True
