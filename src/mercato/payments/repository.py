"""Every query of the payments domain: intents, their event log, the inbox, sandbox charges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.db import utcnow
from mercato.kit.models import InboxEvent
from mercato.kit.sql.statements import insert_sql, update_sql
from mercato.kit.sql.transaction import InTransaction, snapshot
from mercato.payments.models import PaymentEvent, PaymentIntent, SandboxCharge


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


# --- intents ---------------------------------------------------------------------------------


async def get_intent(db: AsyncSession, intent_id: int) -> PaymentIntent | None:
    return await db.get(PaymentIntent, intent_id)


async def intent_by_provider_ref(db: AsyncSession, provider: str, provider_ref: str) -> PaymentIntent | None:
    stmt = select(PaymentIntent).where(PaymentIntent.provider == provider, PaymentIntent.provider_ref == provider_ref)
    return (await db.execute(stmt)).scalar_one_or_none()


_INTENTS_OF_CHECKOUT_SQL = (f"SELECT {InTransaction.columns(PaymentIntent, 'i')} FROM payment_intents i "  # noqa: S608
                            "WHERE i.checkout_id = :id ORDER BY i.id")


async def intents_of_checkout(db: AsyncSession, checkout_id: int) -> list[PaymentIntent]:
    """The checkout's intents in id order, loaded into ``db`` by one plain statement."""
    return await InTransaction.of(db).load_all(PaymentIntent, _INTENTS_OF_CHECKOUT_SQL, {"id": checkout_id})


_CLAIM_ATTEMPT_SQL = update_sql(PaymentIntent, ("attempts", "status", "updated_at"),
                                where="id = :id AND attempts = :attempts_before AND status IN :statuses")


async def claim_attempt(db: AsyncSession, intent_id: int, *, attempts: int, from_statuses: tuple[str, ...],
                        now: datetime | None = None) -> bool:
    """Start attempt ``attempts + 1`` unless another request got there first (guarded update)."""
    return await InTransaction.of(db).execute(_CLAIM_ATTEMPT_SQL, {
        "attempts": attempts + 1, "status": "processing", "updated_at": now or utcnow(), "id": intent_id,
        "attempts_before": attempts, "statuses": list(from_statuses)}) == 1


