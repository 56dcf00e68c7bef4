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

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import utcnow
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import is_supported
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.kit.sql.transaction import snapshot
from mercato.ledger import repository
from mercato.ledger.errors import LedgerError
from mercato.ledger.models import LedgerAccount, LedgerTransaction

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
    # creators are not shops: diamonds and commissions (docs/ledger.md, "Creator earnings")
    "creator": frozenset({"pending", "available", "payouts_in_transit"}),
    # a user's stored value: unspent coins (at what they cost) and shopping credits
    "user": frozenset({"coins", "credits"}),
}
DEBIT_NORMAL = frozenset({"asset", "expense"})
_NAMES = {
    "cash": "Cash at payment provider", "fees": "Referral fee revenue", "promotions": "Platform-funded discounts",
    "tax_payable": "Tax payable", "pending": "Pending earnings", "available": "Available balance",
    "payouts_in_transit": "Payouts in transit", "coins": "Unspent coins", "credits": "Shopping credits",
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
    return ValidationFailed(f"Unknown ledger account {code!r}.", code=LedgerError.UNKNOWN_LEDGER_ACCOUNT)


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


def creator_account(user_id: int, name: str, currency: str) -> str:
    """``pending`` | ``available`` | ``payouts_in_transit`` of a creator (a user, not a shop)."""
    return f"creator:{user_id}:{name}:{currency}"


def user_account(user_id: int, name: str, currency: str) -> str:
    """``coins`` | ``credits``: what the platform owes a user in stored value."""
    return f"user:{user_id}:{name}:{currency}"


def _unbalanced(message: str, details: Any = None) -> ValidationFailed:
    return ValidationFailed(message, code=LedgerError.UNBALANCED_TRANSACTION, details=details)


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
    return await repository.find_transaction(db, kind, reference)


async def get_account(db: AsyncSession, code: str) -> LedgerAccount | None:
    return await repository.account_by_code(db, code)


async def ensure_accounts(db: AsyncSession, codes: list[str]) -> dict[str, LedgerAccount]:
    """The accounts for ``codes``, creating missing ones (a concurrent creator wins harmlessly)."""
    wanted = sorted(set(codes))
    specs = {code: account_spec(code) for code in wanted}
    found = await repository.accounts_by_code(db, wanted)
    for code in wanted:
        if code in found:
            continue
        spec = specs[code]
        account = LedgerAccount(code=code, kind=spec.kind, currency=spec.currency, owner_type=spec.owner_type,
                                owner_id=spec.owner_id, name=spec.name[:120])
        if not await repository.add_account(db, account):
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
    found = await repository.account_ids(db, wanted)
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
    txn_id = await repository.insert_transaction(db, {"kind": kind, "reference": reference, "memo": memo,
                                                      "order_id": order_id, "shop_id": shop_id, "created_at": now})
    if txn_id is None:
        return None
    await repository.insert_entries(
        db, [{"transaction_id": txn_id, "account_id": accounts[line.account], "amount": line.amount,
              "currency": currency, "created_at": now} for line in postings])
    return snapshot(LedgerTransaction, dict(id=txn_id, kind=kind, reference=reference, memo=memo,
                                            order_id=order_id, shop_id=shop_id, created_at=now))


# --- balances ------------------------------------------------------------------------------


async def raw_balance(db: AsyncSession, code: str) -> int:
    """Signed sum of the account's entries (debits positive)."""
    return await repository.raw_balance(db, code)


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
    result: dict[str, dict[str, int]] = {}
    for code, _, currency, total in await repository.owner_sums(db, "shop", shop_id):
        key = SHOP_BALANCE_KEYS.get(code.split(":")[2])
        if key is not None:
            result.setdefault(currency, _zero_shop_balances())[key] = -total
    for currency, total in (await repository.sent_payout_sums(db, shop_id)).items():
        result.setdefault(currency, _zero_shop_balances())["paid_out"] = total
    return dict(sorted(result.items()))


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    created_at: datetime
    account: str  # pending | available | in_transit
    currency: str
    amount: int  # from the owner's (shop's or creator's) side: > 0 adds to its balance
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
    return await owner_statement(db, "shop", shop_id, cursor, limit)


async def owner_statement(db: AsyncSession, owner_type: str, owner_id: int, cursor: str | None = None,
                          limit: int = 50) -> StatementPage:
    """The entries of a shop's or a creator's accounts, newest first, keyset-paged by entry id."""
    after = decode_cursor(cursor, (int,))
    before_id = after[0] if after else None
    accounts = await repository.owner_accounts(db, owner_type, owner_id)
    if not accounts:
        return StatementPage(items=[], next_cursor=None)
    rows = await repository.entries_page(db, list(accounts), limit + 1, before_id)
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
    return await repository.sums_by_currency(db)


async def unbalanced_transactions(db: AsyncSession, limit: int = 100) -> list[int]:
    """Ids of transactions whose entries do not sum to 0 in some currency (there should be none)."""
    return await repository.unbalanced_transaction_ids(db, limit)


async def platform_revenue(db: AsyncSession) -> dict[str, dict[str, int]]:
    """Per currency, the platform accounts on their normal side: fees earned, promotions spent,
    tax owed and cash held."""
    result: dict[str, dict[str, int]] = {}
    for code, kind, currency, total in await repository.owner_sums(db, "platform", None):
        name = code.split(":")[1]
        bucket = result.setdefault(currency, {"fees": 0, "promotions": 0, "tax_payable": 0, "cash": 0})
        bucket[name] = normal_balance(kind, total)
    return dict(sorted(result.items()))


async def liabilities(db: AsyncSession) -> dict[tuple[str, str, str], int]:
    """(currency, owner type, account name) → what the platform owes all owners of that type on
    that account (shops' and creators' pending, available, in transit; users' coins, credits)."""
    result: dict[tuple[str, str, str], int] = {}
    for code, currency, total in await repository.owed_per_account(db, list(OWNER_ACCOUNTS)):
        owner, _, name, _ = code.split(":")
        key = (currency, owner, name)
        result[key] = result.get(key, 0) - total
    return dict(sorted(result.items()))


async def counts(db: AsyncSession) -> dict[str, int]:
    return await repository.row_counts(db)
