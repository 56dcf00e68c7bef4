"""INSERT / UPDATE text from the models' tables (kit/sql/statements.py), and that it runs on the test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.models import EmailMessage, IdempotencyKey, OutboxEvent
from mercato.kit.sql.statements import column_name, insert_sql, update_sql
from mercato.kit.sql.transaction import InTransaction

T = TypeVar("T")
Run = Callable[[Callable[[AsyncSession], Awaitable[T]]], T]


def test_insert_lists_the_given_columns_quoted_with_parameters_named_after_the_attributes() -> None:
    assert insert_sql(EmailMessage, ("to", "subject")) == \
        'INSERT INTO "email_messages" ("to", "subject") VALUES (:to, :subject)'


def test_insert_without_columns_takes_every_column_but_the_autoincrement_id() -> None:
    assert insert_sql(OutboxEvent) == (
        'INSERT INTO "outbox_events" ("topic", "aggregate", "aggregate_id", "payload", "created_at", "published_at") '
        "VALUES (:topic, :aggregate, :aggregate_id, :payload, :created_at, :published_at)")


def test_insert_on_conflict_do_nothing_or_update_and_returning() -> None:
    assert insert_sql(IdempotencyKey, ("scope", "key"), on_conflict=("scope", "key"), returning="id") == (
        'INSERT INTO "idempotency_keys" ("scope", "key") VALUES (:scope, :key) '
        'ON CONFLICT ("scope", "key") DO NOTHING RETURNING "id"')
    assert insert_sql(IdempotencyKey, ("scope", "key", "status"), on_conflict=("scope", "key"),
                      on_conflict_set={"status": 'excluded."status"'}, returning=("id", "status")) == (
        'INSERT INTO "idempotency_keys" ("scope", "key", "status") VALUES (:scope, :key, :status) '
        'ON CONFLICT ("scope", "key") DO UPDATE SET "status" = excluded."status" RETURNING "id", "status"')


def test_update_by_id_by_columns_or_by_a_guard() -> None:
    assert update_sql(OutboxEvent, ("topic", "published_at")) == \
        'UPDATE "outbox_events" SET "topic" = :topic, "published_at" = :published_at WHERE "id" = :id'
    assert update_sql(IdempotencyKey, ("status",), where=("scope", "key")) == \
        'UPDATE "idempotency_keys" SET "status" = :status WHERE "scope" = :scope AND "key" = :key'
    assert update_sql(IdempotencyKey, ("status",), where="id = :id AND status = :before", returning=("id",)) == \
        'UPDATE "idempotency_keys" SET "status" = :status WHERE id = :id AND status = :before RETURNING "id"'


def test_the_text_is_built_once_per_call_shape() -> None:
    first = insert_sql(EmailMessage, ("to", "body"), returning="id")
    assert insert_sql(EmailMessage, ("to", "body"), returning="id") is first
    assert update_sql(EmailMessage, ("body",)) is update_sql(EmailMessage, ("body",))


def test_a_typo_names_the_model_and_the_attribute() -> None:
    with pytest.raises(KeyError, match="EmailMessage has no column attribute 'too'"):
        insert_sql(EmailMessage, ("too",))
    with pytest.raises(KeyError, match="OutboxEvent has no column attribute 'nope'"):
        update_sql(OutboxEvent, ("nope",))
    with pytest.raises(ValueError, match="conflict target"):
        insert_sql(EmailMessage, ("to",), on_conflict_set={"to": "1"})
    assert column_name(EmailMessage, "to") == "to"


def test_built_statements_run_on_the_test_database(db_run: Run[Any]) -> None:
    now = datetime.now(UTC).replace(microsecond=5)
    claim = insert_sql(IdempotencyKey, ("scope", "key", "request_hash", "status", "locked_at", "created_at"),
                       on_conflict=("scope", "key"), returning="id")
    values = {"scope": "s", "key": "k", "request_hash": "h", "status": "in_progress", "locked_at": now,
              "created_at": now}

    async def write(db: AsyncSession) -> tuple[Any, Any, int]:
        raw = InTransaction.of(db)
        first = await raw.scalar(claim, values)
        again = await raw.scalar(claim, values)  # the same key: nothing inserted, no row returned
        done = await raw.execute(update_sql(IdempotencyKey, ("status", "response_status", "response_body")),
                                 {"status": "done", "response_status": 201, "response_body": {"a": [1]}, "id": first})
        return first, again, done

    first, again, done = db_run(write)
    assert isinstance(first, int)
    assert again is None
    assert done == 1

    async def read(db: AsyncSession) -> list[tuple[Any, ...]]:
        rows = (await db.execute(select(IdempotencyKey))).scalars()
        return [(r.id, r.scope, r.key, r.status, r.response_status, r.response_body, r.locked_at) for r in rows]

    assert db_run(read) == [(first, "s", "k", "done", 201, {"a": [1]}, now)]
