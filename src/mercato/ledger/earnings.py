"""Creator earnings: what the platform owes a creator (a user, not a shop), and the seam through
which the domains that pay creators show their part of the Earnings page.

Creators earn into three liability accounts per currency (``ledger.service.creator_account``):
``creator:U:pending`` (earned, not payable yet: a commission before its order settles),
``creator:U:available`` (payable; below 0 after a clawback, netted from the next payout) and
``creator:U:payouts_in_transit`` (a payout requested or held, not sent). The domains above the
ledger post the earnings themselves (gifts credit ``available`` directly with diamonds,
affiliate commissions credit ``pending``) and move pending money with :func:`release`; the
payouts are ``ledger.payouts``' (a payee is a shop or a creator).

Gifts and affiliate live above the ledger, so the ledger cannot ask them for their figures:
they register an :data:`EarningsSectionProvider` at import (:func:`register_earnings_section`)
and the Earnings page and API show whatever the registered providers answer, in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import format_money
from mercato.ledger import payouts, repository, service
from mercato.ledger.errors import LedgerError
from mercato.ledger.models import LedgerTransaction, Payout, PayoutMethod
from mercato.ledger.service import Posting, StatementPage, creator_account

if TYPE_CHECKING:
    from mercato.accounts.models import User

#: The payout transaction kind whose debits of ``payouts_in_transit`` are money that left the platform.
PAYOUT_SENT = "payout_sent"


def _zero() -> dict[str, int]:
    return {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}


async def release(db: AsyncSession, *, creator_id: int, currency: str, amount: int, kind: str, reference: str,
                  memo: str = "", order_id: int | None = None, shop_id: int | None = None
                  ) -> LedgerTransaction | None:
    """Move ``amount`` of a creator's earnings from ``pending`` to ``available`` (payable).

    Idempotent by ``(kind, reference)`` like every posting: a second call with the same pair
    writes nothing and answers ``None``, so a release job or a settlement handler may run
    twice. ``amount`` 0 releases nothing (``None``); below 0 is refused (``422
    invalid_release_amount``) — taking money back is a reversal the earning domain posts, not a
    release. ``order_id``/``shop_id`` tie the release to the order it concerns, if any.
    """
    if type(amount) is not int or amount < 0:
        raise ValidationFailed("A release moves a positive whole number of minor units.",
                               code=LedgerError.INVALID_RELEASE_AMOUNT, details={"amount": amount})
    if amount == 0:
        return None
    currency = currency.upper()
    return await service.post(db, kind=kind, reference=reference, currency=currency, postings=[
        Posting(creator_account(creator_id, "pending", currency), amount),
        Posting(creator_account(creator_id, "available", currency), -amount),
    ], memo=memo, order_id=order_id, shop_id=shop_id)


async def creator_balances(db: AsyncSession, creator_id: int) -> dict[str, dict[str, int]]:
    """Per currency with entries: ``pending``, ``available`` (may be < 0 after a clawback),
    ``in_transit`` (requested or held payouts) and ``paid_out`` (sum of sent payouts), all from
    the creator's side (what the platform owes them is positive)."""
    result: dict[str, dict[str, int]] = {}
    for code, _, currency, total in await repository.owner_sums(db, "creator", creator_id):
        key = service.SHOP_BALANCE_KEYS.get(code.split(":")[2])
        if key is not None:
            result.setdefault(currency, _zero())[key] = -total
    for currency, total in (await repository.owner_debits_of_kind(
            db, "creator", creator_id, "payouts_in_transit", PAYOUT_SENT)).items():
        result.setdefault(currency, _zero())["paid_out"] = total
    return dict(sorted(result.items()))


async def creator_statement(db: AsyncSession, creator_id: int, cursor: str | None = None,
                            limit: int = 50) -> StatementPage:
    """The creator's entries, newest first, keyset-paged by entry id (the cursor is opaque);
    each line's ``amount`` is from the creator's side (> 0 adds to the balance)."""
    return await service.owner_statement(db, "creator", creator_id, cursor, limit)


# --- sections of the Earnings page ---------------------------------------------------------


@dataclass(frozen=True)
class EarningsSection:
    """One block of the Earnings page, contributed by a domain that pays creators.

    ``columns`` + ``rows`` is a table (cells already formatted for people, e.g. money through
    ``kit.money.format_money``); ``html`` a trusted fragment the provider rendered itself
    (shown instead of the table; not part of the JSON API, which carries the table only).
    ``key`` names the section in the JSON API (stable, e.g. ``"diamonds_by_live"``);
    ``empty`` is the sentence shown when there are no rows.
    """

    key: str
    title: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    html: str | None = None
    empty: str = "Nothing yet."
    links: tuple[tuple[str, str], ...] = field(default=())  # (label, href) under the section


EarningsSectionProvider = Callable[[AsyncSession, "User"], Awaitable[list[EarningsSection]]]

_sections: list[EarningsSectionProvider] = []


def register_earnings_section(fn: EarningsSectionProvider) -> EarningsSectionProvider:
    """``await fn(db, user)`` answers the sections it adds to that user's Earnings page (read
    only; idempotent registration, shown in registration order). Usable as a decorator."""
    if fn not in _sections:
        _sections.append(fn)
    return fn


def unregister_earnings_section(fn: EarningsSectionProvider) -> None:
    if fn in _sections:
        _sections.remove(fn)


async def earnings_sections(db: AsyncSession, user: User) -> list[EarningsSection]:
    sections: list[EarningsSection] = []
    for provider in list(_sections):
        sections.extend(await provider(db, user))
    return sections


# --- what the Earnings page offers ----------------------------------------------------------


@dataclass(frozen=True)
class PayoutReadiness:
    """Whether the Earnings page offers a payout of one currency: ``blocked`` says why not
    (``None``: it does); ``held_until`` is set when a payout requested now would be held."""

    blocked: str | None
    held_until: datetime | None


def payout_readiness(values: dict[str, int], currency: str, method: PayoutMethod | None,
                     held: Sequence[Payout], settings: Settings, now: datetime) -> PayoutReadiness:
    """The reasons in the order a person can act on them. ``held``: the creator's payouts on
    hold; a second payout of a currency while one waits would only wait too, so it is not
    offered (the API still accepts it and holds it: the rules are the service's)."""
    available = values["available"]
    held_until = None
    if method is not None and payouts.hold_until(method, settings) > now:
        held_until = payouts.hold_until(method, settings)
    waiting = [p for p in held if p.currency == currency and p.status == "held"]
    if waiting:
        when = waiting[0].release_at
        until = f" until {when:%Y-%m-%d %H:%M} UTC" if when else ""
        return PayoutReadiness(f"A payout of {format_money(waiting[0].amount, currency)} is on hold{until}.",
                               held_until)
    if available < 0:
        return PayoutReadiness(f"A clawback of {format_money(-available, currency)} is netted from your next "
                               "earnings first.", held_until)
    if available == 0:
        return PayoutReadiness("Nothing available to pay out yet.", held_until)
    if available < settings.creator_payout_minimum:
        return PayoutReadiness(f"Payouts start at {format_money(settings.creator_payout_minimum, currency)}; you "
                               f"have {format_money(available, currency)} available.", held_until)
    if method is None:
        return PayoutReadiness("Add a payout method first.", held_until)
    return PayoutReadiness(None, held_until)
