"""Room frames raised in a unit of work reach the room only if it commits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from mercato.kit.db import Database
from mercato.live import broadcast
from tests.conftest import run_async


@pytest.fixture
def sent() -> Iterator[list[tuple[int, dict[str, Any]]]]:
    received: list[tuple[int, dict[str, Any]]] = []
    broadcast.install(lambda live_id, frame: received.append((live_id, frame)))
    yield received
    broadcast.uninstall()


def test_frames_follow_the_commit(clean_db: str, sent: list[tuple[int, dict[str, Any]]]) -> None:
    async def go() -> None:
        db = Database(clean_db, pool=False)
        try:
            async with db.unit_of_work() as session:
                broadcast.after_commit(session, 7, {"type": "pinned", "product": None})
                broadcast.after_commit(session, 7, {"type": "ended"})
                assert sent == []  # nothing before the commit
            assert sent == [(7, {"type": "pinned", "product": None}), (7, {"type": "ended"})]

            sent.clear()
            with pytest.raises(RuntimeError):
                async with db.unit_of_work() as session:
                    broadcast.after_commit(session, 8, {"type": "ended"})
                    raise RuntimeError("the use case failed")
            async with db.unit_of_work() as session:  # a later commit does not resurrect it
                broadcast.after_commit(session, 9, {"type": "ended"})
            assert sent == [(9, {"type": "ended"})]
        finally:
            await db.dispose()

    run_async(go())


def test_a_publisher_that_fails_loses_its_frame_not_the_commit(clean_db: str) -> None:
    """A frame that cannot go out (a stopped hub's closed loop) is logged and lost; the unit of work
    that raised it still commits and the session stays usable."""

    def broken(live_id: int, frame: dict[str, Any]) -> None:
        raise RuntimeError("Event loop is closed")

    broadcast.install(broken)

    async def go() -> int:
        db = Database(clean_db, pool=False)
        try:
            async with db.unit_of_work() as session:
                await session.execute(text("CREATE TABLE IF NOT EXISTS broadcast_probe (id INTEGER PRIMARY KEY)"))
                await session.execute(text("INSERT INTO broadcast_probe (id) VALUES (1)"))
                broadcast.after_commit(session, 7, {"type": "ended"})
            async with db.unit_of_work() as session:
                count = int((await session.execute(text("SELECT COUNT(*) FROM broadcast_probe"))).scalar_one())
                await session.execute(text("DROP TABLE broadcast_probe"))
                return count
        finally:
            await db.dispose()

    try:
        assert run_async(go()) == 1
    finally:
        broadcast.uninstall()
    broadcast.uninstall(broken)  # removing a publisher that is not installed changes nothing
