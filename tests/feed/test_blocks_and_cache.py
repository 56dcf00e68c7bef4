"""A block (and an unblock) reaches both people's cached For You candidate lists at once.

The per-viewer candidate lists are kept for a minute here (instead of the default few seconds, so
that none expires mid-test): a cached list built before the block must not serve the blocked
creator's videos on the next page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mercato.config import Settings

FEED = "/api/v1/feed/foryou"


@pytest.fixture
def cached(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The live server's settings with per-viewer candidate lists kept for a minute."""
    monkeypatch.setattr(settings, "feed_candidates_ttl_seconds", 60.0)
    return settings


def page(api: httpx.Client, user: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    response = api.get(FEED, headers=user["headers"], params={"cursor": cursor} if cursor else {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def creators(body: dict[str, Any]) -> list[int]:
    return [item["video"]["creator"]["id"] for item in body["items"]]


def test_a_block_and_an_unblock_reach_both_cached_candidate_lists_at_once(
    cached: Settings, api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
) -> None:
    alice, bob, carol = make_user(), make_user(), make_user()
    # Bob and Alice post the most trending videos, Carol fills the gaps (never two in a row from
    # one creator): each viewer's first page holds the other's videos, and more are left.
    for i in range(20):
        make_video(bob["user"]["id"], ("cats",), trending=500.0 + i)
        make_video(alice["user"]["id"], ("cats",), trending=400.0 + i)
        make_video(carol["user"]["id"], ("cats",), trending=1.0 + i)
    first_a = page(api, alice)
    first_b = page(api, bob)
    assert bob["user"]["id"] in creators(first_a)
    assert alice["user"]["id"] in creators(first_b)
    # The cache is on: a list is reused (a newcomer is not in the next page) …
    newcomer = make_user()
    star = make_video(newcomer["user"]["id"], ("cats",), trending=10_000.0)
    second_a = page(api, alice, first_a["next_cursor"])
    assert star not in [item["video"]["id"] for item in second_a["items"]]
    assert bob["user"]["id"] in creators(second_a)

    # … yet Alice's block hides Bob from her very next page, and her from his.
    response = api.put(f"/api/v1/users/{bob['user']['id']}/block", headers=alice["headers"])
    assert response.status_code == 200 and response.json()["blocked"] is True
    third_a = page(api, alice, second_a["next_cursor"])
    assert third_a["items"] and bob["user"]["id"] not in creators(third_a)
    second_b = page(api, bob, first_b["next_cursor"])
    assert second_b["items"] and alice["user"]["id"] not in creators(second_b)

    # Unblocking brings them back on the very next page, both ways.
    response = api.delete(f"/api/v1/users/{bob['user']['id']}/block", headers=alice["headers"])
    assert response.status_code == 200 and response.json()["blocked"] is False
    fourth_a = page(api, alice, third_a["next_cursor"])
    assert bob["user"]["id"] in creators(fourth_a)
    third_b = page(api, bob, second_b["next_cursor"])
    assert alice["user"]["id"] in creators(third_b)


def test_a_block_through_the_profile_page_also_reaches_the_cache(
    cached: Settings, api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
) -> None:
    alice, bob, carol = make_user(), make_user(), make_user()
    for i in range(20):
        make_video(bob["user"]["id"], ("cats",), trending=500.0 + i)
        make_video(carol["user"]["id"], ("cats",), trending=1.0 + i)
    first = page(api, alice)
    assert bob["user"]["id"] in creators(first)
    response = api.post(f"/u/{bob['user']['id']}/block", headers=alice["headers"], data={"action": "block"},
                        follow_redirects=False)
    assert response.status_code == 303, response.text
    second = page(api, alice, first["next_cursor"])
    assert second["items"] and bob["user"]["id"] not in creators(second)
