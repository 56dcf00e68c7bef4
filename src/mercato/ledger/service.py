"""The double-entry ledger: posting balanced transactions and deriving balances from entries.

Contract (docs/ledger.md):

- an entry's ``amount`` is signed minor units: debit positive, credit negative;
- :func:`post` writes one transaction whose entries sum to exactly 0 in one currency, or
  refuses it (``422 unbalanced_transaction``) — there is no other way to write entries;
- a transaction is identified by ``(kind, reference)``: posting it again is a no-op that
  returns ``None``, so every caller (a request retried after a crash, a job run twice, two
  processes racing) can post without checking first;
- entries and transactions are never changed (the database refuses it); corrections are
  new, reversing transactions; every balance is a sum of entries, nothing is stored.

Accounts are named by codes (``platform:cash:USD``, ``shop:3:available:JPY``) and created on
first use; the code alone decides the account's kind (see :func:`account_spec`). Services
only flush; the caller's unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import utcnow
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import is_supported
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.kit.sql.transaction import InTransaction, snapshot
from mercato.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction, Payout

#: Platform accounts and their kinds. A domain that needs a new platform account adds it here.
PLATFORM_ACCOUNTS: dict[str, str] = {
    "cash": "asset",  # money held at the payment provider
    "fees": "revenue",  # referral fees
    "promotions": "expense",  # platform-funded discounts
    "tax_payable": "liability",
}
#: Accounts the platform keeps for someone else (``{owner}:{id}:{name}:{CUR}``): all liabilities,
#: money the platform owes them.
OWNER_ACCOUNTS: dict[str, frozenset[str]] = {
    "shop": frozenset({"pending", "available", "payouts_in_transit"}),
}
DEBIT_NORMAL = frozenset({"asset", "expense"})
_NAMES = {
    "cash": "Cash at payment provider", "fees": "Referral fee revenue", "promotions": "Platform-funded discounts",
    "tax_payable": "Tax payable", "pending": "Pending earnings", "available": "Available balance",
    "payouts_in_transit": "Payouts in transit",
}


@dataclass(frozen=True)
class Posting:
    """One line of a transaction: ``amount`` > 0 debits ``account``, < 0 credits it."""

    account: str
    amount: int


@dataclass(frozen=True)
class AccountSpec:
    code: str
    kind: str
    owner_type: str
    owner_id: int | None
    name: str
    currency: str


def _bad_account(code: str) -> ValidationFailed:
    return ValidationFailed(f"Unknown ledger account {code!r}.", code="unknown_ledger_account")


def account_spec(code: str) -> AccountSpec:
    """What an account code means; unknown shapes are refused (a typo never creates an account)."""
    parts = code.split(":")
    currency = parts[-1]
    if len(currency) != 3 or currency != currency.upper() or not is_supported(currency):
        raise _bad_account(code)
    if len(parts) == 3 and parts[0] == "platform" and parts[1] in PLATFORM_ACCOUNTS:
        return AccountSpec(code, PLATFORM_ACCOUNTS[parts[1]], "platform", None,
                           f"{_NAMES.get(parts[1], parts[1])} ({currency})", currency)
    if len(parts) == 4 and parts[2] in OWNER_ACCOUNTS.get(parts[0], frozenset()) and parts[1].isascii() \
            and parts[1].isdigit():
        owner_id = int(parts[1])
        if str(owner_id) != parts[1]:
            raise _bad_account(code)
        return AccountSpec(code, "liability", parts[0], owner_id,
                           f"{parts[0].title()} {owner_id} {_NAMES.get(parts[2], parts[2]).lower()} ({currency})",
                           currency)
    raise _bad_account(code)


def platform_account(name: str, currency: str) -> str:
    return f"platform:{name}:{currency}"


def shop_account(shop_id: int, name: str, currency: str) -> str:
    return f"shop:{shop_id}:{name}:{currency}"


def _unbalanced(message: str, details: Any = None) -> ValidationFailed:
    return ValidationFailed(message, code="unbalanced_transaction", details=details)


def check_postings(currency: str, postings: list[Posting]) -> None:
    """Refuse anything that is not a balanced, single-currency set of non-zero integer lines."""
    if not postings:
        raise _unbalanced("A transaction needs at least one line.")
    for line in postings:
        if type(line.amount) is not int:
            raise _unbalanced("Amounts are integers of minor units.", {"account": line.account})
        if line.amount == 0:
            raise _unbalanced("A transaction line cannot be zero.", {"account": line.account})
        if account_spec(line.account).currency != currency:
            raise _unbalanced(f"Account {line.account} is not in {currency}.", {"account": line.account})
    total = sum(line.amount for line in postings)
    if total != 0:
        raise _unbalanced(f"The lines sum to {total}, not 0.", {"sum": total})


async def find_transaction(db: AsyncSession, kind: str, reference: str) -> LedgerTransaction | None:
    return (await db.execute(select(LedgerTransaction).where(
        LedgerTransaction.kind == kind, LedgerTransaction.reference == reference))).scalar_one_or_none()


async def get_account(db: AsyncSession, code: str) -> LedgerAccount | None:
    return (await db.execute(select(LedgerAccount).where(LedgerAccount.code == code))).scalar_one_or_none()


async def ensure_accounts(db: AsyncSession, codes: list[str]) -> dict[str, LedgerAccount]:
    """The accounts for ``codes``, creating missing ones (a concurrent creator wins harmlessly)."""
    wanted = sorted(set(codes))
    specs = {code: account_spec(code) for code in wanted}
    rows = (await db.execute(select(LedgerAccount).where(LedgerAccount.code.in_(wanted)))).scalars()
    found = {row.code: row for row in rows}
    for code in wanted:
        if code in found:
            continue
        spec = specs[code]
        account = LedgerAccount(code=code, kind=spec.kind, currency=spec.currency, owner_type=spec.owner_type,
                                owner_id=spec.owner_id, name=spec.name[:120])
        try:
            async with db.begin_nested():
                db.add(account)
                await db.flush()
        except IntegrityError:
            existing = await get_account(db, code)
            if existing is None:
                raise
            account = existing
        found[code] = account
    return found


async def account_ids(db: AsyncSession, codes: list[str]) -> dict[str, int]:
    """The ids of the accounts for ``codes``: one plain read, creating the missing ones (rare:
    the first posting of a shop or currency) through :func:`ensure_accounts`."""
    wanted = sorted(set(codes))
    rows = await InTransaction.of(db).all("SELECT code, id FROM ledger_accounts WHERE code IN :codes",
                                          {"codes": wanted})
    found = {str(code): int(account_id) for code, account_id in rows}
    missing = [code for code in wanted if code not in found]
    if missing:
        found.update({code: account.id for code, account in (await ensure_accounts(db, missing)).items()})
    return found


async def post(db: AsyncSession, *, kind: str, reference: str, currency: str, postings: list[Posting],
               memo: str = "", order_id: int | None = None, shop_id: int | None = None) -> LedgerTransaction | None:
    """Write one balanced transaction; ``None`` (and nothing written) if ``(kind, reference)`` exists.

    Idempotent under concurrency too: the transaction row is inserted with ``ON CONFLICT
    (kind, reference) DO NOTHING``, so the loser of a race writes nothing and keeps its
    session usable. Plain statements (``kit.sql InTransaction``): the answer is a detached
    ``LedgerTransaction`` with the values written.
    """
    check_postings(currency, postings)
    accounts = await account_ids(db, [line.account for line in postings])
    now = utcnow()
    raw = InTransaction.of(db)
    # One statement: INSERT … ON CONFLICT (kind, reference) DO NOTHING RETURNING id. An existing
    # transaction (a retry, or the winner of a race, which PostgreSQL waits for) returns nothing
    # and leaves the session usable — no read first, no savepoint.
    txn_id = await raw.scalar(
        "INSERT INTO ledger_transactions (kind, reference, memo, order_id, shop_id, created_at) "
        "VALUES (:kind, :reference, :memo, :order_id, :shop_id, :now) "
        "ON CONFLICT (kind, reference) DO NOTHING RETURNING id",
        {"kind": kind, "reference": reference, "memo": memo, "order_id": order_id, "shop_id": shop_id, "now": now})
    if txn_id is None:
        return None
    # All lines in one executemany (no RETURNING: nothing needs their ids).
    await raw.executemany(
        "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency, created_at) "
        "VALUES (:txn, :account, :amount, :currency, :now)",
        [{"txn": txn_id, "account": accounts[line.account], "amount": line.amount, "currency": currency, "now": now}
         for line in postings])
    return snapshot(LedgerTransaction, dict(id=int(txn_id), kind=kind, reference=reference, memo=memo,
                                            order_id=order_id, shop_id=shop_id, created_at=now))


# --- balances ------------------------------------------------------------------------------


def _int(value: Any) -> int:
    return int(value or 0)  # PostgreSQL's SUM(bigint) is numeric


async def raw_balance(db: AsyncSession, code: str) -> int:
    """Signed sum of the account's entries (debits positive)."""
    total = await db.execute(select(func.sum(LedgerEntry.amount)).join(
        LedgerAccount, LedgerAccount.id == LedgerEntry.account_id).where(LedgerAccount.code == code))
    return _int(total.scalar())