async def move_status(db: AsyncSession, intent_id: int, *, from_statuses: tuple[str, ...], to: str,
                      **values: Any) -> bool:
    """Change the status only from one of ``from_statuses``: two deliveries can never both win."""
    result = await db.execute(
        update(PaymentIntent)
        .where(PaymentIntent.id == intent_id, PaymentIntent.status.in_(from_statuses))
        .values(status=to, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def add_refunded(db: AsyncSession, intent_id: int, amount: int) -> bool:
    """``refunded += amount`` unless that would exceed the amount paid."""
    result = await db.execute(
        update(PaymentIntent)
        .where(PaymentIntent.id == intent_id, PaymentIntent.status == "succeeded",
               PaymentIntent.refunded + amount <= PaymentIntent.amount)
        .values(refunded=PaymentIntent.refunded + amount, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


# --- event log -------------------------------------------------------------------------------


_ADD_EVENT_SQL = insert_sql(PaymentEvent, ("intent_id", "type", "data", "created_at"))


async def add_event(db: AsyncSession, intent_id: int, type_: str, data: dict[str, Any]) -> None:
    """Append to the intent's event log (one plain ``INSERT``, in the caller's transaction)."""
    await InTransaction.of(db).execute(_ADD_EVENT_SQL, {"intent_id": intent_id, "type": type_, "data": data,
                                                        "created_at": utcnow()})


async def events_of(db: AsyncSession, intent_id: int, types: tuple[str, ...] | None = None) -> list[PaymentEvent]:
    stmt = select(PaymentEvent).where(PaymentEvent.intent_id == intent_id).order_by(PaymentEvent.id)
    if types:
        stmt = stmt.where(PaymentEvent.type.in_(types))
    return list((await db.execute(stmt)).scalars())


# --- inbox -----------------------------------------------------------------------------------


async def insert_inbox_event(db: AsyncSession, *, source: str, external_id: str, type_: str,
                             payload: dict[str, Any]) -> int | None:
    """Insert-if-absent by (source, external id); the new row's id, or ``None`` for a duplicate.

    ``ON CONFLICT DO NOTHING`` also settles two concurrent deliveries: the second waits for
    the first transaction and then inserts nothing.
    """
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(InboxEvent)
        .values(source=source, external_id=external_id, type=type_, payload=payload, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(InboxEvent.id)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def mark_inbox_processed(db: AsyncSession, inbox_id: int) -> None:
    await db.execute(update(InboxEvent).where(InboxEvent.id == inbox_id).values(processed_at=utcnow()))


# --- sandbox provider state ------------------------------------------------------------------


_SANDBOX_CHARGE_SQL = insert_sql(SandboxCharge, ("idempotency_key", "reference", "amount", "currency", "card_last4",
                                                  "status", "action_token", "refunded", "created_at"),
                                  on_conflict=("idempotency_key",), returning="id")


async def insert_sandbox_charge(db: AsyncSession, *, idempotency_key: str, reference: str, amount: int, currency: str,
                                card_last4: str, status: str, action_token: str | None) -> SandboxCharge | None:
    """Insert-if-absent by key (one plain statement); the new charge (detached, with the values
    written), or ``None`` when the key was charged already."""
    now = utcnow()
    values: dict[str, Any] = dict(idempotency_key=idempotency_key, reference=reference, amount=amount,
                                  currency=currency, card_last4=card_last4, status=status, action_token=action_token,
                                  refunded=0, created_at=now)
    charge_id = await InTransaction.of(db).scalar(_SANDBOX_CHARGE_SQL, values)
    if charge_id is None:
        return None
    return snapshot(SandboxCharge, dict(id=int(charge_id), **values))


async def sandbox_charge_by_key(db: AsyncSession, idempotency_key: str) -> SandboxCharge | None:
    stmt = select(SandboxCharge).where(SandboxCharge.idempotency_key == idempotency_key)
    return (await db.execute(stmt)).scalar_one_or_none()


async def sandbox_charge_by_token(db: AsyncSession, token: str) -> SandboxCharge | None:
    stmt = select(SandboxCharge).where(SandboxCharge.action_token == token)
    return (await db.execute(stmt)).scalar_one_or_none()


async def resolve_sandbox_action(db: AsyncSession, charge_id: int, *, status: str, webhook_due_at: datetime) -> bool:
    result = await db.execute(
        update(SandboxCharge)
        .where(SandboxCharge.id == charge_id, SandboxCharge.status == "requires_action")
        .values(status=status, webhook_due_at=webhook_due_at)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def add_sandbox_refund(db: AsyncSession, charge_id: int, *, amount: int, currency: str) -> bool:
    result = await db.execute(
        update(SandboxCharge)
        .where(SandboxCharge.id == charge_id, SandboxCharge.status == "succeeded",
               SandboxCharge.currency == currency, SandboxCharge.refunded + amount <= SandboxCharge.amount)
        .values(refunded=SandboxCharge.refunded + amount)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def due_sandbox_webhooks(db: AsyncSession, now: datetime, limit: int = 20) -> list[SandboxCharge]:
    stmt = (
        select(SandboxCharge)
        .where(SandboxCharge.webhook_sent_at.is_(None), SandboxCharge.webhook_due_at.is_not(None),
               SandboxCharge.webhook_due_at <= now)
        .order_by(SandboxCharge.webhook_due_at, SandboxCharge.id)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def lease_sandbox_webhook(db: AsyncSession, charge: SandboxCharge, next_try: datetime | None) -> bool:
    """Push the next try forward before sending, guarded by the due time we read: two runners
    never send the same attempt, and a crash mid-send is retried at ``next_try``."""
    result = await db.execute(
        update(SandboxCharge)
        .where(SandboxCharge.id == charge.id, SandboxCharge.webhook_sent_at.is_(None),
               SandboxCharge.webhook_due_at == charge.webhook_due_at)
        .values(webhook_due_at=next_try)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def mark_sandbox_webhook_sent(db: AsyncSession, charge_id: int, when: datetime) -> None:
    await db.execute(
        update(SandboxCharge).where(SandboxCharge.id == charge_id, SandboxCharge.webhook_sent_at.is_(None))
        .values(webhook_sent_at=when)
        .execution_options(synchronize_session=False)
    )


# --- plain statements of the buying loop (one each per checkout / payment attempt) ----------


_CREATE_INTENT_SQL = insert_sql(PaymentIntent, ("checkout_id", "buyer_id", "currency", "amount", "status", "provider",
                                                 "attempts", "refunded", "created_at", "updated_at"), returning="id")


async def insert_intent(db: AsyncSession, values: dict[str, Any]) -> int:
    """Insert a new intent in the unit of work's transaction; its id."""
    return int(await InTransaction.of(db).scalar(_CREATE_INTENT_SQL, values))


async def update_intent_columns(db: AsyncSession, intent_id: int, values: dict[str, Any]) -> None:
    """One UPDATE of the given columns (names come from the service, never from input)."""
    await InTransaction.of(db).execute(update_sql(PaymentIntent, tuple(values)), {**values, "id": intent_id})
