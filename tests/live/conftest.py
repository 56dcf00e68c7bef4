"""LIVE tests: the app's room hub is the publisher of room frames and the source of presence;
eligible hosts (``make_host``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.live import audience, broadcast
from mercato.live.room import presence
from tests.harness import LiveServer


@pytest.fixture(autouse=True)
def hub_installed(live_server: LiveServer) -> Iterator[None]:
    """The app's hub is the publisher of live/broadcast.py and answers presence and viewer counts
    (another app started in this process, as the two-process tests do, installs its own hub) (a test of
    broadcast.py itself installs its own publisher and removes it)."""
    hub: Any = live_server.app.state.live_hub  # type: ignore[attr-defined]
    broadcast.install(hub.publish)
    presence.install(hub)
    audience.install(hub.viewers_now)
    yield


@pytest.fixture
def make_host(make_user: Callable[..., dict[str, Any]], db_run: Callable[..., Any],
              settings: Settings) -> Callable[..., dict[str, Any]]:
    """A new adult creator with the follower minimum (an eligible host)."""

    def create(name: str | None = None) -> dict[str, Any]:
        host = make_user(name)

        async def promote(db: AsyncSession) -> None:
            user = await db.get(User, host["user"]["id"])
            assert user is not None
            user.is_creator, user.followers_count = True, settings.live_host_min_followers

        db_run(promote)
        return host

    return create
