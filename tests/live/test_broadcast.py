"""Room frames raised in a unit of work reach the room only if it commits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
