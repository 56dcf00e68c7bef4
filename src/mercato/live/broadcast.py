"""Room frames raised by use cases, sent once their unit of work has committed.

A service that changes what a room shows (a product pinned, a flash deal opened, a LIVE ended)
calls :func:`after_commit` with the frame: it is held on the session and handed to the installed
publisher (the room hub, which fans it out in this process and, with Redis, to the others) only
when the transaction commits. A rollback drops it, so no viewer ever sees a change that did not
happen. Frames follow the protocol in docs/live.md, "The room".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

Frame = dict[str, Any]
#: Takes a frame for a LIVE's room without blocking (the hub queues it); installed at app start.
Publisher = Callable[[int, Frame], None]

_PENDING = "mercato.live.frames"
log = logging.getLogger(__name__)
_publishers: list[Publisher] = []


def install(publisher: Publisher) -> None:
    """Make ``publisher`` the one that receives committed frames (replacing any before it)."""
    _publishers[:] = [publisher]


def uninstall(publisher: Publisher | None = None) -> None:
    """Remove ``publisher`` if it is the installed one (a hub that stops), or any (``None``)."""
    if publisher is None or publisher in _publishers:
        _publishers.clear()


def after_commit(session: AsyncSession, live_id: int, frame: Frame) -> None:
    """Send ``frame`` to the room of ``live_id`` once ``session``'s transaction commits."""
    session.sync_session.info.setdefault(_PENDING, []).append((live_id, frame))


@event.listens_for(Session, "after_commit")
def _flush(sync: Session) -> None:
    pending: list[tuple[int, Frame]] | None = sync.info.pop(_PENDING, None)
    if pending:
        for publisher in _publishers:
            for live_id, frame in pending:
                try:
                    publisher(live_id, frame)
                except Exception:  # the change is committed; a frame that cannot go out is only lost
                    log.exception("room frame for LIVE %s not sent", live_id)


@event.listens_for(Session, "after_soft_rollback")
def _drop(sync: Session, previous_transaction: Any) -> None:
    sync.info.pop(_PENDING, None)
