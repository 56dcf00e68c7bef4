"""The built-in sandbox payment provider: documented test cards, no network, real webhooks.

It behaves like a remote provider that happens to keep its books in our database: its
state is the ``sandbox_charges`` table, written in **its own short transaction** (committed
at once), so a crash of the caller after a charge leaves the charge on record, exactly as
at Stripe. A charge is idempotent by its key: the same key returns the same charge and never
makes a second one — that, with the key the service derives from the attempt number, is
what makes a retry after a crash safe (docs/payments.md).

One exception, forced by SQLite: it has a single writer, and a request's transaction holds
the write lock from its first write to its commit. A second transaction opened while the
caller holds it would wait for the caller, which waits for it. So when the calling service registers its
session (:func:`caller_session`, done by ``service.confirm`` / ``service.refund``) and that
session is inside a SQLite transaction, the sandbox writes in that transaction (each of its
writes is one statement — an insert-if-absent or a guarded update — so it needs no
savepoint: a statement that fails raises, and the caller rolls everything back). The charge
then commits or rolls back together with the attempt counter, which keeps "one charge per
attempt" true on SQLite as well. PostgreSQL always gets the separate transaction.

Test cards (any future expiry, any 3-digit CVC; 4 digits for American Express):

==========================  =================================================
``4242 4242 4242 4242``     succeeds
``4000 0000 0000 0002``     declined (``card_declined``)
``4000 0000 0000 9995``     declined (``insufficient_funds``)
``4000 0027 6000 3184``     requires action: approve or decline on ``/sandbox/actions/<token>``
any other Luhn-valid number succeeds
==========================  =================================================
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mercato.config import Settings
from mercato.kit.db import Database, utcnow
from mercato.payments import repository as repo
from mercato.payments import standard_webhooks
from mercato.payments.models import SandboxCharge
from mercato.payments.provider import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    CardInput,
    ChargeResult,
    RefundResult,
    WebhookEvent,
    WebhookMalformed,
    validate_card,
)

SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
REQUIRES_ACTION_CARD = "4000002760003184"

CHARGE_PREFIX = "sbx_ch_"
ACTION_PATH = "/sandbox/actions/"
WEBHOOK_PATH = "/api/v1/webhooks/sandbox"

MESSAGES = {
    "card_declined": "Your card was declined. Try another card.",
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
    "authentication_failed": "The payment was not approved. Try again or use another card.",
}

_caller: ContextVar[AsyncSession | None] = ContextVar("sandbox_caller_session", default=None)


@contextmanager
def caller_session(db: AsyncSession) -> Iterator[None]:
    """Tell the sandbox which session is calling it (see the module docstring for why)."""
    token = _caller.set(db)
    try:
        yield
    finally:
        _caller.reset(token)


def outcome_for(digits: str) -> str:
    """The sandbox's decision for a (valid) card number."""
    return {DECLINED_CARD: "declined", INSUFFICIENT_FUNDS_CARD: "insufficient_funds",
            REQUIRES_ACTION_CARD: "requires_action"}.get(digits, "succeeded")


def charge_ref(charge: SandboxCharge) -> str:
    return f"{CHARGE_PREFIX}{charge.id}"


def charge_id_of(provider_ref: str) -> int | None:
    tail = provider_ref.removeprefix(CHARGE_PREFIX)
    return int(tail) if provider_ref.startswith(CHARGE_PREFIX) and tail.isdigit() and tail.isascii() else None


def error_code_of(charge: SandboxCharge) -> str | None:
    if charge.status == "declined":
        return "authentication_failed" if charge.action_token else "card_declined"
    if charge.status == "insufficient_funds":
        return "insufficient_funds"
    return None


def result_of(charge: SandboxCharge, card: CardInput | None = None) -> ChargeResult:
    """The answer for a stored charge (also what a retry with the same key gets)."""
    code = error_code_of(charge)
    brand = card.brand if card is not None and card.last4 == charge.card_last4 else None
    common: dict[str, Any] = {"provider_ref": charge_ref(charge), "card_last4": charge.card_last4,
                              "card_brand": brand}
    if charge.status == "succeeded":
        return ChargeResult(status="succeeded", **common)
    if charge.status == "requires_action":
        return ChargeResult(status="requires_action",
                            next_action={"type": "redirect", "url": f"{ACTION_PATH}{charge.action_token}"}, **common)
    status: Any = "insufficient_funds" if code == "insufficient_funds" else "declined"
    return ChargeResult(status=status, error_code=code, error_message=MESSAGES.get(code or ""), **common)


