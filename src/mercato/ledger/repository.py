"""Every query of the ledger domain: accounts, transactions and entries (append-only), payout
methods and payouts.

Postings are plain statements (``kit.sql`` :class:`InTransaction`: every payment and refund
posts); the reports use the ORM. Sums are converted with :func:`_int` (PostgreSQL's
``SUM(bigint)`` is ``numeric``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.sql.statements import insert_sql
from mercato.kit.sql.transaction import InTransaction
from mercato.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction, Payout, PayoutMethod

_ACCOUNT_IDS_SQL = "SELECT code, id FROM ledger_accounts WHERE code IN :codes"
# One statement: an existing transaction (a retry, or the winner of a race, which PostgreSQL
# waits for) returns nothing and leaves the session usable — no read first, no savepoint.
_TXN_INSERT_SQL = insert_sql(LedgerTransaction, ("kind", "reference", "memo", "order_id", "shop_id", "created_at"),
                             on_conflict=("kind", "reference"), returning="id")
_ENTRY_INSERT_SQL = insert_sql(LedgerEntry, ("transaction_id", "account_id", "amount", "currency", "created_at"))


def _int(value: Any) -> int:
    return int(value or 0)


# --- accounts and postings -----------------------------------------------------------------


async def find_transaction(db: AsyncSession, kind: str, reference: str) -> LedgerTransaction | None:
    return (await db.execute(select(LedgerTransaction).where(
        LedgerTransaction.kind == kind, LedgerTransaction.reference == reference))).scalar_one_or_none()


async def account_by_code(db: AsyncSession, code: str) -> LedgerAccount | None:
    return (await db.execute(select(LedgerAccount).where(LedgerAccount.code == code))).scalar_one_or_none()


async def accounts_by_code(db: AsyncSession, codes: Sequence[str]) -> dict[str, LedgerAccount]:
    rows = (await db.execute(select(LedgerAccount).where(LedgerAccount.code.in_(list(codes))))).scalars()
    return {row.code: row for row in rows}


async def add_account(db: AsyncSession, account: LedgerAccount) -> bool:
    """Insert an account in a savepoint; ``False`` if a concurrent creator already made it."""
    try:
        async with db.begin_nested():
            db.add(account)
            await db.flush()
    except IntegrityError:
        return False
    return True


async def account_ids(db: AsyncSession, codes: Sequence[str]) -> dict[str, int]:
    """code → id of the existing accounts among ``codes`` (one plain statement)."""
    rows = await InTransaction.of(db).all(_ACCOUNT_IDS_SQL, {"codes": list(codes)})
    return {str(code): int(account_id) for code, account_id in rows}


async def lock_account(db: AsyncSession, code: str) -> None:
    """``SELECT … FOR UPDATE`` of the account (PostgreSQL; a no-op clause on SQLite)."""
    await db.execute(select(LedgerAccount.id).where(LedgerAccount.code == code).with_for_update())


async def insert_transaction(db: AsyncSession, values: Mapping[str, Any]) -> int | None:
    """The new transaction's id, or ``None`` if ``(kind, reference)`` exists (nothing written)."""
    found = await InTransaction.of(db).scalar(_TXN_INSERT_SQL, values)
    return None if found is None else int(found)


async def insert_entries(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """All lines of a transaction in one executemany (no RETURNING: nothing needs their ids)."""
    await InTransaction.of(db).executemany(_ENTRY_INSERT_SQL, rows)


# --- balances and statements ---------------------------------------------------------------


async def raw_balance(db: AsyncSession, code: str) -> int:
    """Signed sum of the account's entries (debits positive)."""
    total = await db.execute(select(func.sum(LedgerEntry.amount)).join(
        LedgerAccount, LedgerAccount.id == LedgerEntry.account_id).where(LedgerAccount.code == code))
    return _int(total.scalar())


async def owner_sums(db: AsyncSession, owner_type: str, owner_id: int | None) -> list[tuple[str, str, str, int]]:
    """(code, kind, currency, signed sum) of each account of an owner (``platform``: ``None``)
    that has entries."""
    stmt = (select(LedgerAccount.code, LedgerAccount.kind, LedgerAccount.currency, func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .where(LedgerAccount.owner_type == owner_type)
            .group_by(LedgerAccount.code, LedgerAccount.kind, LedgerAccount.currency))
    if owner_id is not None:
        stmt = stmt.where(LedgerAccount.owner_id == owner_id)
    return [(str(code), str(kind), str(currency), _int(total)) for code, kind, currency, total
            in await db.execute(stmt)]


async def sent_payout_sums(db: AsyncSession, shop_id: int) -> dict[str, int]:  # shops only
    """currency → sum of the shop's sent payouts."""
    rows = await db.execute(select(Payout.currency, func.sum(Payout.amount))
                            .where(Payout.shop_id == shop_id, Payout.status == "sent").group_by(Payout.currency))
    return {str(currency): _int(total) for currency, total in rows}


async def owed_per_account(db: AsyncSession, owner_types: Sequence[str]) -> list[tuple[str, str, int]]:
    """(code, currency, signed sum) of every account of these owner types that has entries."""
    stmt = (select(LedgerAccount.code, LedgerAccount.currency, func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .where(LedgerAccount.owner_type.in_(list(owner_types)))
            .group_by(LedgerAccount.code, LedgerAccount.currency))
    return [(str(code), str(currency), _int(total)) for code, currency, total in await db.execute(stmt)]


async def owner_debits_of_kind(db: AsyncSession, owner_type: str, owner_id: int, account: str,
                               kind: str) -> dict[str, int]:
    """currency → sum of the owner's entries on its ``account`` (``payouts_in_transit``…) in
    transactions of ``kind`` (e.g. what ``payout_sent`` took out of transit: paid out)."""
    rows = await db.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerAccount.owner_type == owner_type, LedgerAccount.owner_id == owner_id,
               LedgerAccount.code.like(f"{owner_type}:{owner_id}:{account}:%"), LedgerTransaction.kind == kind)
        .group_by(LedgerEntry.currency))
    return {str(currency): _int(total) for currency, total in rows}


async def owner_accounts(db: AsyncSession, owner_type: str, owner_id: int) -> dict[int, LedgerAccount]:
    rows = (await db.execute(select(LedgerAccount).where(
        LedgerAccount.owner_type == owner_type, LedgerAccount.owner_id == owner_id))).scalars()
    return {row.id: row for row in rows}


async def entries_page(db: AsyncSession, account_ids: Sequence[int], limit: int,
                       before_id: int | None) -> list[tuple[LedgerEntry, LedgerTransaction]]:
    """Entries of these accounts with their transactions, newest first, below ``before_id``."""
    stmt = (select(LedgerEntry, LedgerTransaction)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerEntry.account_id.in_(list(account_ids)))
            .order_by(LedgerEntry.id.desc()).limit(limit))
    if before_id is not None:
        stmt = stmt.where(LedgerEntry.id < before_id)
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


