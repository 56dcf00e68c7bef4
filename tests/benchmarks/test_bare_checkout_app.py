"""The checkout benchmark's reference (``benchmarks/bare_checkout_app.py``) writes what the app
writes: one buying flow through the real app and one through the bare writer, on the test
database, add the same number of rows to every table — so the reference cannot silently stop
writing a row, and a row the app starts writing shows here until the reference writes it too."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from benchmarks.bare_checkout_app import app as bare_app
from sqlalchemy import text

from benchmarks import _harness as h
from mercato.models import metadata
from tests.harness import LiveServer


def table_counts(url: str) -> dict[str, int]:
    async def counts(session: Any) -> dict[str, int]:
        return {name: int((await session.execute(text(f'SELECT count(*) FROM "{name}"'))).scalar_one())
                for name in sorted(metadata.tables)}

    result: dict[str, int] = h.run_db(url, counts)
    return result


def rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async def read(session: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in (await session.execute(text(sql), params)).all()]

    result: list[tuple[Any, ...]] = h.run_db(url, read)
    return result


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def buy(client: httpx.Client, token: str, variant_id: int, mode: str = "cart") -> tuple[int, int, dict[str, Any]]:
    """cart add → checkout → pay (or buy now → pay), as the benchmark's load generator sends
    them; the first and last statuses and the pay answer."""
    auth = {"Authorization": f"Bearer {token}"}
    item = {"variant_id": variant_id, "quantity": 1}
    wanted: dict[str, Any] = {"address": h.ADDRESS}
    if mode == "cart":
        first = client.post("/api/v1/cart/items", json=item, headers=auth).status_code
    else:
        first, wanted["items"] = 201, [item]
    checkout = client.post("/api/v1/checkouts", json=wanted, headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
    assert checkout.status_code == 201, checkout.text
    paid = client.post(f"/api/v1/checkouts/{checkout.json()['id']}/pay", json=h.CARD,
                       headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
    return first, paid.status_code, paid.json()


@pytest.fixture(scope="module")
def bare_server(backend: tuple[str, str | None, Any]) -> Iterator[str]:
    """The bare writer served by uvicorn in a thread, on the test database (``DATABASE_URL``)."""
    server = LiveServer(bare_app)
    with pytest.MonkeyPatch.context() as env:  # read by the app's start-up, which start() waits for
        env.setenv("DATABASE_URL", backend[0])
        server.start()
    yield server.url
    server.stop()


@pytest.fixture
def bare(bare_server: str, clean_db: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bare_server, timeout=60) as client:
        yield client


@pytest.mark.parametrize("mode", ["cart", "buy_now"])
def test_a_bare_flow_writes_the_rows_of_an_app_flow(api: httpx.Client, clean_db: str, bare: httpx.Client,
                                                    mode: str) -> None:
    variants = h.create_catalog(clean_db, 2, 1, 10, price=1500, label="ref")
    tokens = h.create_buyers(clean_db, 3, "refbuyer")

    start = table_counts(clean_db)
    assert buy(api, tokens[0], variants[0], mode)[:2] == (201, 200)
    after_app = table_counts(clean_db)
    # Same shop: its ledger accounts exist now, as they do for every flow after a shop's first.
    assert buy(bare, tokens[1], variants[0], mode) == (201, 200, {"id": 2, "status": "paid"})
    after_bare = table_counts(clean_db)
    buyers = [row[0] for row in rows(clean_db, "SELECT id FROM users WHERE email LIKE 'refbuyer%' ORDER BY id")]

    app_rows = delta(start, after_app)
    assert app_rows.pop("ledger_accounts") == 3  # cash, fees, the shop's pending earnings: the first payment
    assert delta(after_app, after_bare) == app_rows
    # (a cart line is added, then deleted by the payment)
    # Analytics: checkout_started and order_paid, and add_to_cart through the cart (each queued for the fold).
    events = 3 if mode == "cart" else 2
    assert app_rows == {"analytics_events": events, "analytics_pending": events, "checkouts": 1,
                        "email_messages": 2, "idempotency_keys": 2, "ledger_entries": 3,
                        "ledger_transactions": 1, "order_events": 2, "order_lines": 1, "orders": 1,
                        "outbox_events": 1, "payment_events": 3, "payment_intents": 1, "reservations": 1,
                        "sandbox_charges": 1}

    # The bare flow's rows hold what the app's hold (ids, timestamps and the stored answers aside).
    orders = rows(clean_db, "SELECT status, subtotal, total, fee, tax, shipping FROM orders ORDER BY id")
    assert orders == [("paid", 1500, 1500, 90, 0, 0)] * 2
    entries = rows(clean_db, "SELECT t.order_id, a.code, e.amount FROM ledger_entries e "
                             "JOIN ledger_transactions t ON t.id = e.transaction_id "
                             "JOIN ledger_accounts a ON a.id = e.account_id ORDER BY e.id")
    shop_id = rows(clean_db, "SELECT shop_id FROM orders WHERE id = 1")[0][0]
    assert entries == [(order, code, amount) for order in (1, 2) for code, amount in (
        ("platform:cash:USD", 1500), ("platform:fees:USD", -90), (f"shop:{shop_id}:pending:USD", -1410))]
    assert rows(clean_db, "SELECT reserved, allocated FROM variants WHERE id = :v", v=variants[0]) == [(0, 2)]
    assert rows(clean_db, "SELECT sold_count, total_stock FROM products WHERE id = "
                          "(SELECT product_id FROM variants WHERE id = :v)", v=variants[0]) == [(2, 8)]
    for table, columns in (
            ("checkouts", "status, source, address"), ("payment_intents", "status, amount, attempts, card_last4"),
            ("payment_events", "type, data"), ("order_events", "status, note"),
            ("order_lines", "product_id, variant_id, title, variant_title, sku, unit_price, quantity, total"),
            ("reservations", "status, quantity"), ("sandbox_charges", "amount, currency, card_last4, status"),
            ("outbox_events", "topic, aggregate, payload"), ("email_messages", '"to", subject, body, topic'),
            ("idempotency_keys", "scope, status, response_status")):
        app_side, bare_side = (rows(clean_db, f"SELECT {columns} FROM {table} WHERE {owner} ORDER BY id")
                               for owner in _owners(table))
        assert len(app_side) == len(bare_side) > 0, table
        assert [_as_app_flow(r, *buyers[:2]) for r in bare_side] == app_side, table
    assert rows(clean_db, "SELECT count(*) FROM cart_items") == [(0,)]


def _owners(table: str) -> tuple[str, str]:
    """WHERE clauses picking the app flow's rows (buyer 1's, order 1's) and the bare flow's."""
    by_order = {"order_events": "order_id = {o}", "order_lines": "order_id = {o}",
                "outbox_events": "aggregate_id = '{o}'", "payment_events": "intent_id = {o}",
                "payment_intents": "id = {o}", "reservations": "checkout_id = {o}", "checkouts": "id = {o}",
                "sandbox_charges": "reference = 'pi_{o}'", "email_messages": "id IN ({e})",
                "idempotency_keys": "id IN ({e})"}
    clause = by_order[table]
    return (clause.format(o=1, e="1, 2"), clause.format(o=2, e="3, 4"))


def _as_app_flow(row: tuple[Any, ...], app_buyer: int, bare_buyer: int) -> tuple[Any, ...]:
    """A row of the bare flow (order, checkout and intent 2, the second buyer) with its own ids
    and names replaced by the app flow's (1, the first buyer)."""
    swaps = (('"order_id":2', '"order_id":1'), ("M0000002", "M0000001"), ("pi_2_", "pi_1_"), ("sbx_ch_2", "sbx_ch_1"),
             (f'"buyer_id":{bare_buyer}', f'"buyer_id":{app_buyer}'), (f"user:{bare_buyer}:", f"user:{app_buyer}:"),
             ("refbuyer1", "refbuyer0"), ("Buyer 1", "Buyer 0"))
    out = []
    for value in row:
        parsed = isinstance(value, dict | list)  # a JSON column on PostgreSQL
        text_value = json.dumps(value, separators=(",", ":")) if parsed else value
        if isinstance(text_value, str):
            for old, new in swaps:
                text_value = text_value.replace(old, new)
        out.append(json.loads(text_value) if parsed else text_value)
    return tuple(out)


