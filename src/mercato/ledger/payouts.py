"""Payout methods and payouts: a payee's available balance leaves the platform.

A payee is a shop or a creator (a user: diamonds and commissions, docs/ledger.md "Creator
earnings"); both follow the same rules on their own ``{shop|creator}:ID:…`` accounts, and a
payout row and a payout method belong to exactly one of them (``shop_id`` or ``creator_id``).

A payout takes the whole available balance of one currency (so a clawback — an available
balance below 0 after a refund of a settled order — is netted from it automatically) and
moves it to ``payouts_in_transit``; sending it moves it out of the platform's cash. When the
payout method was added or changed less than ``payout_hold_hours`` ago the payout is held
(account-takeover protection) and :func:`release_held_payouts` sends it once the hold ends.

Only the shop owner, 18 or older (docs/ledger.md, "Payouts, holds, clawbacks"), may set the method or request a payout;
a creator, 18 or older, for their own earnings, and only from ``creator_payout_minimum`` up (a
payout costs a transfer: tiny ones are refused rather than sent at a loss).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.accounts.models import User
from mercato.accounts.service import require_adult
from mercato.catalog import repository as catalog_repo
from mercato.catalog import shops
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.kit import outbox
from mercato.kit.db import utcnow
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.kit.money import format_money, is_supported
from mercato.kit.pagination import decode_cursor, encode_cursor
from mercato.kit.sql.transaction import take_write_lock
from mercato.ledger import repository
from mercato.ledger.errors import LedgerError
from mercato.ledger.models import Payout, PayoutMethod
from mercato.ledger.service import Posting, balance, ensure_accounts, platform_account, post

_ACCOUNT_NUMBER = re.compile(r"^[A-Z0-9]{4,34}$")


class PayoutProvider(Protocol):
    """Sends money to a payee's payout method; returns the provider's reference.

    ``idempotency_key`` is stable per payout, so a retry after a crash never pays twice.
    """

    name: str

    async def send(self, *, idempotency_key: str, amount: int, currency: str, destination: str) -> str: ...


class SandboxPayoutProvider:
    """Always succeeds, moves no real money; references look like ``po_sandbox_…``."""

    name = "sandbox"

    async def send(self, *, idempotency_key: str, amount: int, currency: str, destination: str) -> str:
        return f"po_sandbox_{secrets.token_hex(12)}"


def payout_provider(settings: Settings) -> PayoutProvider:
    return SandboxPayoutProvider()


# --- payees --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payee:
    """Whom a payout pays: ``kind`` is ``shop`` or ``creator`` (a user id), the owner part of
    the ledger account codes; ``name`` words the emails."""

    kind: str
    id: int
    name: str

    def account(self, name: str, currency: str) -> str:
        return f"{self.kind}:{self.id}:{name}:{currency}"

    @property
    def columns(self) -> dict[str, int | None]:
        return {"shop_id": self.id if self.kind == "shop" else None,
                "creator_id": self.id if self.kind == "creator" else None}


def shop_payee(shop: Shop) -> Payee:
    return Payee("shop", shop.id, shop.name)


def creator_payee(user: User) -> Payee:
    return Payee("creator", user.id, "your creator earnings")


def payee_of(payout: Payout | PayoutMethod) -> Payee:
    if payout.creator_id is not None:
        return Payee("creator", payout.creator_id, "your creator earnings")
    assert payout.shop_id is not None
    return Payee("shop", payout.shop_id, "your shop")


# --- payout methods ------------------------------------------------------------------------


async def require_payout_owner(db: AsyncSession, shop: Shop, user: User, settings: Settings) -> None:
    """Owner of the shop (403 ``owner_only`` / ``not_shop_member``) and an adult (403 ``age_restricted``)."""
    await shops.require_member(db, user, shop, owner=True)
    require_adult(user, settings, "receive payouts")


def require_creator_payee(user: User, settings: Settings) -> Payee:
    """A creator's own payouts: any signed-in adult (403 ``age_restricted`` for a minor)."""
    require_adult(user, settings, "receive payouts")
    return creator_payee(user)


async def payout_method(db: AsyncSession, shop_id: int) -> PayoutMethod | None:
    return await repository.payout_method(db, "shop", shop_id)


async def creator_payout_method(db: AsyncSession, creator_id: int) -> PayoutMethod | None:
    return await repository.payout_method(db, "creator", creator_id)


def mask_account(account_holder: str, account_number: str) -> tuple[str, str]:
    """(holder, masked label); only the last four characters of the number are kept."""
    holder = " ".join(account_holder.split())
    if not 2 <= len(holder) <= 80:
        raise ValidationFailed("Enter the account holder's name (2–80 characters).",
                               code=LedgerError.INVALID_ACCOUNT_HOLDER, details={"field": "account_holder"})
    number = re.sub(r"[\s-]", "", account_number).upper()
    if not _ACCOUNT_NUMBER.match(number):
        raise ValidationFailed("Enter an account number or IBAN of 4–34 letters and digits.",
                               code=LedgerError.INVALID_ACCOUNT_NUMBER, details={"field": "account_number"})
    return holder, f"{holder} ····{number[-4:]}"