def normal_balance(kind: str, raw: int) -> int:
    return raw if kind in DEBIT_NORMAL else -raw


async def balance(db: AsyncSession, code: str) -> int:
    """The account's balance on its normal side: what an asset holds or an expense cost, what a
    liability owes or a revenue earned. A shop's ``available`` below 0 is a clawback."""
    return normal_balance(account_spec(code).kind, await raw_balance(db, code))


SHOP_BALANCE_KEYS = {"pending": "pending", "available": "available", "payouts_in_transit": "in_transit"}


def _zero_shop_balances() -> dict[str, int]:
    return {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}


async def shop_balances(db: AsyncSession, shop_id: int) -> dict[str, dict[str, int]]:
    """Per currency: ``pending``, ``available`` (may be < 0), ``in_transit`` and ``paid_out``
    (the sum of sent payouts)."""
    rows = await db.execute(
        select(LedgerAccount.code, LedgerAccount.currency, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.owner_type == "shop", LedgerAccount.owner_id == shop_id)
        .group_by(LedgerAccount.code, LedgerAccount.currency)
    )
    result: dict[str, dict[str, int]] = {}
    for code, currency, total in rows:
        key = SHOP_BALANCE_KEYS.get(code.split(":")[2])
        if key is not None:
            result.setdefault(currency, _zero_shop_balances())[key] = -_int(total)
    sent = await db.execute(
        select(Payout.currency, func.sum(Payout.amount))
        .where(Payout.shop_id == shop_id, Payout.status == "sent").group_by(Payout.currency)
    )
    for currency, total in sent:
        result.setdefault(currency, _zero_shop_balances())["paid_out"] = _int(total)
    return dict(sorted(result.items()))


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    created_at: datetime
    account: str  # pending | available | in_transit
    currency: str
    amount: int  # from the shop's side: > 0 adds to its balance
    kind: str
    reference: str
    memo: str
    order_id: int | None


