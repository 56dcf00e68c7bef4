"""Shopping credits (docs/promotions.md, "Shopping credits"): a platform-funded balance per user
and currency, spent at checkout next to coupons.

The balance **is** the ledger balance of ``user:U:credits:CUR`` — there is no second balance to
keep in step. Every movement is a ledger transaction:

* a grant (:func:`grant`) — Dr ``platform:promotions`` / Cr ``user:U:credits``: the platform pays
  for credits when it hands them out, so a seller is later paid as if the buyer paid in cash;
* a spend — held at checkout, per order (Dr ``user:U:credits`` / Cr ``platform:credits_held``),
  then taken by the order's payment posting (``ledger/postings.py``: Dr ``platform:credits_held``
  instead of ``platform:cash`` for that part), so the seller's share and fee do not change;
* a give-back — an expired or failed checkout releases its hold; a refund returns the credits
  part of the refund pro rata.

Services flush and never commit; the caller's unit of work does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.errors import ValidationFailed
from mercato.kit.money import is_supported
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.kit.sql.transaction import take_write_lock
from mercato.ledger import repository as ledger_repo
from mercato.ledger.models import LedgerTransaction
from mercato.ledger.service import Posting, ensure_accounts, platform_account, post, user_account
from mercato.ledger.service import balance as ledger_balance
from mercato.promotions.errors import PromotionsError

#: The ledger transaction kind of a grant (idempotent by ``(kind, reference)``).
GRANT_KIND = "credit_grant"
#: Longest reason kept (the ledger memo's width).
REASON_MAX = 200


def credits_account(user_id: int, currency: str) -> str:
    return user_account(user_id, "credits", currency)


def _currency(currency: str) -> str:
    upper = currency.upper()
    if not is_supported(upper):
        raise ValidationFailed("Unsupported currency.", code=PromotionsError.WRONG_CURRENCY,
                               details={"field": "currency"})
    return upper


async def grant(db: AsyncSession, *, user_id: int, amount: int, currency: str, reason: str,
                reference: str) -> LedgerTransaction | None:
    """Give ``amount`` minor units of credits to a user, paid by the platform.

    Idempotent by ``reference``: granting again with the same reference writes nothing and
    answers ``None`` (a job, a retried request or a community reward can grant without checking
    first). ``reason`` is the ledger memo — the audit trail of who was given what and why.
    """
    if type(amount) is not int or amount <= 0:
        raise ValidationFailed("A grant is a positive amount of minor units.",
                               code=PromotionsError.CREDITS_AMOUNT_INVALID, details={"field": "amount"})
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("A grant needs a reason.", code=PromotionsError.CREDITS_REASON_REQUIRED,
                               details={"field": "reason"})
    if not reference:
        raise ValidationFailed("A grant needs a reference.", code=PromotionsError.INVALID_INPUT,
                               details={"field": "reference"})
    cur = _currency(currency)
    return await post(db, kind=GRANT_KIND, reference=reference, currency=cur, memo=reason[:REASON_MAX],
                      postings=[Posting(platform_account("promotions", cur), amount),
                                Posting(credits_account(user_id, cur), -amount)])


async def balance(db: AsyncSession, user_id: int, currency: str) -> int:
    """The user's spendable credits in ``currency`` (minor units): the ledger balance of
    ``user:U:credits:CUR`` — credits held by an unpaid checkout are already taken out."""
    return await ledger_balance(db, credits_account(user_id, _currency(currency)))


async def lock(db: AsyncSession, user_id: int, currency: str) -> None:
    """Serialise spends of one user's credits in one currency, as payouts lock a shop's balance:
    the write lock on SQLite (taken before the balance is read), ``SELECT … FOR UPDATE`` of the
    account row on PostgreSQL. Two checkouts spending the same balance therefore see each other's
    hold and the balance never goes below 0."""
    await take_write_lock(db)
    code = credits_account(user_id, currency)
    await ensure_accounts(db, [code])
    await ledger_repo.lock_account(db, code)


@dataclass(frozen=True)
class CreditLine:
    """One movement of a user's credits: ``amount`` > 0 adds to the balance."""

    entry_id: int
    created_at: datetime
    currency: str
    amount: int
    kind: str
    memo: str
    order_id: int | None


@dataclass(frozen=True)
class CreditHistory:
    items: list[CreditLine]
    next_cursor: str | None


async def history(db: AsyncSession, user_id: int, cursor: str | None = None, limit: int = 50) -> CreditHistory:
    """The user's credit movements (grants, spends, give-backs) in every currency, newest first,
    keyset-paged by ledger entry id (the cursor is opaque)."""
    after = decode_cursor(cursor, (int,))
    before_id = after[0] if after else None
    accounts = {account_id: account for account_id, account
                in (await ledger_repo.owner_accounts(db, "user", user_id)).items()
                if account.code.split(":")[2] == "credits"}
    if not accounts:
        return CreditHistory(items=[], next_cursor=None)
    rows = await ledger_repo.entries_page(db, list(accounts), limit + 1, before_id)
    items = [CreditLine(entry_id=entry.id, created_at=entry.created_at, currency=entry.currency,
                        amount=-entry.amount, kind=txn.kind, memo=txn.memo, order_id=txn.order_id)
             for entry, txn in rows[:limit]]
    next_cursor = encode_cursor([items[-1].entry_id]) if len(rows) > limit else None
    return CreditHistory(items=items, next_cursor=next_cursor)
