"""Analytics tests write through the SQL sink (``analytics/sink.py``) behind ``kit/events.py``,
installed fresh for the test and the app's own put back afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mercato.analytics.sink import SqlSink
from mercato.kit import events


@pytest.fixture
def sql_sink() -> Iterator[None]:
    before = events.sink()
    events.install_sink(SqlSink())
    yield
    if before is None:
        events.uninstall_sink()
    else:
        events.install_sink(before)