async def pending_sum_of_order(db: AsyncSession, code: str, order_id: int) -> int:
    """Signed sum of the order's entries on account ``code``."""
    total = await db.execute(
        select(func.sum(LedgerEntry.amount))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerAccount.code == code, LedgerTransaction.order_id == order_id))
    return _int(total.scalar())


# --- the ledger check ----------------------------------------------------------------------


async def sums_by_currency(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
                            .group_by(LedgerEntry.currency).order_by(LedgerEntry.currency))
    return {str(currency): _int(total) for currency, total in rows}


async def unbalanced_transaction_ids(db: AsyncSession, limit: int) -> list[int]:
    rows = await db.execute(
        select(LedgerEntry.transaction_id).group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount) != 0).order_by(LedgerEntry.transaction_id).limit(limit))
    return sorted({int(row[0]) for row in rows})


async def row_counts(db: AsyncSession) -> dict[str, int]:
    transactions = _int((await db.execute(select(func.count()).select_from(LedgerTransaction))).scalar())
    entries = _int((await db.execute(select(func.count()).select_from(LedgerEntry))).scalar())
    accounts = _int((await db.execute(select(func.count()).select_from(LedgerAccount))).scalar())
    return {"transactions": transactions, "entries": entries, "accounts": accounts}


# --- payout methods and payouts ------------------------------------------------------------


async def payout_method(db: AsyncSession, payee: str, payee_id: int) -> PayoutMethod | None:
    """The payout method of a shop (``payee`` ``shop``) or a creator (``creator``)."""
    column = PayoutMethod.creator_id if payee == "creator" else PayoutMethod.shop_id
    return (await db.execute(select(PayoutMethod).where(column == payee_id))).scalar_one_or_none()


async def add(db: AsyncSession, row: PayoutMethod | Payout) -> None:
    db.add(row)
    await db.flush()


async def held_payouts_due(db: AsyncSession, now: datetime, limit: int) -> list[Payout]:
    return list((await db.execute(
        select(Payout).where(Payout.status == "held", Payout.release_at <= now).order_by(Payout.id).limit(limit)
    )).scalars())


async def extend_hold(db: AsyncSession, payout_id: int, release_at: datetime) -> None:
    await db.execute(update(Payout).where(Payout.id == payout_id, Payout.status == "held")
                     .values(release_at=release_at))


async def claim_held(db: AsyncSession, payout_id: int, now: datetime) -> bool:
    """Guarded ``held → sent``: ``True`` for the one runner that claimed it."""
    claimed = await db.execute(update(Payout).where(Payout.id == payout_id, Payout.status == "held")
                               .values(status="sent", sent_at=now))
    return int(claimed.rowcount) == 1  # type: ignore[attr-defined]


async def held_payouts_of(db: AsyncSession, payee: str, payee_id: int) -> list[Payout]:
    column = Payout.creator_id if payee == "creator" else Payout.shop_id
    return list((await db.execute(select(Payout).where(column == payee_id, Payout.status == "held")
                                  .order_by(Payout.id))).scalars())


async def payouts_page(db: AsyncSession, payee: str, payee_id: int, limit: int,
                       before_id: int | None) -> list[Payout]:
    column = Payout.creator_id if payee == "creator" else Payout.shop_id
    stmt = select(Payout).where(column == payee_id).order_by(Payout.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(Payout.id < before_id)
    return list((await db.execute(stmt)).scalars())
