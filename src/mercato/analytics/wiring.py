"""Connects analytics to the domains it observes: installs the SQL sink behind
``kit/events.py`` and registers the capture handlers in the lower domains' hook registries
(``orders/hooks.py``, ``content/hooks.py``, the LIVE room's presence). ``app.create_app`` calls
:func:`install` (so does the demo seeding); installing twice changes nothing."""

from __future__ import annotations

from mercato.analytics.sink import SqlSink
from mercato.kit import events


def install() -> None:
    if not isinstance(events.sink(), SqlSink):
        events.install_sink(SqlSink())
