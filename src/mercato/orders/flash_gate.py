"""The flash-sale gate: refuse a buy-now for a sold-out item before the framework is entered.

In a flash sale nearly every ``POST /api/v1/checkouts`` is a refusal. Through FastAPI each one
pays for routing, dependency solving, body validation and three ORM queries; this pure ASGI
layer answers it with ONE read statement and the same ``409 out_of_stock`` body the checkout
would give (both come from :mod:`mercato.orders.sold_out`, which decides "sold out" for every
path).

Contract (the gate only ever *refuses*; everything else goes on to the real route unchanged):

- only ``POST /api/v1/checkouts`` with ``Authorization: Bearer``, a JSON body that validates as
  :class:`~mercato.orders.schemas.CheckoutIn`, ``items`` naming ONE variant (quantities merged,
  at most ``max_cart_quantity``) and, if present, a well-formed ``Idempotency-Key``;
- one statement (:data:`mercato.orders.repository.GATE_FACTS_SQL`, composed of the accounts'
  and the catalog's fragments) reads: the session (active, not revoked, not expired; else the
  route answers ``401``), whether the Idempotency-Key is already known in
  ``user:{id}:checkouts`` (then the route replays the stored answer), and the variant's
  availability and its product's status (a missing or inactive product goes on, to be
  answered ``404``);
- it refuses when the committed snapshot shows fewer units than wanted
  (:func:`mercato.orders.sold_out.short`): the answer the buyer would have had a moment
  earlier, never an oversell — the guarded update in :func:`mercato.inventory.service.reserve`
  alone decides who gets a unit;
- a buy that passes also takes an in-flight claim (:mod:`mercato.orders.flash_claims`; in Redis
  when Redis is configured, so every process shares them, else in this process): units admitted
  towards the write path but not yet committed count as taken, so once every remaining unit is
  claimed further buyers are refused here instead of queueing for the database only to be
  refused there (see that module for why it never refuses for long by mistake);
- a LIVE buy (``live_id``) is decided the same way once LIVE selling has registered its part
  (``orders.hooks.LiveGate``; orders never import the LIVE domain): the statement also reads the
  running deal of that LIVE on the variant (units left, per-buyer limit, this buyer's count,
  opened or not), and the gate keeps the route's order (``api.sold_out_gate``): the ``live_buy``
  rate limit counts the buy first (``429``, marked ``LIVE_BUY_COUNTED`` so that the route does
  not count it twice), then ``409 out_of_stock``, then the deal's ``409 deal_not_open``,
  ``deal_limit_reached`` or ``deal_sold_out`` (bodies from live/selling, as the route's). An
  admitted LIVE buy claims the deal's units in flight as well as the variant's, so that once
  every unit left of the deal is claimed further buyers get ``deal_sold_out`` here; the guarded
  updates of ``live.selling`` alone decide who gets a deal unit;
- anything unexpected (a database error, a busy SQLite file, a body it does not understand)
  goes on to the route, which decides for real.

The read goes through the database's fast read path (``Database.committed_reads``,
kit/sql/committed.py): on SQLite inline on the event loop through the process's read-only
``sqlite3`` connection in autocommit mode (every statement sees the latest commit; WAL readers
never wait for the writer), cheaper than a hop to aiosqlite's thread; on PostgreSQL on the
app's engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.kit.db import Database
from mercato.kit.errors import TooManyRequests
from mercato.kit.ratelimit import RULES, RateLimiter
from mercato.kit.security import token_digest
from mercato.orders import flash_claims, hooks, repository, sold_out
from mercato.orders.schemas import CheckoutIn

PATH = "/api/v1/checkouts"
#: Set in the ASGI scope when the gate read the request and let it through, so the route's own
#: sold-out dependency does not read the same facts a second time.
CHECKED = "mercato.sold_out_checked"
#: ``scope`` key of a callable that drops the buy's in-flight claim: the route calls it when its
#: transaction ends (``kit.db.on_end``), so that the claim is not counted beside the committed
#: reservation while the answer is still on its way (the gate drops it afterwards otherwise).
DROP_CLAIM = "mercato.flash_gate.drop_claim"
#: Set in the ASGI scope once a LIVE buy was counted under the ``live_buy`` rate limit (by the
#: gate or by the route's ``sold_out_gate``): it is counted once per request.
LIVE_BUY_COUNTED = "mercato.live_buy_counted"
MAX_BODY = 64 * 1024
MAX_TOKEN = 200
MAX_KEY = 255



@dataclass(frozen=True)
class BuyFacts:
    """What one statement knows about a buy-now request."""

    user_id: int
    key_known: bool
    available: int | None  # None: no such variant
    variant_title: str
    product_title: str
    product_status: str
    variant_created: str  # with the id: names the variant's in-flight claims
    deal: hooks.LiveDealFacts | None = None  # a LIVE buy: the LIVE's running deal on the variant


@dataclass(frozen=True)
class BuyRequest:
    digest: str
    key: str | None
    variant_id: int
    quantity: int
    live_id: int | None = None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def parse_buy(scope: Scope, body: bytes, max_quantity: int, live: bool = False) -> BuyRequest | None:
    """The buy-now the gate may decide, or ``None`` (the route decides). A LIVE buy only when
    ``live`` (LIVE selling registered the gate's part of it)."""
    auth = _header(scope, b"authorization")
    if auth is None or auth[:7].lower() != b"bearer ":
        return None
    token = auth[7:].strip().decode("latin-1")
    if not token or len(token) > MAX_TOKEN:
        return None
    content_type = _header(scope, b"content-type") or b""
    if not content_type.lower().startswith(b"application/json"):
        return None
    raw_key = _header(scope, b"idempotency-key")
    key: str | None = None
    if raw_key is not None:
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY:
            return None
    try:
        checkout = CheckoutIn.model_validate_json(body)
    except ValueError:
        return None
    if not checkout.items or (checkout.live_id is not None and not live):
        return None
    wanted: dict[int, int] = defaultdict(int)
    for item in checkout.items:
        wanted[item.variant_id] += item.quantity
    if len(wanted) != 1:
        return None
    ((variant_id, quantity),) = wanted.items()
    if quantity > max_quantity:
        return None
    return BuyRequest(digest=token_digest(token), key=key, variant_id=variant_id, quantity=quantity,
                      live_id=checkout.live_id)


class FactsReader:
    """Runs the gate's one statement (:func:`mercato.orders.repository.gate_facts`) on the
    database's fast read path (:class:`mercato.kit.sql.committed.CommittedReads`: inline
    ``sqlite3`` on SQLite, the app's engine on PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def usable(self) -> bool:
        return self.database.committed_reads.available

    async def read(self, buy: BuyRequest) -> BuyFacts | None:
        live = hooks.live_gate() if buy.live_id is not None else None
        if buy.live_id is not None and live is None:
            return None
        row = await repository.gate_facts(self.database.committed_reads, buy.digest, buy.key, buy.variant_id,
                                          datetime.now(UTC), buy.live_id, live)
        if row is None:
            return None
        return BuyFacts(user_id=int(row[0]), key_known=row[1] is not None,
                        available=None if row[2] is None else int(row[2]), variant_title=row[3] or "",
                        product_title=row[4] or "", product_status=row[5] or "",
                        variant_created=str(row[6]), deal=None if live is None else live.facts(row[7:]))


async def _read_body(receive: Receive) -> tuple[bytes, list[Message], bool]:
    """The whole body (up to :data:`MAX_BODY`), the messages read, and whether it is complete."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return b"", messages, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return b"", messages, False
        if not message.get("more_body", False):
            return b"".join(chunks), messages, True


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class SoldOutGate:
    """Pure ASGI middleware in front of the app; see the module docstring for the contract."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._reader: FactsReader | None = None
        self._local = flash_claims.LocalClaims()
        self._redis: flash_claims.RedisClaims | None = None
        self._dropping: set[asyncio.Task[None]] = set()  # Redis releases under way (kept referenced)

    def reader(self, database: Database) -> FactsReader:
        if self._reader is None or self._reader.database is not database:
            self._reader = FactsReader(database)
        return self._reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        body, messages, complete = await _read_body(receive)
        replay = _replaying(messages, receive)
        if not complete:
            await self.app(scope, replay, send)
            return
        state = scope["app"].state
        database: Database | None = getattr(state, "db", None)
        buy = (parse_buy(scope, body, state.settings.max_cart_quantity, hooks.live_gate() is not None)
               if database is not None else None)
        if buy is None or database is None:
            await self.app(scope, replay, send)
            return
        reader = self.reader(database)
        try:
            facts = await reader.read(buy) if reader.usable else None
        except Exception:  # the gate only refuses; the route decides whenever it cannot
            facts = None
        if facts is None:
            await self.app(scope, replay, send)
            return
        if buy.live_id is not None:  # anti-scalping counts every LIVE buy, the refused ones too: first
            limiter: RateLimiter = state.rate_limiter
            try:
                await limiter.hit(RULES["live_buy"], f"user:{facts.user_id}")
            except TooManyRequests as exc:
                await _answer(send, exc.status, exc.body(), [(b"retry-after", str(exc.retry_after).encode())])
                return
            scope[LIVE_BUY_COUNTED] = True
        if facts.key_known or facts.available is None or facts.product_status != "active":
            await self.app(scope, replay, send)
            return
        if sold_out.short(facts.available, buy.quantity):
            await _answer(send, 409, sold_out.out_of_stock_body(buy.variant_id, facts.product_title,
                                                                facts.variant_title, facts.available))
            return
        live = hooks.live_gate() if facts.deal is not None else None
        if facts.deal is not None and live is not None:
            refused = live.refusal(facts.deal, buy.quantity)
            if refused is not None:
                await _answer(send, 409, refused)
                return
        claims = self.claims(state)
        holder = f"{facts.user_id}:{buy.key if buy.key is not None else uuid.uuid4().hex}"
        held: list[str] = []  # the claims this request took: dropped when its transaction ends
        passing = False  # an earlier request of the holder still holds a claim: the route decides
        # The variant's units first, then the deal's: the order in which the route refuses.
        wants = [(f"{buy.variant_id}:{facts.variant_created}", facts.available)]
        if facts.deal is not None:
            wants.append((f"deal:{facts.deal.deal_id}:{facts.deal.created}", facts.deal.units_left))
        for index, (name, available) in enumerate(wants):
            try:
                outcome = await claims.claim(name, holder, available, buy.quantity)
            except Exception:  # Redis unreachable: the route decides, as without the gate
                outcome = flash_claims.ALREADY_HELD
            if outcome >= 0:
                await self._release_all(claims, held, holder)
                if index == 0:
                    await _answer(send, 409, sold_out.out_of_stock_body(buy.variant_id, facts.product_title,
                                                                        facts.variant_title, outcome))
                else:
                    assert facts.deal is not None and live is not None
                    await _answer(send, 409, live.sold_out(facts.deal.deal_id, outcome))
                return
            if outcome == flash_claims.ADMITTED:
                held.append(name)
            else:
                passing = True
        scope[CHECKED] = True
        if passing and not held:
            await self.app(scope, replay, send)
            return
        dropped = False

        def drop_claim() -> None:
            nonlocal dropped
            if not dropped:
                dropped = True
                for name in held:
                    self._drop(claims, name, holder)

        scope[DROP_CLAIM] = drop_claim
        try:
            await self.app(scope, replay, send)
        finally:
            if not dropped:
                dropped = True
                await self._release_all(claims, held, holder)

    @staticmethod
    async def _release_all(claims: flash_claims.Claims, held: list[str], holder: str) -> None:
        for name in held:
            with contextlib.suppress(Exception):
                await claims.release(name, holder)

    def _drop(self, claims: flash_claims.Claims, variant: str, holder: str) -> None:
        """Drop a claim from synchronous code: at once in process memory, as a task on Redis."""
        if isinstance(claims, flash_claims.LocalClaims):
            claims.drop(variant, holder)
            return
        task = asyncio.get_running_loop().create_task(claims.release(variant, holder))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    def claims(self, state: Any) -> flash_claims.Claims:
        """Redis claims when Redis is configured (shared by every process), else this process's."""
        redis = getattr(state, "redis", None)
        if redis is None:
            return self._local
        if self._redis is None or self._redis.redis is not redis:
            self._redis = flash_claims.RedisClaims(redis)
        return self._redis


async def _answer(send: Send, status: int, body: dict[str, Any],
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json"),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})
