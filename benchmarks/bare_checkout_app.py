"""The reference of the ``checkout`` benchmark: a bare writer of the buying loop's rows.

The same three routes as the app, each writing **the same rows into the same tables of the same
migrated schema, in the same transactions**, with the plain driver and nothing else: no FastAPI,
no ORM, no Pydantic, no Mercato code on the request path (Mercato is imported only at start-up,
for the settings the rows depend on: reservation time-to-live, referral fee, SQLite pragmas).
No validation and no reads beyond what the writes need (the caller's user id, the cart lines'
prices and titles for the order rows, the ids ``RETURNING`` gives back, the ledger accounts'
ids, the names and addresses the emails carry). ``benchmarks/checkout.py`` serves it with
exactly the uvicorn settings of the app on a fresh database prepared the same way, so the ratio
of the two paid-order rates tells how much of the machine the app's own work costs.

``POST /api/v1/cart/items``  ``{"variant_id", "quantity"}`` → ``201 {"item_id"}``: one
    transaction, the ``cart_items`` row.
``POST /api/v1/checkouts``  ``{"address"}`` (or ``{"items", "address"}``: buy now) with an
    ``Idempotency-Key`` → ``201 {"id", "status": "open"}``: one transaction: the key claimed
    (``in_progress``), the checkout, one payment intent per currency and its ``created`` event,
    per shop an order, its lines, its ``awaiting_payment`` event, one reservation per line, the
    variant's ``reserved`` and the product's ``total_stock`` counters, then the key ``done``
    with the answer.
``POST /api/v1/checkouts/{id}/pay``  card + ``Idempotency-Key`` → ``200 {"id", "status": "paid"}``:
    one transaction: the key claimed, the intent ``processing`` (attempt 1) and its
    ``attempted`` event, the sandbox charge, the intent ``succeeded`` and its event, per order
    the order ``paid`` with its fee, its ``paid`` event, the variant's ``reserved`` →
    ``allocated``, the product's ``sold_count``, the reservations ``allocated``, the ledger
    transaction and its entries (cash, fee, shop pending; the accounts made at a shop's first
    payment), the ``order.paid`` outbox event, the buyer's and the seller's emails; then the
    checkout ``paid``, the bought lines deleted from the cart (a cart checkout), the key
    ``done``. The sandbox charge is written in the request's transaction on SQLite and in a
    short transaction of its own on another connection on PostgreSQL, as the app's sandbox
    provider does (``payments/sandbox.py``).

The stored answer of an idempotency key is this app's own (short) answer, not the app's full
checkout body: building that body is the app's work, not the database's.

**SQLite: ``sqlite3`` inline on the event loop**, one connection per process in autocommit
mode with explicit ``BEGIN IMMEDIATE`` … ``COMMIT``, like the app's write engine
(``kit/sql/inline.py``): each statement takes microseconds, so handing it to a thread
(aiosqlite) would cost more than the statement, and the app's figure is measured that way too.
Nothing inside a transaction suspends, so a process's transactions never interleave; the
asyncio lock only covers the wait for another process's file lock (asyncio sleeps, as the
app does; ``busy_timeout`` 0 so ``sqlite3`` never sleeps on the loop). **PostgreSQL: asyncpg**,
one pool per process as large as the app's (20 + 40 overflow), one pooled connection and transaction per
request.

Environment: ``DATABASE_URL`` (``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

#: The address fields the app stores, with its defaults for those a client leaves out.
ADDRESS_DEFAULTS: dict[str, Any] = {"name": "", "line1": "", "line2": "", "city": "", "region": "",
                                    "postal_code": "", "country": "", "phone": "", "is_default": False}
#: What the app's money formatting shows for the benchmark's currency in the emails.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
#: The ledger accounts of a payment: (code pattern, kind, owner type, name pattern).
ACCOUNTS = (("platform:cash:{c}", "asset", "platform", "Cash at payment provider ({c})"),
            ("platform:fees:{c}", "revenue", "platform", "Referral fee revenue ({c})"),
            ("shop:{s}:pending:{c}", "liability", "shop", "Shop {s} pending earnings ({c})"))


def json_response(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def conflict(code: str) -> Response:
    return json_response({"error": {"code": code, "message": code.replace("_", " "), "details": None}}, 409)


def unauthorized() -> Response:
    return json_response({"error": {"code": "unauthorized", "message": "Sign in.", "details": None}}, 401)


class Refused(Exception):
    """A guarded update changed nothing: the transaction is rolled back and a 409 answered."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def fee_of(amount: int, rate_bps: int) -> int:
    """``amount × rate`` in basis points, rounded half-even (as the app's ``apply_rate_bps``)."""
    whole, rest = divmod(amount * rate_bps, 10_000)
    return whole + (1 if rest > 5_000 or (rest == 5_000 and whole % 2) else 0)