@dataclass(frozen=True)
class StatementPage:
    items: list[StatementLine]
    next_cursor: str | None


async def statement(db: AsyncSession, shop_id: int, cursor: str | None = None, limit: int = 50) -> StatementPage:
    """The shop's entries, newest first, keyset-paged by entry id (the cursor is opaque)."""
    after = decode_cursor(cursor, (int,))
    before_id = after[0] if after else None
    accounts = {
        row.id: row for row in (await db.execute(select(LedgerAccount).where(
            LedgerAccount.owner_type == "shop", LedgerAccount.owner_id == shop_id))).scalars()
    }
    if not accounts:
        return StatementPage(items=[], next_cursor=None)
    stmt = (
        select(LedgerEntry, LedgerTransaction)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id.in_(list(accounts)))
        .order_by(LedgerEntry.id.desc()).limit(limit + 1)
    )
    if before_id is not None:
        stmt = stmt.where(LedgerEntry.id < before_id)
    rows = (await db.execute(stmt)).all()
    items = [
        StatementLine(
            entry_id=entry.id, created_at=entry.created_at,
            account=SHOP_BALANCE_KEYS.get(accounts[entry.account_id].code.split(":")[2], "other"),
            currency=entry.currency, amount=-entry.amount, kind=txn.kind, reference=txn.reference, memo=txn.memo,
            order_id=txn.order_id,
        )
        for entry, txn in rows[:limit]
    ]
    next_cursor = encode_cursor([items[-1].entry_id]) if len(rows) > limit else None
    return StatementPage(items=items, next_cursor=next_cursor)


# --- the ledger check ----------------------------------------------------------------------


async def trial_balance(db: AsyncSession) -> dict[str, int]:
    """The sum of every entry per currency: 0 for each one, or the ledger is broken."""
    rows = await db.execute(select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
                            .group_by(LedgerEntry.currency).order_by(LedgerEntry.currency))
    return {currency: _int(total) for currency, total in rows}


async def unbalanced_transactions(db: AsyncSession, limit: int = 100) -> list[int]:
    """Ids of transactions whose entries do not sum to 0 in some currency (there should be none)."""
    rows = await db.execute(
        select(LedgerEntry.transaction_id).group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount) != 0).order_by(LedgerEntry.transaction_id).limit(limit)
    )
    return sorted({int(row[0]) for row in rows})


async def platform_revenue(db: AsyncSession) -> dict[str, dict[str, int]]:
    """Per currency, the platform accounts on their normal side: fees earned, promotions spent,
    tax owed and cash held."""
    rows = await db.execute(
        select(LedgerAccount.code, LedgerAccount.kind, LedgerAccount.currency, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.owner_type == "platform")
        .group_by(LedgerAccount.code, LedgerAccount.kind, LedgerAccount.currency)
    )
    result: dict[str, dict[str, int]] = {}
    for code, kind, currency, total in rows:
        name = code.split(":")[1]
        bucket = result.setdefault(currency, {"fees": 0, "promotions": 0, "tax_payable": 0, "cash": 0})
        bucket[name] = normal_balance(kind, _int(total))
    return dict(sorted(result.items()))


async def counts(db: AsyncSession) -> dict[str, int]:
    transactions = _int((await db.execute(select(func.count()).select_from(LedgerTransaction))).scalar())
    entries = _int((await db.execute(select(func.count()).select_from(LedgerEntry))).scalar())
    accounts = _int((await db.execute(select(func.count()).select_from(LedgerAccount))).scalar())
    return {"transactions": transactions, "entries": entries, "accounts": accounts}