async def set_payout_method(db: AsyncSession, shop: Shop, *, account_holder: str, account_number: str,
                            now: datetime | None = None) -> PayoutMethod:
    """Store the masked bank account (the full number never reaches the database) and when it
    changed; payouts in the next ``payout_hold_hours`` are held."""
    return await set_payee_method(db, shop_payee(shop), account_holder=account_holder,
                                  account_number=account_number, now=now)


async def set_payee_method(db: AsyncSession, payee: Payee, *, account_holder: str, account_number: str,
                           now: datetime | None = None) -> PayoutMethod:
    """:func:`set_payout_method` for any payee (a creator: after :func:`require_creator_payee`)."""
    _, label = mask_account(account_holder, account_number)
    now = now or utcnow()
    method = await repository.payout_method(db, payee.kind, payee.id)
    if method is None:
        method = PayoutMethod(**payee.columns, kind="bank_account", label=label, changed_at=now)
        await repository.add(db, method)
    else:
        method.kind, method.label, method.changed_at = "bank_account", label, now
        await db.flush()
    return method


def hold_until(method: PayoutMethod, settings: Settings) -> datetime:
    return method.changed_at + timedelta(hours=settings.payout_hold_hours)


# --- payouts -------------------------------------------------------------------------------


async def _lock_available(db: AsyncSession, payee: Payee, currency: str) -> None:
    """Serialise payouts of one payee and currency: lock its available account (PostgreSQL;
    on SQLite the write lock, taken before the balance is read)."""
    await take_write_lock(db)
    code = payee.account("available", currency)
    await ensure_accounts(db, [code])
    await repository.lock_account(db, code)


async def request_payout(db: AsyncSession, shop: Shop, currency: str, user: User, settings: Settings, *,
                         now: datetime | None = None, provider: PayoutProvider | None = None) -> Payout:
    """Pay out the whole available balance of ``currency``: sent at once, or held after a recent
    change of the payout method. 409 ``nothing_to_pay_out`` when the balance is 0 or below."""
    await require_payout_owner(db, shop, user, settings)
    return await _request(db, shop_payee(shop), currency, user, settings, minimum=0, now=now, provider=provider)


async def request_creator_payout(db: AsyncSession, user: User, currency: str, settings: Settings, *,
                                 now: datetime | None = None, provider: PayoutProvider | None = None) -> Payout:
    """Pay out the creator's whole available balance of ``currency`` (an adult; at least
    ``creator_payout_minimum``: 409 ``below_payout_minimum`` under it)."""
    payee = require_creator_payee(user, settings)
    return await _request(db, payee, currency, user, settings, minimum=settings.creator_payout_minimum, now=now,
                          provider=provider)


async def _request(db: AsyncSession, payee: Payee, currency: str, user: User, settings: Settings, *, minimum: int,
                   now: datetime | None, provider: PayoutProvider | None) -> Payout:
    currency = currency.upper()
    if not is_supported(currency):
        raise ValidationFailed("Unsupported currency.", code=LedgerError.INVALID_CURRENCY,
                               details={"field": "currency"})
    now = now or utcnow()
    await _lock_available(db, payee, currency)
    amount = await balance(db, payee.account("available", currency))
    if amount <= 0:
        raise Conflict("There is nothing to pay out in this currency.", code=LedgerError.NOTHING_TO_PAY_OUT,
                       details={"available": amount, "currency": currency})
    if amount < minimum:
        raise Conflict(f"Payouts start at {format_money(minimum, currency)}; you have "
                       f"{format_money(amount, currency)} available.", code=LedgerError.BELOW_PAYOUT_MINIMUM,
                       details={"available": amount, "minimum": minimum, "currency": currency})
    method = await repository.payout_method(db, payee.kind, payee.id)
    if method is None:
        raise ValidationFailed("Add a payout method first.", code=LedgerError.NO_PAYOUT_METHOD)
    payout = Payout(**payee.columns, currency=currency, amount=amount, status="pending", requested_by=user.id,
                    created_at=now)
    await repository.add(db, payout)
    shop_id = payee.id if payee.kind == "shop" else None
    await post(db, kind="payout_request", reference=f"payout:{payout.id}", currency=currency, postings=[
        Posting(payee.account("available", currency), amount),
        Posting(payee.account("payouts_in_transit", currency), -amount),
    ], memo=f"Payout #{payout.id} requested", shop_id=shop_id)
    release_at = hold_until(method, settings)
    if release_at > now:
        payout.status = "held"
        payout.release_at = release_at
        payout.hold_reason = (f"The payout method changed less than {settings.payout_hold_hours} hours ago; "
                              f"held until {release_at:%Y-%m-%d %H:%M} UTC.")
        await db.flush()
        await outbox.send_email(
            db, user.email, f"Payout of {format_money(amount, currency)} on hold",
            f"Your payout #{payout.id} from {payee.name} is held until {release_at:%Y-%m-%d %H:%M} UTC because "
            "the payout method changed recently. If you did not change it, contact support.", "payout.held",
        )
        return payout
    await _send(db, payout, method, provider or payout_provider(settings), now)
    await outbox.send_email(
        db, user.email, f"Payout of {format_money(amount, currency)} sent",
        f"Your payout #{payout.id} from {payee.name} was sent to {method.label}.", "payout.sent",
    )
    return payout