def display(amount: int, currency: str) -> str:
    return f"{SYMBOLS.get(currency, '')}{amount / 100:,.2f}" if currency in SYMBOLS else f"{amount} {currency}"


# --- the two drivers behind one small interface ---------------------------------------------


class SqliteTx:
    """Statements on the process's ``sqlite3`` connection; ``$n`` placeholders become ``?``."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @staticmethod
    def ts(value: datetime) -> str:
        """The text SQLAlchemy stores for a UTC ``DateTime`` on SQLite."""
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def sql(text: str) -> str:
        return _PLACEHOLDER.sub("?", text)

    async def fetch(self, text: str, *args: Any) -> list[Sequence[Any]]:
        return self.conn.execute(self.sql(text), args).fetchall()

    async def fetchrow(self, text: str, *args: Any) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self.conn.execute(self.sql(text), args).fetchone()
        return row

    async def fetchval(self, text: str, *args: Any) -> Any:
        row = self.conn.execute(self.sql(text), args).fetchone()
        return None if row is None else row[0]

    async def execute(self, text: str, *args: Any) -> int:
        return self.conn.execute(self.sql(text), args).rowcount

    async def executemany(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(self.sql(text), rows)


class PostgresTx:
    """Statements on one pooled asyncpg connection."""

    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @staticmethod
    def ts(value: datetime) -> datetime:
        return value

    async def fetch(self, text: str, *args: Any) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = await self.conn.fetch(text, *args)
        return rows

    async def fetchrow(self, text: str, *args: Any) -> Sequence[Any] | None:
        row: Sequence[Any] | None = await self.conn.fetchrow(text, *args)
        return row

    async def fetchval(self, text: str, *args: Any) -> Any:
        return await self.conn.fetchval(text, *args)

    async def execute(self, text: str, *args: Any) -> int:
        status: str = await self.conn.execute(text, *args)
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0

    async def executemany(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        await self.conn.executemany(text, rows)


_PLACEHOLDER = re.compile(r"\$\d+")


class Store:
    """The process's database: ``lookup`` for reads outside a transaction, ``transaction()``
    for one request's writes, ``side_transaction()`` for the sandbox charge's own transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.conn: sqlite3.Connection | None = None
        self.pool: Any = None
        self.lock = asyncio.Lock()

    async def open(self) -> None:
        if self.is_sqlite:
            from mercato.kit.db import sqlite_file
            from mercato.kit.sql.committed import READS_MMAP_BYTES
            from mercato.kit.sql.sqlite_setup import POOLED_CACHE_KIB

            path = sqlite_file(self.url)
            assert path is not None, "a SQLite file"
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=0",
                           f"cache_size=-{POOLED_CACHE_KIB}", f"mmap_size={READS_MMAP_BYTES}"):
                conn.execute(f"PRAGMA {pragma}")
            self.conn = conn
        else:
            import asyncpg
            from sqlalchemy.engine import make_url

            plain = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.pool = await asyncpg.create_pool(plain, min_size=1, max_size=60)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.pool is not None:
            await self.pool.close()

    async def user_id(self, token: str) -> int | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        query = "SELECT user_id FROM sessions WHERE token_digest = $1"
        if self.conn is not None:
            row = self.conn.execute(SqliteTx.sql(query), (digest,)).fetchone()
            return None if row is None else int(row[0])
        value = await self.pool.fetchval(query, digest)
        return None if value is None else int(value)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx | PostgresTx]:
        if self.conn is None:
            async with self.pool.acquire() as conn, conn.transaction():
                yield PostgresTx(conn)
            return
        conn = self.conn
        async with self.lock:
            pause = 0.0002
            while True:  # another process may hold the file's write lock: wait on the loop, not in sqlite3
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.001)
            try:
                yield SqliteTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.asynccontextmanager
    async def side_transaction(self, current: SqliteTx | PostgresTx) -> AsyncIterator[SqliteTx | PostgresTx]:
        """SQLite has one writer: the request's own transaction. PostgreSQL: another pooled
        connection, committed at once."""
        if isinstance(current, SqliteTx):
            yield current
            return
        async with self.pool.acquire() as conn, conn.transaction():
            yield PostgresTx(conn)


