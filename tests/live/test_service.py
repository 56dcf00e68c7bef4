"""The LIVE service's core rules: who may host, stream keys, the publisher's life."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.live import service
from mercato.live.models import Live


def test_who_may_host(db_run: Callable[..., Any], make_user: Callable[..., dict[str, Any]],
                      make_shop: Callable[..., dict[str, Any]], settings: Settings) -> None:
    creator, minor, fresh = make_user(), make_user(dob="2012-01-01"), make_user()
    shop = make_shop()

    async def check(db: AsyncSession) -> list[bool]:
        users = [await db.get(User, who["user"]["id"]) for who in (creator, minor, fresh, shop["owner"])]
        for user in users[:2]:
            assert user is not None
            user.is_creator, user.followers_count = True, settings.live_host_min_followers
        return [await service.may_host(db, user, settings) for user in users if user is not None]

    # An adult creator with the follower minimum, not a minor, not a newcomer; a shop member may.
    assert db_run(check) == [True, False, False, True]


def test_stream_key_rotation_and_publisher_life(db_run: Callable[..., Any], make_user: Callable[..., dict[str, Any]],
                                                settings: Settings) -> None:
    host = make_user()

    async def flow(db: AsyncSession) -> None:
        user = await db.get(User, host["user"]["id"])
        assert user is not None
        first = await service.issue_stream_key(db, user)
        assert await service.authorize_publish(db, first) is None  # nothing to feed yet
        live = Live(host_id=user.id, title="Spring haul", status="scheduled")
        db.add(live)
        await db.flush()
        assert await service.authorize_publish(db, first) is live
        second = await service.issue_stream_key(db, user)
        assert second != first
        assert await service.authorize_publish(db, first) is None  # revoked at once
        assert await service.authorize_publish(db, second) is live
        assert await service.authorize_publish(db, "live_0_guess") is None

        await service.publisher_started(db, live)
        assert live.status == "live" and live.started_at is not None
        await service.publisher_left(db, live)
        assert live.publisher_left_at is not None
        now = datetime.now(UTC)
        assert not service.grace_over(live, settings, now)
        assert service.grace_over(live, settings, now + timedelta(seconds=settings.live_grace_seconds))
        await service.publisher_started(db, live)  # reconnect within the grace: same LIVE
        assert live.status == "live" and live.publisher_left_at is None
        await service.end_live(db, live, reason="publisher_gone")
        assert live.status == "ended" and live.ended_reason == "publisher_gone"
        assert await service.authorize_publish(db, second) is None  # an ended LIVE takes no publisher

    db_run(flow)
