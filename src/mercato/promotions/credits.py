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
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.accounts.models import User
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.money import allocate, format_money, is_supported
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.kit.sql.transaction import take_write_lock
from mercato.ledger import repository as ledger_repo
from mercato.ledger.models import LedgerTransaction
from mercato.ledger.service import Posting, ensure_accounts, platform_account, post, user_account
from mercato.ledger.service import balance as ledger_balance
from mercato.promotions.errors import PromotionsError

#: The ledger transaction kinds of credits' own movements (idempotent by ``(kind, reference)``);
#: refunds give credits back inside the ``refund`` transaction (ledger/postings.py).
GRANT_KIND = "credit_grant"
HOLD_KIND = "credit_hold"
RELEASE_KIND = "credit_release"
#: Longest reason kept in the ledger memo, and the ledger reference's width.
REASON_MAX = 200
REFERENCE_MAX = 120


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
    if not reference or len(reference) > REFERENCE_MAX:
        raise ValidationFailed("A grant needs a reference (at most 120 characters).",
                               code=PromotionsError.INVALID_INPUT, details={"field": "reference"})
    cur = _currency(currency)
    return await post(db, kind=GRANT_KIND, reference=reference, currency=cur, memo=reason[:REASON_MAX],
                      postings=[Posting(platform_account("promotions", cur), amount),
                                Posting(credits_account(user_id, cur), -amount)])


async def balance(db: AsyncSession, user_id: int, currency: str) -> int:
    """The user's spendable credits in ``currency`` (minor units): the ledger balance of
    ``user:U:credits:CUR`` — credits held by an unpaid checkout are already taken out."""
    return await ledger_balance(db, credits_account(user_id, _currency(currency)))


async def balances(db: AsyncSession, user_id: int) -> dict[str, int]:
    """Every currency the user has ever had credits in → the balance (sorted by currency)."""
    return dict(sorted((currency, -total) for code, _, currency, total
                       in await ledger_repo.owner_sums(db, "user", user_id) if code.split(":")[2] == "credits"))


@dataclass(frozen=True)
class OperatorGrant:
    user: User
    granted: bool  # False: the reference was granted before (nothing written)
    transaction_id: int | None
    reference: str


async def operator_grant(db: AsyncSession, operator: User, *, user_ref: str, amount: int, currency: str,
                         reason: str, reference: str | None = None) -> OperatorGrant:
    """An operator gives credits to a user found by id, e-mail or handle (404 for nobody). The
    ledger is the audit trail: the memo keeps the reason (the user sees it), the reference the
    operator (``admin:{operator id}:{reference}``); ``reference`` (default: a new one) makes a
    retried grant write nothing."""
    ref = user_ref.strip()
    if ref.isascii() and ref.isdigit():
        user = await accounts_repo.user_by_id(db, int(ref))
    elif "@" in ref[1:]:
        user = await accounts_repo.user_by_email(db, ref.lower())
    else:
        user = await accounts_repo.user_by_handle(db, ref.lstrip("@"))
    if user is None:
        raise NotFound("No such user.", code=PromotionsError.CREDITS_USER_NOT_FOUND, details={"field": "user"})
    reference = f"admin:{operator.id}:{reference or uuid4().hex}"
    txn = await grant(db, user_id=user.id, amount=amount, currency=currency, reason=reason, reference=reference)
    return OperatorGrant(user=user, granted=txn is not None, transaction_id=txn.id if txn else None,
                         reference=reference)


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


def describe(line: CreditLine) -> str:
    """What a movement means to the user."""
    if line.kind == GRANT_KIND:
        return line.memo
    order = f"order #{line.order_id}" if line.order_id is not None else "an order"
    if line.kind == HOLD_KIND:
        return f"Spent on {order}"
    if line.kind == RELEASE_KIND:
        return f"Back from {order} (not paid)"
    if line.kind == "refund":
        return f"Refund of {order}"
    return line.memo


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


# --- spending at checkout ------------------------------------------------------------------


async def plan_spend(db: AsyncSession, *, user_id: int, currency: str, payable: list[int],
                     wanted: int | None) -> list[int]:
    """How much of each order's payable amount (``payable``, the checkout's orders in this
    currency, in their order) the buyer's credits pay: ``wanted`` (``None``: as much as the
    balance allows), never more than the balance nor the payable total, spread over the orders
    in proportion to their amounts (largest remainder: the same answer every time).

    Locks the buyer's credits account first (:func:`lock`), so the balance read here stays true
    until the holds of :func:`hold` are committed: a concurrent checkout waits, then sees them.
    ``wanted`` above the payable total is ``422 credits_amount_invalid``; above the balance
    ``409 credits_insufficient`` (nothing written).
    """
    cur = _currency(currency)
    total = sum(payable)
    if wanted is not None and (wanted < 0 or wanted > total):
        raise ValidationFailed(f"Credits can pay at most {format_money(total, cur)} of this checkout.",
                               code=PromotionsError.CREDITS_AMOUNT_INVALID,
                               details={"field": "credits_amount", "max": total})
    if wanted == 0 or total == 0:
        return [0] * len(payable)
    await lock(db, user_id, cur)
    available = await balance(db, user_id, cur)
    if wanted is not None and wanted > available:
        raise Conflict(f"You have only {format_money(max(available, 0), cur)} of credits.",
                       code=PromotionsError.CREDITS_INSUFFICIENT,
                       details={"field": "credits_amount", "balance": max(available, 0)})
    spend = min(total, max(available, 0)) if wanted is None else wanted
    if spend == 0:
        return [0] * len(payable)
    return allocate(spend, list(payable))


async def hold(db: AsyncSession, *, user_id: int, order_id: int, shop_id: int, currency: str,
               amount: int) -> None:
    """Take ``amount`` of credits for an unpaid order (Dr ``user:U:credits`` / Cr
    ``platform:credits_held``); the order's payment takes them from there. Call after
    :func:`plan_spend` in the same unit of work."""
    if amount <= 0:
        return
    await post(db, kind=HOLD_KIND, reference=f"order:{order_id}", currency=currency,
               memo=f"Credits for order #{order_id}", order_id=order_id, shop_id=shop_id,
               postings=[Posting(credits_account(user_id, currency), amount),
                         Posting(platform_account("credits_held", currency), -amount)])


async def release(db: AsyncSession, *, user_id: int, order_id: int, shop_id: int, currency: str,
                  amount: int) -> None:
    """Give back the credits an order held when it will never be paid (its checkout expired or
    it was cancelled before payment). Idempotent by the order."""
    if amount <= 0:
        return
    await post(db, kind=RELEASE_KIND, reference=f"order:{order_id}", currency=currency,
               memo=f"Credits back: order #{order_id} was not paid", order_id=order_id, shop_id=shop_id,
               postings=[Posting(platform_account("credits_held", currency), amount),
                         Posting(credits_account(user_id, currency), -amount)])
