"""``Idempotency-Key`` claims (kit/idempotency.py) on the test database (SQLite or PostgreSQL):
the claim, the work and the stored answer commit together; a duplicate in flight is refused
at once in this process, and by every process on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from starlette.requests import Request

from mercato.kit import idempotency
from mercato.kit.db import Database
from mercato.kit.errors import Conflict

SCOPE = "user:1:test"


def _request(key: str, path: str = "/api/v1/things") -> Request:
    return Request({"type": "http", "method": "POST", "path": path, "root_path": "", "scheme": "http",
                    "query_string": b"", "server": ("test", 80), "headers": [(b"idempotency-key", key.encode())]})


async def _count(db: Database, sql: str, params: dict[str, Any]) -> int:
    async with db.unit_of_work(write=False) as session:
        return int((await session.execute(text(sql), params)).scalar_one())


async def _keys(db: Database, key: str) -> int:
    return await _count(db, "SELECT COUNT(*) FROM idempotency_keys WHERE scope = :s AND key = :k",
                        {"s": SCOPE, "k": key})


async def _events(db: Database, topic: str) -> int:
    return await _count(db, "SELECT COUNT(*) FROM outbox_events WHERE topic = :t", {"t": topic})


async def _work(session: Any, topic: str) -> None:
    await session.execute(text("INSERT INTO outbox_events (topic, aggregate, aggregate_id, payload, created_at) "
                               "VALUES (:t, 'x', '1', '{}', CURRENT_TIMESTAMP)"), {"t": topic})


def test_the_claim_the_work_and_the_answer_commit_together(clean_db: str) -> None:
    async def go() -> None:
        db = Database(clean_db)
        try:
            with pytest.raises(RuntimeError):
                async with db.unit_of_work() as session:
                    call = await idempotency.begin(session, _request("k1"), SCOPE, {"a": 1})
                    assert call.replay is None and call.row_id is not None
                    await _work(session, "t.crashed")
                    raise RuntimeError("the process dies before the commit")
            assert await _keys(db, "k1") == 0 and await _events(db, "t.crashed") == 0  # nothing left: a retry runs

            async with db.unit_of_work() as session:
                call = await idempotency.begin(session, _request("k1"), SCOPE, {"a": 1})
                await _work(session, "t.done")
                answer = await call.done(201, {"id": 7})
            assert answer.status_code == 201
            assert await _keys(db, "k1") == 1 and await _events(db, "t.done") == 1

            async with db.unit_of_work() as session:
                replay = (await idempotency.begin(session, _request("k1"), SCOPE, {"a": 1})).replay
                assert replay is not None
                assert (replay.status_code, replay.body, replay.headers["Idempotent-Replayed"]) == (201, b'{"id":7}',
                                                                                                  "true")
                with pytest.raises(Exception, match="different request"):
                    await idempotency.begin(session, _request("k1"), SCOPE, {"a": 2})
            assert await _events(db, "t.done") == 1
        finally:
            await db.dispose()

    asyncio.run(go())


def test_a_duplicate_while_the_first_runs_gets_409_at_once(clean_db: str) -> None:
    async def go() -> None:
        db = Database(clean_db)
        try:
            claimed, finish = asyncio.Event(), asyncio.Event()

            async def first() -> None:
                async with db.unit_of_work() as session:
                    call = await idempotency.begin(session, _request("k2"), SCOPE, {})
                    await _work(session, "t.first")
                    claimed.set()
                    await finish.wait()
                    await call.done(200, {"ok": True})

            async def duplicate() -> str:
                await claimed.wait()
                try:
                    async with db.unit_of_work() as session:
                        await asyncio.wait_for(idempotency.begin(session, _request("k2"), SCOPE, {}), timeout=2)
                except Conflict as exc:
                    return exc.code
                finally:
                    finish.set()
                return "no conflict"

            _, code = await asyncio.gather(first(), duplicate())
            assert code == "idempotency_in_progress"
            assert await _events(db, "t.first") == 1
            async with db.unit_of_work() as session:  # the flight ended with the first request
                replay = (await idempotency.begin(session, _request("k2"), SCOPE, {})).replay
                assert replay is not None and replay.body == b'{"ok":true}'
        finally:
            await db.dispose()

    asyncio.run(go())


def test_a_duplicate_from_another_process(clean_db: str) -> None:
    """Two Database objects stand for two processes (each has its own registry of keys in
    flight). PostgreSQL: the advisory lock refuses the duplicate at once. SQLite: the duplicate
    waits for the first's write lock, then finds the key done and replays its answer."""

    async def go() -> tuple[str, int]:
        one, two = Database(clean_db), Database(clean_db)
        try:
            claimed = asyncio.Event()

            async def first() -> None:
                async with one.unit_of_work() as session:
                    call = await idempotency.begin(session, _request("k3"), SCOPE, {})
                    await _work(session, "t.one")
                    claimed.set()
                    await asyncio.sleep(0.3)
                    await call.done(201, {"n": 1})

            async def duplicate() -> str:
                await claimed.wait()
                try:
                    async with two.unit_of_work() as session:
                        call = await idempotency.begin(session, _request("k3"), SCOPE, {})
                        if call.replay is None:
                            await _work(session, "t.two")
                            await call.done(201, {"n": 2})
                            return "ran twice"
                        return f"replayed {call.replay.body.decode()}"
                except Conflict as exc:
                    return exc.code

            _, outcome = await asyncio.wait_for(asyncio.gather(first(), duplicate()), timeout=20)
            return outcome, await _events(one, "t.one") + await _events(one, "t.two")
        finally:
            await one.dispose()
            await two.dispose()

    outcome, effects = asyncio.run(go())
    expected = "idempotency_in_progress" if clean_db.startswith("postgresql") else 'replayed {"n":1}'
    assert (outcome, effects) == (expected, 1)
