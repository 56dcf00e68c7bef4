"""Plain statements in a unit of work (kit/sql/transaction.py:InTransaction), on the test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.kit.models import OutboxEvent
from mercato.kit.sql.transaction import InTransaction

T = TypeVar("T")
Run = Callable[[Callable[[AsyncSession], Awaitable[T]]], T]

USER_SQL = f"SELECT {InTransaction.columns(User, 'u')} FROM users u WHERE u.id IN :ids ORDER BY u.id"


async def _add_users(db: AsyncSession) -> list[int]:
    users = [User(email=f"raw{i}@example.com", password_hash="x", display_name=f"InTransaction “{i}”",
                  date_of_birth=date(1990, 1, 2 + i), is_admin=i == 0, niche_tags=["beauty", f"t{i}"], bio="")
             for i in range(2)]
    db.add_all(users)
    await db.flush()
    return [user.id for user in users]


def test_statements_run_in_the_session_transaction_and_roll_back_with_it(db_run: Run[Any]) -> None:
    now = datetime.now(UTC).replace(microsecond=123456)

    async def write_then_fail(db: AsyncSession) -> None:
        await InTransaction.of(db).execute(
            "INSERT INTO outbox_events (topic, aggregate, aggregate_id, payload, created_at) "
            "VALUES ('t.lost', 'x', '1', :payload, :now)", {"payload": {"a": 1}, "now": now})
        assert await InTransaction.of(db).scalar("SELECT COUNT(*) FROM outbox_events") == 1  # same transaction
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        db_run(write_then_fail)

    async def write(db: AsyncSession) -> int:
        raw = InTransaction.of(db)
        assert raw is InTransaction.of(db)  # one per session
        await raw.executemany("INSERT INTO outbox_events (topic, aggregate, aggregate_id, payload, created_at) "
                              "VALUES (:topic, 'order', :id, :payload, :now)",
                              [{"topic": f"t.{i}", "id": str(i), "payload": {"n": i, "tags": ["é", i]}, "now": now}
                               for i in range(3)])
        return await raw.execute("UPDATE outbox_events SET topic = 'changed' WHERE aggregate_id IN :ids",
                                 {"ids": ["0", "2"]})

    assert db_run(write) == 2

    async def read(db: AsyncSession) -> list[tuple[str, dict[str, Any], datetime]]:
        rows = (await db.execute(select(OutboxEvent).order_by(OutboxEvent.id))).scalars()
        return [(row.topic, row.payload, row.created_at) for row in rows]

    # What plain statements wrote reads back through the ORM exactly (JSON, UTC datetimes).
    assert db_run(read) == [("changed", {"n": 0, "tags": ["é", 0]}, now), ("t.1", {"n": 1, "tags": ["é", 1]}, now),
                            ("changed", {"n": 2, "tags": ["é", 2]}, now)]


def test_loaded_objects_equal_what_the_orm_loads_and_are_persistent(db_run: Run[Any]) -> None:
    ids = db_run(_add_users)
    columns = [c.key for c in inspect(User).column_attrs]

    async def by_orm(db: AsyncSession) -> list[dict[str, Any]]:
        users = (await db.execute(select(User).where(User.id.in_(ids)).order_by(User.id))).scalars()
        return [{key: getattr(user, key) for key in columns} for user in users]

    async def by_raw(db: AsyncSession) -> list[dict[str, Any]]:
        users = await InTransaction.of(db).load_all(User, USER_SQL, {"ids": ids})
        assert all(inspect(user).persistent for user in users)
        held = await InTransaction.of(db).load_one(User, USER_SQL, {"ids": ids[:1]})
        assert held is users[0]  # held: the same object
        loaded = [{key: getattr(user, key) for key in columns} for user in users]
        users[1].bio = "changed through the ORM"  # flushed at commit like any loaded object
        return loaded

    expected = db_run(by_orm)
    assert db_run(by_raw) == expected
    assert expected[0]["niche_tags"] == ["beauty", "t0"] and expected[0]["is_admin"] is True
    assert isinstance(expected[0]["created_at"], datetime) and expected[0]["created_at"].tzinfo is not None
    assert db_run(by_orm)[1]["bio"] == "changed through the ORM"
    assert db_run(lambda db: InTransaction.of(db).load_one(User, USER_SQL, {"ids": [0]})) is None


def test_loading_for_reading_only_leaves_the_session_alone(db_run: Run[Any]) -> None:
    """``attach=False``: the same values, as detached snapshots outside the session (changes to
    them are never saved); a row the session holds is still returned as held."""
    ids = db_run(_add_users)
    columns = [c.key for c in inspect(User).column_attrs]
    expected = db_run(lambda db: InTransaction.of(db).load_all(User, USER_SQL, {"ids": ids}))

    async def go(db: AsyncSession) -> list[dict[str, Any]]:
        held = await db.get(User, ids[0])
        users = await InTransaction.of(db).load_all(User, USER_SQL, {"ids": ids}, attach=False)
        assert users[0] is held and users[1] not in db
        assert not inspect(users[1]).persistent
        users[1].bio = "never saved"
        return [{key: getattr(user, key) for key in columns} for user in users]

    loaded = db_run(go)
    assert loaded[0] == {key: getattr(expected[0], key) for key in columns}
    assert loaded[1]["id"] == ids[1] and loaded[1]["display_name"] == expected[1].display_name
    assert db_run(lambda db: InTransaction.of(db).scalar("SELECT bio FROM users WHERE id = :id", {"id": ids[1]})) == ""


def test_sync_tells_a_loaded_object_what_a_statement_changed(db_run: Run[Any]) -> None:
    ids = db_run(_add_users)
    later = datetime.now(UTC) + timedelta(days=1)

    async def go(db: AsyncSession) -> tuple[int, int, bool]:
        user = await db.get(User, ids[0])
        assert user is not None
        raw = InTransaction.of(db)
        await raw.execute("UPDATE users SET followers_count = followers_count + 5, updated_at = :at WHERE id = :id",
                          {"at": later, "id": ids[0]})
        stale = user.followers_count
        raw.sync(User, ids[0], followers_count=stale + 5, updated_at=later)
        raw.sync(User, ids[1], followers_count=99)  # not loaded: nothing to tell
        return stale, user.followers_count, bool(inspect(user).modified)

    assert db_run(go) == (0, 5, False)  # set as committed state: nothing left to flush


def test_a_snapshot_reads_like_a_new_object_and_belongs_to_no_session() -> None:
    from mercato.kit.sql.transaction import snapshot
    from mercato.orders.models import Order

    order = snapshot(Order, {"id": 7, "total": 1500, "address": {"city": "Paris"}})
    assert (order.id, order.total, order.address, order.carrier, order.paid_at) == (7, 1500, {"city": "Paris"},
                                                                                    None, None)
    state = inspect(order)
    assert state.transient and state.session is None


def test_a_statement_first_flushes_objects_added_changed_or_deleted_through_the_orm(db_run: Run[Any]) -> None:
    now = datetime.now(UTC)

    async def go(db: AsyncSession) -> list[Any]:
        raw = InTransaction.of(db)
        event = OutboxEvent(topic="t.added", aggregate="x", aggregate_id="1", payload={}, created_at=now)
        db.add(event)  # not flushed by hand
        seen = [await raw.scalar("SELECT topic FROM outbox_events WHERE aggregate_id = '1'")]
        event.topic = "t.changed"
        seen.append(await raw.scalar("SELECT topic FROM outbox_events WHERE aggregate_id = '1'"))
        await db.delete(event)
        seen.append(await raw.scalar("SELECT COUNT(*) FROM outbox_events"))
        db.add(OutboxEvent(topic="t.many", aggregate="x", aggregate_id="2", payload={}, created_at=now))
        await raw.executemany("UPDATE outbox_events SET topic = :topic WHERE aggregate_id = :id",
                              [{"topic": "t.updated", "id": "2"}])
        seen.append(await raw.scalar("SELECT topic FROM outbox_events"))
        return seen

    assert db_run(go) == ["t.added", "t.changed", 0, "t.updated"]