# --- the routes -----------------------------------------------------------------------------


def bearer(request: Request) -> str:
    return request.headers.get("authorization", "")[7:]


async def claim(tx: SqliteTx | PostgresTx, scope: str, key: str, body: bytes, now: datetime) -> int | None:
    value = await tx.fetchval(
        'INSERT INTO idempotency_keys (scope, "key", request_hash, status, locked_at, created_at) '
        "VALUES ($1, $2, $3, 'in_progress', $4, $5) ON CONFLICT (scope, \"key\") DO NOTHING RETURNING id",
        scope, key, hashlib.sha256(body).hexdigest(), tx.ts(now), tx.ts(now))
    return None if value is None else int(value)


async def finish(tx: SqliteTx | PostgresTx, key_id: int, status: int, answer: bytes) -> None:
    await tx.execute("UPDATE idempotency_keys SET status = 'done', response_status = $1, response_body = $2 "
                     "WHERE id = $3", status, answer.decode(), key_id)


async def analytics_event(tx: SqliteTx | PostgresTx, event_id: str, kind: str, now: datetime, *, shop_id: int,
                          product_id: int | None, viewer_id: int, value: int, currency: str, quantity: int,
                          count: int = 1) -> None:
    """The app's analytics capture of one event (kit/events.py → analytics/sink.py): the raw row
    (insert-or-ignore by event id) queued for the fold (``analytics_pending``) when new — one
    statement on PostgreSQL, two on SQLite, as the app's."""
    insert = ("INSERT INTO analytics_events (event_id, kind, occurred_at, source, product_id, shop_id, viewer_id, "
              "value, currency, quantity, watch_ms, count) VALUES ($1, $2, $3, 'direct', $4, $5, $6, $7, $8, $9, 0, "
              "$10) ON CONFLICT (event_id) DO NOTHING RETURNING id")
    args = (event_id, kind, tx.ts(now), product_id, shop_id, viewer_id, value, currency, quantity, count)
    queue = ("INSERT INTO analytics_pending (occurred_at, kind, source, creator_id, video_id, live_id, product_id, "
             "shop_id, age_band, region, currency, count, value, quantity, watch_ms) ")
    if tx.dialect == "postgresql":
        await tx.execute(f"WITH new AS ({insert}, occurred_at) {queue}SELECT occurred_at, $2, 'direct', 0, 0, 0, "
                         "coalesce($4, 0), $5, '', '', $8, $10, $7, $9, 0 FROM new", *args)
        return
    if await tx.fetchval(insert, *args) is not None:
        await tx.execute(f"{queue}VALUES ($1, $2, 'direct', 0, 0, 0, $3, $4, '', '', $5, $6, $7, $8, 0)",
                         tx.ts(now), kind, product_id or 0, shop_id, currency, count, value, quantity)


