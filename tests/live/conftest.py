"""LIVE tests: the app's room hub is the publisher of room frames and the source of presence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mercato.live import broadcast
from mercato.live.room import presence
from tests.harness import LiveServer


@pytest.fixture(autouse=True)
def hub_installed(live_server: LiveServer) -> Iterator[None]:
    """The app's hub is the publisher of live/broadcast.py and answers presence (a test of
    broadcast.py itself installs its own publisher and removes it)."""
    hub: Any = live_server.app.state.live_hub  # type: ignore[attr-defined]
    broadcast.install(hub.publish)
    presence.install(hub)
    yield
