"""Paying a checkout and keeping the address book (service layer).

The checkout's payment intents are confirmed one by one with the card. The provider is
called with an idempotency key derived from the intent and its attempt number, so a
retry after a crash reuses the charge instead of making a second one (docs/payments.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, NotFound, error_body
from mercato.kit.faults import checkpoint
from mercato.orders import repository
from mercato.orders.errors import OrdersError
from mercato.orders.models import Address, Checkout
from mercato.orders.schemas import AddressIn, CardIn
from mercato.payments import provider as payment_providers
from mercato.payments import repository as payments_repo
from mercato.payments import service as payments

PAYABLE = ("requires_payment_method", "failed")


@dataclass
class PayOutcome:
    declined: dict[str, Any] | None = None  # the 402 body when a card was declined
    requires_action: bool = False


def card_fingerprint(card: CardIn) -> dict[str, Any]:
    """What identifies a pay request for idempotency, without keeping the card number."""
    digits = "".join(ch for ch in card.card_number if ch.isdigit())
    return {"last4": digits[-4:], "hash": hashlib.sha256(digits.encode()).hexdigest()[:16],
            "exp": f"{card.exp_month}/{card.exp_year}"}


async def pay_checkout(db: AsyncSession, checkout: Checkout, card: CardIn, settings: Settings,
                       database: Database) -> PayOutcome:
    if checkout.status == "expired":
        raise Conflict("This checkout expired and its stock was released. Place the order again.",
                       code=OrdersError.CHECKOUT_EXPIRED)
    if checkout.status in ("paid", "cancelled"):
        raise Conflict(f"This checkout is already {checkout.status}.", code=OrdersError.CHECKOUT_CLOSED)
    intents = await payments_repo.intents_of_checkout(db, checkout.id)
    provider = payment_providers.get_provider(settings, database)
    card_input = payment_providers.CardInput(number=card.card_number, exp_month=card.exp_month,
                                             exp_year=card.exp_year, cvc=card.cvc, name=card.name)
    outcome = PayOutcome()
    for intent in intents:
        if intent.status not in PAYABLE:
            continue
        await payments.confirm(db, intent, card_input, provider=provider, settings=settings)
        checkpoint("pay.after_charge")
        if intent.status == "failed":
            outcome.declined = error_body(
                intent.last_error_code or "card_declined",
                intent.last_error_message or "The card was declined. Try another card.",
                {"payment_intent_id": intent.id},
            )
            break
        if intent.status == "requires_action":
            outcome.requires_action = True
            break
    await db.flush()
    checkpoint("pay.before_commit")
    # No refresh of ``checkout``: the payment hooks change it through this session's identity
    # map (the same object), so it is already current.
    return outcome


async def save_address(db: AsyncSession, user: User, body: AddressIn) -> Address:
    """Add to the address book; a new default address takes the flag from the others."""
    return await repository.add_address(db, user.id, body.model_dump())


async def addresses(db: AsyncSession, user: User, *, default_first: bool = False) -> list[Address]:
    """The user's address book (default first then newest, as checkout offers them)."""
    return await repository.addresses_of(db, user.id, default_first=default_first)


async def delete_address(db: AsyncSession, user: User, address_id: int) -> None:
    """Remove an entry of the user's own address book (404 for anyone else's)."""
    address = await repository.address(db, address_id)
    if address is None or address.user_id != user.id:
        raise NotFound("No such address.")
    await repository.delete_row(db, address)
