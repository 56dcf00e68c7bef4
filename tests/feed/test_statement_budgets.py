"""Statement budget of a signed-in For You page (tests/budgets.py).

Measured as production serves it once warm: the in-process index loaded and not due for a
refresh (its background refreshes are switched off for the measurement), the viewer's candidate
list built afresh (no per-viewer cache hit: the costlier case), the bodies built afresh
(``feed_body_cache_seconds`` 0: whether a warm-up page left them cached depends on which videos
it showed), the page's impressions written in the request (``feed_served_flush_seconds`` 0;
production's batch writer makes them one transaction every 0.1 s for every page served
meanwhile, outside the request). A page sampled for the learned ranker's training log
(``feed_training_log_share``) writes its items in one more statement of the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mercato.config import Settings
from mercato.feed.engine import index_for
from mercato.feed.service import read_sessions
from tests.budgets import assert_budget, measure
from tests.conftest import on_live_server

FEED = "/api/v1/feed/foryou"
#: database → (statements, transactions) of one signed-in page.
FOR_YOU = {"sqlite": (7, 1), "postgresql": (7, 1)}
#: the same page when it is logged for the learned ranker: one executemany of feed_impressions more.
FOR_YOU_LOGGED = {"sqlite": (8, 1), "postgresql": (8, 1)}


def test_a_signed_in_for_you_page_keeps_its_statement_budget(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int], settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    makers = [make_user()["user"]["id"] for _ in range(4)]
    for i in range(30):
        make_video(makers[i % 4], ("cats",) if i % 2 else ("dogs",), trending=float(i))
    first, viewer = make_user(), make_user()
    # Pages written in their request from the start (no batch of the warm-up pages may land
    # during the measurement), bodies built on every page, and no background refresh of the
    # index or of the neighbour table once the warm-up pages have loaded them.
    monkeypatch.setattr(settings, "feed_body_cache_seconds", 0.0)
    monkeypatch.setattr(settings, "feed_served_flush_seconds", 0.0)
    monkeypatch.setattr(settings, "feed_index_refresh_seconds", 3600.0)
    monkeypatch.setattr(settings, "feed_neighbours_refresh_seconds", 3600.0)
    monkeypatch.setattr(settings, "feed_training_log_share", 0.0)
    on_live_server(_rebuild_neighbours)  # done now, so that no background rebuild runs while measuring
    assert api.get(FEED, headers=first["headers"]).status_code == 200  # loads the index, warms the caches
    assert api.get(FEED, headers=first["headers"]).status_code == 200
    page, seen = measure(lambda: api.get(FEED, headers=viewer["headers"]))
    assert page.status_code == 200, page.text
    assert len(page.json()["items"]) == 10
    assert_budget("GET /api/v1/feed/foryou (signed in)", seen, FOR_YOU)
    monkeypatch.setattr(settings, "feed_training_log_share", 1.0)
    logged = make_user()
    page, seen = measure(lambda: api.get(FEED, headers=logged["headers"]))
    assert page.status_code == 200, page.text
    assert_budget("GET /api/v1/feed/foryou (signed in, logged for training)", seen, FOR_YOU_LOGGED)


async def _rebuild_neighbours(app: Any) -> None:
    """The server's collaborative neighbour table rebuilt now (what its background rebuild does)."""
    settings = app.state.settings
    await index_for(settings.database_url).rebuild_neighbours(read_sessions(app.state.db), settings)