async def cart_add(request: Request) -> Response:
    store: Store = request.app.state.store
    user_id = await store.user_id(bearer(request))
    if user_id is None:
        return unauthorized()
    body = orjson.loads(await request.body())
    now = datetime.now(UTC)
    async with store.transaction() as tx:
        item_id = await tx.fetchval(
            "INSERT INTO cart_items (user_id, variant_id, quantity, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING id",
            user_id, int(body["variant_id"]), int(body["quantity"]), tx.ts(now), tx.ts(now))
        product_id, shop_id, price, currency = await tx.fetchrow(
            "SELECT v.product_id, p.shop_id, v.price, v.currency FROM variants v JOIN products p "
            "ON p.id = v.product_id WHERE v.id = $1", int(body["variant_id"])) or (0, 0, 0, "USD")
        await analytics_event(tx, f"add_to_cart:{uuid.uuid4().hex}", "add_to_cart", now, shop_id=int(shop_id),
                              product_id=int(product_id), viewer_id=user_id, value=int(price) * int(body["quantity"]),
                              currency=str(currency), quantity=int(body["quantity"]))
    return json_response({"item_id": item_id}, 201)


async def create_checkout(request: Request) -> Response:
    store: Store = request.app.state.store
    user_id = await store.user_id(bearer(request))
    if user_id is None:
        return unauthorized()
    raw = await request.body()
    body = orjson.loads(raw)
    address = orjson.dumps({**ADDRESS_DEFAULTS, **body["address"]}).decode()
    items = body.get("items")  # "buy now": the lines come with the request instead of the cart
    now = datetime.now(UTC)
    expires = now + request.app.state.reservation_ttl
    try:
        async with store.transaction() as tx:
            key_id = await claim(tx, f"user:{user_id}:checkouts", request.headers.get("idempotency-key", ""),
                                 raw, now)
            if key_id is None:
                raise Refused("idempotency_in_progress")
            if items is None:
                lines = await tx.fetch(
                    "SELECT v.id, v.product_id, v.price, v.currency, v.title, v.sku, p.title, p.shop_id, c.quantity "
                    "FROM cart_items c JOIN variants v ON v.id = c.variant_id JOIN products p ON p.id = v.product_id "
                    "WHERE c.user_id = $1 ORDER BY c.id", user_id)
            else:
                lines = [(*row, int(item["quantity"])) for item in items for row in await tx.fetch(
                    "SELECT v.id, v.product_id, v.price, v.currency, v.title, v.sku, p.title, p.shop_id "
                    "FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1", int(item["variant_id"]))]
            checkout_id = await tx.fetchval(
                "INSERT INTO checkouts (buyer_id, status, address, expires_at, source, created_at, updated_at) "
                "VALUES ($1, 'open', $2, $3, $4, $5, $6) RETURNING id",
                user_id, address, tx.ts(expires), "cart" if items is None else "buy_now", tx.ts(now), tx.ts(now))
            shops: dict[tuple[int, str], list[Sequence[Any]]] = {}
            for line in lines:
                shops.setdefault((int(line[7]), str(line[3])), []).append(line)
            intents: dict[str, int] = {}
            for currency in dict.fromkeys(currency for _, currency in shops):
                amount = sum(int(line[2]) * int(line[8]) for (_, c), group in shops.items() if c == currency
                             for line in group)
                intent_id = await tx.fetchval(
                    "INSERT INTO payment_intents (checkout_id, buyer_id, currency, amount, status, provider, "
                    "attempts, refunded, created_at, updated_at) "
                    "VALUES ($1, $2, $3, $4, 'requires_payment_method', 'sandbox', 0, 0, $5, $6) RETURNING id",
                    checkout_id, user_id, currency, amount, tx.ts(now), tx.ts(now))
                await tx.execute("INSERT INTO payment_events (intent_id, type, data, created_at) "
                                 "VALUES ($1, 'created', $2, $3)", intent_id,
                                 orjson.dumps({"amount": amount, "currency": currency,
                                               "provider": "sandbox"}).decode(), tx.ts(now))
                intents[currency] = int(intent_id)
            for (shop_id, currency), group in shops.items():
                subtotal = sum(int(line[2]) * int(line[8]) for line in group)
                order_id = await tx.fetchval(
                    "INSERT INTO orders (checkout_id, buyer_id, shop_id, status, currency, subtotal, seller_discount, "
                    "platform_discount, shipping, tax, total, fee, refunded, address, payment_intent_id, created_at, "
                    "updated_at) "
                    "VALUES ($1, $2, $3, 'awaiting_payment', $4, $5, 0, 0, 0, 0, $6, 0, 0, $7, $8, $9, $10) "
                    "RETURNING id", checkout_id, user_id, shop_id, currency, subtotal, subtotal, address,
                    intents[currency], tx.ts(now), tx.ts(now))
                for variant_id, product_id, price, _, variant_title, sku, title, _, quantity in group:
                    line_id = await tx.fetchval(
                        "INSERT INTO order_lines (order_id, product_id, variant_id, title, variant_title, sku, "
                        "unit_price, quantity, discount, total, refunded_quantity) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, 0) RETURNING id",
                        order_id, product_id, variant_id, title, variant_title, sku, price, quantity,
                        int(price) * int(quantity))
                    await tx.execute(
                        "INSERT INTO reservations (variant_id, checkout_id, order_line_id, quantity, status, "
                        "expires_at, created_at) VALUES ($1, $2, $3, $4, 'active', $5, $6)",
                        variant_id, checkout_id, line_id, quantity, tx.ts(expires), tx.ts(now))
                    if not await tx.execute(
                            "UPDATE variants SET reserved = reserved + $1, updated_at = $2 "
                            "WHERE id = $3 AND stock - reserved - allocated >= $4",
                            quantity, tx.ts(now), variant_id, quantity):
                        raise Refused("out_of_stock")
                    await tx.execute("UPDATE products SET total_stock = total_stock - $1, updated_at = $2 "
                                     "WHERE id = $3", quantity, tx.ts(now), product_id)
                await tx.execute("INSERT INTO order_events (order_id, status, note, actor_id, created_at) "
                                 "VALUES ($1, 'awaiting_payment', 'Order placed; stock reserved.', $2, $3)",
                                 order_id, user_id, tx.ts(now))
                await analytics_event(tx, f"checkout_started:{order_id}", "checkout_started", now, shop_id=shop_id,
                                      product_id=None, viewer_id=user_id, value=subtotal, currency=currency,
                                      quantity=sum(int(line[8]) for line in group))
            answer = orjson.dumps({"id": checkout_id, "status": "open"})
            await finish(tx, key_id, 201, answer)
    except Refused as refused:
        return conflict(refused.code)
    return Response(answer, status_code=201, media_type="application/json")