async def _send(db: AsyncSession, payout: Payout, method: PayoutMethod, provider: PayoutProvider,
                now: datetime) -> None:
    """Send through the provider and move the money out of the platform (status already claimed)."""
    payout.provider_ref = await provider.send(idempotency_key=f"payout:{payout.id}", amount=payout.amount,
                                              currency=payout.currency, destination=method.label)
    payout.status = "sent"
    payout.sent_at = now
    payout.hold_reason = None
    await db.flush()
    payee = payee_of(payout)
    await post(db, kind="payout_sent", reference=f"payout:{payout.id}", currency=payout.currency, postings=[
        Posting(payee.account("payouts_in_transit", payout.currency), payout.amount),
        Posting(platform_account("cash", payout.currency), -payout.amount),
    ], memo=f"Payout #{payout.id} sent ({payout.provider_ref})", shop_id=payout.shop_id)
    await outbox.emit(db, "payout.sent", "payout", payout.id, {
        "payout_id": payout.id, "shop_id": payout.shop_id, "creator_id": payout.creator_id,
        "amount": payout.amount, "currency": payout.currency,
        "provider_ref": payout.provider_ref, "sent_at": now.isoformat(),
    })


async def release_held_payouts(db: AsyncSession, settings: Settings, *, now: datetime | None = None,
                               provider: PayoutProvider | None = None, limit: int = 100) -> int:
    """Send held payouts whose hold has ended; returns how many were sent.

    Each payout is claimed by a guarded ``held → sent`` update (row count 1), so two runners
    never send it twice. A payout whose method changed again during the hold waits longer.
    """
    now = now or utcnow()
    provider = provider or payout_provider(settings)
    due = await repository.held_payouts_due(db, now, limit)
    sent = 0
    for payout in due:
        payee = payee_of(payout)
        method = await repository.payout_method(db, payee.kind, payee.id)
        if method is None or hold_until(method, settings) > now:
            extended = hold_until(method, settings) if method is not None else now + timedelta(
                hours=settings.payout_hold_hours)
            await repository.extend_hold(db, payout.id, extended)
            continue
        if not await repository.claim_held(db, payout.id, now):
            continue
        await db.refresh(payout)
        await _send(db, payout, method, provider, now)
        owner = await _owner_email(db, payee)
        if owner:
            await outbox.send_email(
                db, owner, f"Payout of {format_money(payout.amount, payout.currency)} sent",
                f"Your held payout #{payout.id} was released and sent to {method.label}.", "payout.sent",
            )
        sent += 1
    return sent


async def _owner_email(db: AsyncSession, payee: Payee) -> str | None:
    if payee.kind == "creator":
        creator = await accounts_repo.user_by_id(db, payee.id)
        return creator.email if creator else None
    for member in await catalog_repo.shop_members(db, payee.id):
        if member.role == "owner":
            owner = await accounts_repo.user_by_id(db, member.user_id)
            return owner.email if owner else None
    return None


async def held_payouts(db: AsyncSession, kind: str, payee_id: int) -> list[Payout]:
    """The payee's payouts on hold, oldest first."""
    return await repository.held_payouts_of(db, kind, payee_id)


@dataclass(frozen=True)
class PayoutPage:
    items: list[Payout]
    next_cursor: str | None


async def list_payouts(db: AsyncSession, shop_id: int, cursor: str | None = None, limit: int = 20) -> PayoutPage:
    return await list_payee_payouts(db, "shop", shop_id, cursor, limit)


async def list_payee_payouts(db: AsyncSession, kind: str, payee_id: int, cursor: str | None = None,
                             limit: int = 20) -> PayoutPage:
    """A shop's (``kind`` ``shop``) or a creator's (``creator``) payouts, newest first."""
    after = decode_cursor(cursor, (int,))
    rows = await repository.payouts_page(db, kind, payee_id, limit + 1, after[0] if after else None)
    nxt = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return PayoutPage(items=rows[:limit], next_cursor=nxt)
