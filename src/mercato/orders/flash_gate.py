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
from mercato.kit.security import token_digest
from mercato.orders import flash_claims, repository, sold_out
from mercato.orders.schemas import CheckoutIn

PATH = "/api/v1/checkouts"
#: Set in the ASGI scope when the gate read the request and let it through, so the route's own
#: sold-out dependency does not read the same facts a second time.
CHECKED = "mercato.sold_out_checked"
#: ``scope`` key of a callable that drops the buy's in-flight claim: the route calls it when its
#: transaction ends (``kit.db.on_end``), so that the claim is not counted beside the committed
#: reservation while the answer is still on its way (the gate drops it afterwards otherwise).
DROP_CLAIM = "mercato.flash_gate.drop_claim"
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


@dataclass(frozen=True)
class BuyRequest:
    digest: str
    key: str | None
    variant_id: int
    quantity: int


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def parse_buy(scope: Scope, body: bytes, max_quantity: int) -> BuyRequest | None:
    """The buy-now the gate may decide, or ``None`` (the route decides)."""
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
    if not checkout.items or checkout.live_id is not None:  # a LIVE buy: its deal decides (the route)
        return None
    wanted: dict[int, int] = defaultdict(int)
    for item in checkout.items:
        wanted[item.variant_id] += item.quantity
    if len(wanted) != 1:
        return None
    ((variant_id, quantity),) = wanted.items()
    if quantity > max_quantity:
        return None
    return BuyRequest(digest=token_digest(token), key=key, variant_id=variant_id, quantity=quantity)


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
        row = await repository.gate_facts(self.database.committed_reads, buy.digest, buy.key, buy.variant_id,
                                          datetime.now(UTC))
        if row is None:
            return None
        return BuyFacts(user_id=int(row[0]), key_known=row[1] is not None,
                        available=None if row[2] is None else int(row[2]), variant_title=row[3] or "",
                        product_title=row[4] or "", product_status=row[5] or "",
                        variant_created=str(row[6]))


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
        buy = parse_buy(scope, body, state.settings.max_cart_quantity) if database is not None else None
        if buy is None or database is None:
            await self.app(scope, replay, send)
            return
        reader = self.reader(database)
        try:
            facts = await reader.read(buy) if reader.usable else None
        except Exception:  # the gate only refuses; the route decides whenever it cannot
            facts = None
        if facts is None or facts.key_known or facts.available is None or facts.product_status != "active":
            await self.app(scope, replay, send)
            return
        if sold_out.short(facts.available, buy.quantity):
            await _answer(send, 409, sold_out.out_of_stock_body(buy.variant_id, facts.product_title,
                                                                facts.variant_title, facts.available))
            return
        claims = self.claims(state)
        variant = f"{buy.variant_id}:{facts.variant_created}"
        holder = f"{facts.user_id}:{buy.key if buy.key is not None else uuid.uuid4().hex}"
        try:
            outcome = await claims.claim(variant, holder, facts.available, buy.quantity)
        except Exception:  # Redis unreachable: the route decides, as without the gate
            outcome = flash_claims.ALREADY_HELD
        if outcome >= 0:
            await _answer(send, 409, sold_out.out_of_stock_body(buy.variant_id, facts.product_title,
                                                                facts.variant_title, outcome))
            return
        scope[CHECKED] = True
        if outcome != flash_claims.ADMITTED:
            await self.app(scope, replay, send)
            return
        dropped = False

        def drop_claim() -> None:
            nonlocal dropped
            if not dropped:
                dropped = True
                self._drop(claims, variant, holder)

        scope[DROP_CLAIM] = drop_claim
        try:
            await self.app(scope, replay, send)
        finally:
            if not dropped:
                dropped = True
                with contextlib.suppress(Exception):
                    await claims.release(variant, holder)

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


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})