async def ledger_accounts(tx: SqliteTx | PostgresTx, shop_id: int, currency: str, now: datetime) -> list[int]:
    """The ids of the payment's three accounts (cash, fees, shop pending), made at a shop's first payment."""
    specs = [(code.format(s=shop_id, c=currency), kind, owner, name.format(s=shop_id, c=currency))
             for code, kind, owner, name in ACCOUNTS]
    codes = [spec[0] for spec in specs]
    query = "SELECT code, id FROM ledger_accounts WHERE code IN ($1, $2, $3)"
    found = {str(code): int(account_id) for code, account_id in await tx.fetch(query, *codes)}
    if len(found) < len(codes):
        for code, kind, owner, name in specs:
            if code not in found:
                await tx.execute(
                    "INSERT INTO ledger_accounts (code, kind, currency, owner_type, owner_id, name, created_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING",
                    code, kind, currency, owner, shop_id if owner == "shop" else None, name, tx.ts(now))
        found = {str(code): int(account_id) for code, account_id in await tx.fetch(query, *codes)}
    return [found[code] for code in codes]


async def pay(request: Request) -> Response:
    store: Store = request.app.state.store
    user_id = await store.user_id(bearer(request))
    if user_id is None:
        return unauthorized()
    checkout_id = int(request.path_params["checkout_id"])
    raw = await request.body()
    card_last4 = "".join(ch for ch in orjson.loads(raw)["card_number"] if ch.isdigit())[-4:]
    fee_bps: int = request.app.state.fee_bps
    now = datetime.now(UTC)
    try:
        async with store.transaction() as tx:
            key_id = await claim(tx, f"user:{user_id}:pay", request.headers.get("idempotency-key", ""), raw, now)
            if key_id is None:
                raise Refused("idempotency_in_progress")
            # Every line of every order of the checkout, with what the payment's rows need.
            rows = await tx.fetch(
                "SELECT o.id, o.payment_intent_id, o.shop_id, o.currency, o.total, l.variant_id, l.product_id, "
                "l.quantity, s.name, b.email, b.display_name, (SELECT u.email FROM users u JOIN shop_members m "
                "ON m.user_id = u.id WHERE m.shop_id = o.shop_id AND m.role = 'owner' ORDER BY m.user_id LIMIT 1), "
                "c.source FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN shops s ON s.id = o.shop_id "
                "JOIN users b ON b.id = o.buyer_id JOIN checkouts c ON c.id = o.checkout_id "
                "WHERE o.checkout_id = $1 ORDER BY o.id, l.id", checkout_id)
            orders: dict[int, list[Sequence[Any]]] = {}
            for row in rows:
                orders.setdefault(int(row[0]), []).append(row)
            amounts: dict[int, tuple[str, int]] = {}
            for group in orders.values():
                currency, amount = amounts.get(int(group[0][1]), (str(group[0][3]), 0))
                amounts[int(group[0][1])] = (currency, amount + int(group[0][4]))
            for intent_id, (currency, amount) in amounts.items():
                if not await tx.execute(
                        "UPDATE payment_intents SET attempts = 1, status = 'processing', updated_at = $1 "
                        "WHERE id = $2 AND attempts = 0 AND status IN ('requires_payment_method', 'failed')",
                        tx.ts(now), intent_id):
                    raise Refused("payment_in_progress")
                charge_key = f"pi_{intent_id}_a1"
                await tx.execute("INSERT INTO payment_events (intent_id, type, data, created_at) "
                                 "VALUES ($1, 'attempted', $2, $3)", intent_id, orjson.dumps(
                                     {"attempt": 1, "idempotency_key": charge_key, "card_brand": "visa",
                                      "card_last4": card_last4}).decode(), tx.ts(now))
                async with store.side_transaction(tx) as charge_tx:
                    charge_id = await charge_tx.fetchval(
                        "INSERT INTO sandbox_charges (idempotency_key, reference, amount, currency, card_last4, "
                        "status, action_token, refunded, created_at) "
                        "VALUES ($1, $2, $3, $4, $5, 'succeeded', NULL, 0, $6) "
                        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                        charge_key, f"pi_{intent_id}", amount, currency, card_last4, charge_tx.ts(now))
                await tx.execute(
                    "UPDATE payment_intents SET provider_ref = $1, card_brand = 'visa', card_last4 = $2, "
                    "next_action = NULL, last_error_code = NULL, last_error_message = NULL, status = 'succeeded', "
                    "updated_at = $3 WHERE id = $4", f"sbx_ch_{charge_id}", card_last4, tx.ts(now), intent_id)
                await tx.execute("INSERT INTO payment_events (intent_id, type, data, created_at) "
                                 "VALUES ($1, 'succeeded', $2, $3)", intent_id, orjson.dumps(
                                     {"attempt": 1, "provider_ref": f"sbx_ch_{charge_id}"}).decode(), tx.ts(now))
            for order_id, group in orders.items():
                _, _, shop_id, currency, total, _, _, _, shop_name, buyer_email, buyer_name, owner_email, _ = group[0]
                fee = fee_of(int(total), fee_bps)
                if not await tx.execute("UPDATE orders SET status = 'paid', paid_at = $1, fee = $2, updated_at = $3 "
                                        "WHERE id = $4 AND status = 'awaiting_payment'",
                                        tx.ts(now), fee, tx.ts(now), order_id):
                    raise Refused("order_not_payable")
                await tx.execute("INSERT INTO order_events (order_id, status, note, created_at) "
                                 "VALUES ($1, 'paid', 'Payment received.', $2)", order_id, tx.ts(now))
                for index, line in enumerate(group):
                    variant_id, product_id, quantity = line[5], line[6], line[7]
                    if not await tx.execute(
                            "UPDATE variants SET reserved = reserved - $1, allocated = allocated + $2, updated_at = $3 "
                            "WHERE id = $4 AND reserved >= $5", quantity, quantity, tx.ts(now), variant_id, quantity):
                        raise Refused("reservation_lost")
                    await tx.execute("UPDATE products SET sold_count = sold_count + $1, updated_at = $2 WHERE id = $3",
                                     quantity, tx.ts(now), product_id)
                    await analytics_event(tx, f"order_paid:{order_id}:{index}", "order_paid", now,
                                          shop_id=int(shop_id), product_id=int(product_id), viewer_id=user_id,
                                          value=int(total) if index == 0 else 0, currency=str(currency),
                                          quantity=int(quantity), count=1 if index == 0 else 0)
                await tx.execute("UPDATE reservations SET status = 'allocated' WHERE checkout_id = $1 "
                                 "AND status = 'active' AND order_line_id IN "
                                 "(SELECT id FROM order_lines WHERE order_id = $2)", checkout_id, order_id)
                cash, fees, pending = await ledger_accounts(tx, int(shop_id), str(currency), now)
                txn_id = await tx.fetchval(
                    "INSERT INTO ledger_transactions (kind, reference, memo, order_id, shop_id, created_at) "
                    "VALUES ('order_payment', $1, $2, $3, $4, $5) ON CONFLICT (kind, reference) DO NOTHING "
                    "RETURNING id", f"order:{order_id}", f"Payment of order #{order_id}", order_id, shop_id,
                    tx.ts(now))
                await tx.executemany(
                    "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency, created_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    [(txn_id, account, amount, currency, tx.ts(now))
                     for account, amount in ((cash, int(total)), (fees, -fee), (pending, fee - int(total)))
                     if amount])
                number = f"M{order_id:07d}"
                await tx.execute(
                    "INSERT INTO outbox_events (topic, aggregate, aggregate_id, payload, created_at) "
                    "VALUES ('order.paid', 'order', $1, $2, $3)", str(order_id), orjson.dumps(
                        {"order_id": order_id, "number": number, "shop_id": shop_id, "buyer_id": user_id,
                         "status": "paid", "currency": currency, "total": total, "refunded": 0}).decode(), tx.ts(now))
                shown = display(int(total), str(currency))
                await tx.executemany(
                    'INSERT INTO email_messages ("to", subject, body, topic, created_at) '
                    "VALUES ($1, $2, $3, 'order.paid', $4)",
                    [(buyer_email, f"Thanks for your order — order {number}",
                      f"Hi {buyer_name},\n\nYour payment went through. The shop will ship soon.\n\n"
                      f"Order {number} from {shop_name} · total {shown}\n", tx.ts(now)),
                     (owner_email, f"New paid order — order {number}",
                      f"Ship it within 2 business days.\n\nOrder {number} · total {shown}\n", tx.ts(now))])
            await tx.execute("UPDATE checkouts SET status = 'paid', updated_at = $1 WHERE id = $2 AND status = 'open'",
                             tx.ts(now), checkout_id)
            if rows and rows[0][12] == "cart":  # the bought lines leave the cart
                await tx.executemany("DELETE FROM cart_items WHERE user_id = $1 AND variant_id = $2 "
                                     "AND quantity <= $3", [(user_id, row[5], row[7]) for row in rows])
            answer = orjson.dumps({"id": checkout_id, "status": "paid"})
            await finish(tx, key_id, 200, answer)
    except Refused as refused:
        return conflict(refused.code)
    return Response(answer, status_code=200, media_type="application/json")


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"}, 200)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    from mercato.config import Settings

    settings = Settings()
    app.state.reservation_ttl = timedelta(seconds=settings.reservation_ttl_seconds)
    app.state.fee_bps = settings.platform_fee_bps
    app.state.store = Store(os.environ["DATABASE_URL"])
    await app.state.store.open()
    try:
        yield
    finally:
        await app.state.store.close()


app = Starlette(routes=[
    Route("/api/v1/cart/items", cart_add, methods=["POST"]),
    Route("/api/v1/checkouts", create_checkout, methods=["POST"]),
    Route("/api/v1/checkouts/{checkout_id:int}/pay", pay, methods=["POST"]),
    Route("/healthz", healthz),
], lifespan=lifespan)
