"""R3: the database itself refuses UPDATE and DELETE on ledger entries and transactions, whatever
the client; the rows are unchanged afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.ledger import postings

DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]

STATEMENTS = [
    "UPDATE ledger_entries SET amount = amount + 1 WHERE id = :entry",
    "UPDATE ledger_entries SET account_id = account_id WHERE id = :entry",
    "DELETE FROM ledger_entries WHERE id = :entry",
    "UPDATE ledger_transactions SET memo = 'rewritten' WHERE id = :txn",
    "UPDATE ledger_transactions SET reference = 'order:999' WHERE id = :txn",
    "DELETE FROM ledger_transactions WHERE id = :txn",
    "DELETE FROM ledger_entries",
]


async def _snapshot(db: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    entries = (await db.execute(text(
        "SELECT id, transaction_id, account_id, amount, currency FROM ledger_entries ORDER BY id"))).all()
    txns = (await db.execute(text(
        "SELECT id, kind, reference, memo, order_id, shop_id FROM ledger_transactions ORDER BY id"))).all()
    return {"entries": [tuple(r) for r in entries], "transactions": [tuple(r) for r in txns]}


@pytest.mark.parametrize("statement", STATEMENTS)
def test_update_and_delete_are_refused_by_the_database(db_run: DbRun, statement: str) -> None:
    async def seed(db: AsyncSession) -> tuple[int, int]:
        txn = await postings.post_order_payment(db, order_id=7, shop_id=1, currency="USD",
                                                split=postings.split_payment(2_500, 200, 0, 600))
        assert txn is not None
        entry = (await db.execute(text("SELECT min(id) FROM ledger_entries WHERE transaction_id = :t"),
                                  {"t": txn.id})).scalar_one()
        return txn.id, int(entry)

    txn_id, entry_id = db_run(seed)
    before = db_run(_snapshot)
    assert len(before["entries"]) == 4 and len(before["transactions"]) == 1

    async def tamper(db: AsyncSession) -> None:
        await db.execute(text(statement), {"entry": entry_id, "txn": txn_id})

    with pytest.raises(DBAPIError) as info:
        db_run(tamper)
    assert "append-only" in str(info.value)
    assert db_run(_snapshot) == before


def test_the_maintenance_hatch_is_closed(db_run: DbRun) -> None:
    """Outside a deliberate reset the hatch table is empty, so the triggers are armed."""

    async def rows(db: AsyncSession) -> int:
        return int((await db.execute(text("SELECT count(*) FROM ledger_maintenance"))).scalar_one())

    assert db_run(rows) == 0