class SandboxProvider:
    """The default provider. ``database`` gives it its own sessions; without one it borrows the
    engine of the caller's session, or opens a short-lived connection from the settings."""

    name = "sandbox"

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database

    @asynccontextmanager
    async def _own_transaction(self) -> AsyncIterator[AsyncSession]:
        caller = _caller.get()
        if caller is not None and caller.get_bind().dialect.name == "sqlite" and caller.in_transaction():
            yield caller  # single statements: no savepoint needed (see the module docstring)
            return
        if self.database is not None:
            async with self.database.unit_of_work() as session:
                yield session
            return
        if caller is not None and isinstance(caller.bind, AsyncEngine):
            async with AsyncSession(bind=caller.bind, expire_on_commit=False, autoflush=False) as session:
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
            return
        database = Database(self.settings.database_url, pool=False)
        try:
            async with database.unit_of_work() as session:
                yield session
        finally:
            await database.dispose()

    async def charge(self, *, idempotency_key: str, reference: str, amount: int, currency: str,
                     card: CardInput) -> ChargeResult:
        validate_card(card)
        currency = currency.upper()
        async with self._own_transaction() as session:
            # Insert-if-absent by key in one statement (INSERT … ON CONFLICT DO NOTHING RETURNING):
            # a key charged before (a retry) or concurrently (that charge wins) inserts nothing,
            # and the stored charge is read instead.
            status = outcome_for(card.digits)
            charge = await repo.insert_sandbox_charge(
                session, idempotency_key=idempotency_key, reference=reference, amount=amount, currency=currency,
                card_last4=card.last4, status=status,
                action_token=secrets.token_urlsafe(24) if status == "requires_action" else None)
            if charge is None:
                charge = await repo.sandbox_charge_by_key(session, idempotency_key)
                if charge is None:
                    raise RuntimeError("sandbox charge key conflicted but no charge was found")
            if (charge.amount, charge.currency, charge.reference) != (amount, currency, reference):
                return ChargeResult(status="error", error_code="idempotency_key_reused",
                                    error_message="This idempotency key was used for another charge.")
            return result_of(charge, card)

    async def refund(self, *, idempotency_key: str, provider_ref: str, amount: int, currency: str) -> RefundResult:
        charge_id = charge_id_of(provider_ref)
        if charge_id is None or amount <= 0:
            return RefundResult(status="failed", error_code="invalid_request",
                                error_message="Unknown charge or non-positive amount.")
        async with self._own_transaction() as session:
            if not await repo.add_sandbox_refund(session, charge_id, amount=amount, currency=currency.upper()):
                return RefundResult(status="failed", amount=0, error_code="amount_too_large",
                                    error_message="The refund exceeds what is left of the charge.")
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        return RefundResult(status="succeeded", provider_ref=f"sbx_re_{charge_id}_{digest}", amount=amount)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        msg_id = standard_webhooks.verify(self.settings.sandbox_webhook_secret, headers, body)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise WebhookMalformed("The webhook body is not JSON.") from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict) or not isinstance(payload.get("type"), str):
            raise WebhookMalformed("The webhook body needs 'type' and 'data'.")
        types = {"charge.succeeded": PAYMENT_SUCCEEDED, "charge.failed": PAYMENT_FAILED}
        ref = data.get("charge")
        return WebhookEvent(id=msg_id, type=types.get(payload["type"], payload["type"]),
                            provider_ref=ref if isinstance(ref, str) else None, data=data)


# --- the provider's own side: the action page and the outgoing webhooks ----------------------


async def resolve_action(db: AsyncSession, token: str, *, approve: bool, settings: Settings,
                         now: datetime | None = None) -> SandboxCharge | None:
    """Approve or decline a charge waiting for action; the outcome is announced by webhook
    ``sandbox_webhook_delay_seconds`` later. Answering twice changes nothing."""
    charge = await repo.sandbox_charge_by_token(db, token)
    if charge is None:
        return None
    due = (now or utcnow()) + timedelta(seconds=settings.sandbox_webhook_delay_seconds)
    if await repo.resolve_sandbox_action(db, charge.id, status="succeeded" if approve else "declined",
                                         webhook_due_at=due):
        await db.refresh(charge)
    return charge


def webhook_message(charge: SandboxCharge) -> tuple[str, bytes]:
    """(``webhook-id``, body) of the event announcing a charge's outcome. Both are stable across
    retries: the id names the charge and its outcome, the body carries no attempt time."""
    succeeded = charge.status == "succeeded"
    code = error_code_of(charge)
    payload = {
        "type": "charge.succeeded" if succeeded else "charge.failed",
        "timestamp": charge.created_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "charge": charge_ref(charge), "reference": charge.reference, "amount": charge.amount,
            "currency": charge.currency, "status": charge.status, "error_code": code,
            "error_message": MESSAGES.get(code or "") if code else None,
        },
    }
    return f"msg_sbx_{charge.id}_{charge.status}", orjson.dumps(payload)