def test_a_new_shop_gets_its_pending_account_from_the_bare_writer(api: httpx.Client, clean_db: str,
                                                                   bare: httpx.Client) -> None:
    variants = h.create_catalog(clean_db, 2, 1, 10, price=1500, label="ref")
    tokens = h.create_buyers(clean_db, 2, "refbuyer")
    assert buy(api, tokens[0], variants[0])[:2] == (201, 200)
    before = table_counts(clean_db)
    assert buy(bare, tokens[1], variants[1])[:2] == (201, 200)
    assert delta(before, table_counts(clean_db))["ledger_accounts"] == 1
    accounts = rows(clean_db, "SELECT code, kind, currency, owner_type, owner_id, name FROM ledger_accounts "
                              "WHERE code LIKE 'shop:%' ORDER BY id")
    shops = [rows(clean_db, "SELECT product_id FROM variants WHERE id = :v", v=v)[0][0] for v in variants]
    shop_ids = [rows(clean_db, "SELECT shop_id FROM products WHERE id = :p", p=p)[0][0] for p in shops]
    assert accounts == [(f"shop:{s}:pending:USD", "liability", "USD", "shop", s, f"Shop {s} pending earnings (USD)")
                        for s in shop_ids]


def test_an_unknown_bearer_writes_nothing(clean_db: str, bare: httpx.Client) -> None:
    variants = h.create_catalog(clean_db, 1, 1, 10, price=1500, label="ref")
    before = table_counts(clean_db)
    answer = bare.post("/api/v1/cart/items", json={"variant_id": variants[0], "quantity": 1},
                       headers={"Authorization": "Bearer not-a-session"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "unauthorized")
    assert table_counts(clean_db) == before

