"""Fan Club and community event tests: real HTTP, real WebSocket clients, the real hooks the app
registered at start (gifts, the room's chat and watch time, shares, paid orders)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.live.gifts import hooks as gift_hooks
from mercato.live.models import Live
from mercato.live.room import presence
from tests.content.conftest import clips, post_video, upload  # noqa: F401  (fixtures)
from tests.live.gifts.test_gifts_api import buy, gift_id, key
from tests.live.room.conftest import make_live  # noqa: F401  (fixture)
from tests.orders.conftest import buyer, stocked  # noqa: F401  (fixtures)

_gift_ids = iter(range(1, 10**9))


@pytest.fixture
def admin(make_user: Callable[..., dict[str, Any]], db_run: Any) -> dict[str, Any]:
    user = make_user()

    async def promote(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == user["user"]["id"]).values(is_admin=True))

    db_run(promote)
    return user


@pytest.fixture
def started_live(db_run: Any) -> Callable[..., int]:
    """A LIVE of ``host`` on air since ``started_at`` (now by default)."""
    def create(host: dict[str, Any], started_at: datetime | None = None, status: str = "live") -> int:
        async def go(session: AsyncSession) -> int:
            live = Live(host_id=host["user"]["id"], title="Fan test", status=status,
                        started_at=started_at or datetime.now(UTC))
            session.add(live)
            await session.flush()
            return int(live.id)
        return int(db_run(go))
    return create


def gift(db_run: Any, *, sender: dict[str, Any], host: dict[str, Any], live_id: int, coins: int,
         joins: bool = False, tx_id: int | None = None) -> gift_hooks.GiftSent:
    """Tell the gift listeners of a gift, as the gifts domain does in the unit of work of a send."""
    sent = gift_hooks.GiftSent(gift_tx_id=tx_id or next(_gift_ids), sender_id=sender["user"]["id"],
                               host_id=host["user"]["id"], live_id=live_id, gift_id=1,
                               gift_name="Fan Club heart" if joins else "Rose", coins=coins, value=coins,
                               currency="USD", joins_fan_club=joins, at=datetime.now(UTC))

    async def go(session: AsyncSession) -> None:
        await gift_hooks.gift_sent(session, sent)

    db_run(go)
    return sent


def watch(db_run: Any, live_id: int, user: dict[str, Any], seconds: int) -> None:
    """Hand watch time to the app's registered recorders, as the room's hub does every minute."""
    async def go(session: AsyncSession) -> None:
        for recorder in presence.watch_recorders():
            await recorder(session, live_id, user["user"]["id"], seconds)

    db_run(go)


def send_gift(api: httpx.Client, sender: dict[str, Any], live_id: int, name: str, quantity: int = 1,
              headers: dict[str, str] | None = None) -> httpx.Response:
    """Send a gift through the gifts API (the sender has coins: see :func:`buy_coins`)."""
    return api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": gift_id(api, name), "quantity": quantity},
                    headers={**sender["headers"], **(headers or key())})


def buy_coins(api: httpx.Client, user: dict[str, Any], pack: str = "coins_65") -> None:
    buy(api, user, pack)
