"""Videos and the feed at the API's edge (issue 18): share links never built from the request's
``Host``, engagement numbers only as JSON integers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.feed.models import FeedEvent
from tests.content.conftest import DbRun

Factory = Callable[..., dict[str, Any]]


def _events(db_run: DbRun) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(FeedEvent))).scalar_one())

    result: int = db_run(count)
    return result


def test_a_share_link_comes_from_the_public_base_url_not_the_host_header(
        api: httpx.Client, make_user: Factory, post_video: Factory, settings: Settings) -> None:
    creator, fan = make_user(), make_user()
    video = post_video(creator)
    for headers in ({**fan["headers"], "Host": "evil.example"}, {"Host": "evil.example:8443"},
                    {"X-Forwarded-Host": "evil.example"}):
        response = api.post(f"/api/v1/videos/{video['id']}/shares", headers=headers, json={})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["url"] == f"{settings.public_base_url.rstrip('/')}/share/{body['token']}"


@pytest.mark.parametrize("watch_ms", [False, True, "1500", 1500.0])
def test_watch_ms_is_a_json_integer(api: httpx.Client, make_user: Factory, post_video: Factory, db_run: DbRun,
                                    watch_ms: Any) -> None:
    creator, viewer = make_user(), make_user()
    video = post_video(creator)
    before = _events(db_run)
    response = api.post("/api/v1/feed/events", headers=viewer["headers"],
                        json={"events": [{"video_id": video["id"], "kind": "watch", "watch_ms": watch_ms}]})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "events.0.watch_ms"
    assert _events(db_run) == before


@pytest.mark.parametrize("product_ids", [["1"], [2**63], [True]])
def test_anchored_product_ids_are_body_ids(api: httpx.Client, make_user: Factory, post_video: Factory,
                                           product_ids: list[Any]) -> None:
    creator = make_user()
    video = post_video(creator)
    response = api.patch(f"/api/v1/videos/{video['id']}", headers=creator["headers"],
                         json={"caption": "changed", "product_ids": product_ids})
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
    assert api.get(f"/api/v1/videos/{video['id']}", headers=creator["headers"]).json()["caption"] == video["caption"]
