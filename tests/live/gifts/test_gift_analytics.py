"""Gifts reach analytics through ``live/gifts/hooks.py``: one ``gift`` event per gift sent, with its
money value and coins, credited to the host's LIVE, with the sender's age band (from the birth date
the gift carries); a retried send (same Idempotency-Key) counts once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.analytics.models import AnalyticsEvent
from mercato.kit.events import age_band
from mercato.live.gifts.models import GiftSend
from tests.live.gifts.test_gifts_api import buy, gift_id


def test_a_gift_is_one_event_with_its_value(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                           make_host: Callable[..., dict[str, Any]], make_live: Callable[..., int],
                                           db_run: Callable[..., Any]) -> None:
    host = make_host()
    live_id = make_live(host)
    viewer = make_user()
    buy(api, viewer)
    headers = {**viewer["headers"], "Idempotency-Key": str(uuid.uuid4())}
    body = {"gift_id": gift_id(api, "Heart"), "quantity": 2}
    first = api.post(f"/api/v1/lives/{live_id}/gifts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = api.post(f"/api/v1/lives/{live_id}/gifts", json=body, headers=headers)
    assert replay.status_code == 201 and replay.json() == first.json()

    async def read(db: AsyncSession) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], Any]:
        events = (await db.execute(select(AnalyticsEvent.event_id, AnalyticsEvent.live_id, AnalyticsEvent.creator_id,
                                          AnalyticsEvent.value, AnalyticsEvent.currency, AnalyticsEvent.quantity,
                                          AnalyticsEvent.source, AnalyticsEvent.age_band)
                                   .where(AnalyticsEvent.kind == "gift"))).all()
        sends = (await db.execute(select(GiftSend.id, GiftSend.value).where(GiftSend.live_id == live_id))).all()
        born = await db.scalar(select(User.date_of_birth).where(User.id == viewer["user"]["id"]))
        return [tuple(e) for e in events], [tuple(s) for s in sends], born

    events, sends, born = db_run(read)
    assert len(sends) == 1
    send_id, value = sends[0]
    band = age_band(born, datetime.now(UTC).date())
    assert events == [(f"gift:{send_id}", live_id, host["user"]["id"], value, "USD", 10, "live", band)]
