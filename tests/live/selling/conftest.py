"""Set-up for selling in the LIVE room: a shop's LIVE on air with a stocked product, deals
announced over the API, and the frames the room would be sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.live import broadcast
from mercato.live.models import Live
from mercato.live.selling.models import FlashDeal
from mercato.orders.models import Order
from tests.orders.conftest import admin, buyer, stocked

__all__ = ["admin", "buyer", "stocked"]  # the buying loop's fixtures, used here too


def add_live(db_run: Any, host_id: int, shop_id: int | None, status: str = "live") -> int:
    """A LIVE row (going on air is the ingest's and core's business, not under test here)."""

    async def write(session: AsyncSession) -> int:
        live = Live(host_id=host_id, shop_id=shop_id, title="Friday drop", status=status,
                    started_at=datetime.now(UTC) if status == "live" else None)
        session.add(live)
        await session.flush()
        return live.id

    result: int = db_run(write)
    return result


@pytest.fixture
def live_shop(stocked: Callable[..., dict[str, Any]], db_run: Any) -> Callable[..., dict[str, Any]]:
    """``live_shop(price=…, stock=…)``: a shop with one product and its owner's LIVE on air;
    returns {"shop", "host", "product", "variant_id", "live_id"}."""

    def create(price: int = 2500, stock: int = 50, status: str = "live") -> dict[str, Any]:
        item = stocked(price=price, stock=stock, title="Glow Serum")
        host = item["shop"]["owner"]
        item["host"] = host
        item["live_id"] = add_live(db_run, host["user"]["id"], item["shop"]["id"], status)
        return item

    return create


def deal_body(variant_id: int, **overrides: Any) -> dict[str, Any]:
    body = {"variant_id": variant_id, "deal_price": 1500, "total_units": 10, "per_buyer_limit": 1,
            "countdown_seconds": 10, "duration_minutes": 5}
    body.update(overrides)
    return body


def announce(api: httpx.Client, who: dict[str, Any], live_id: int, variant_id: int, **overrides: Any) -> httpx.Response:
    return api.post(f"/api/v1/lives/{live_id}/flash-deals", headers=who["headers"],
                    json=deal_body(variant_id, **overrides))


def open_now(db_run: Any, deal_id: int) -> None:
    """End the countdown of a deal now (as if its countdown seconds had passed)."""

    async def write(session: AsyncSession) -> None:
        deal = await session.get(FlashDeal, deal_id)
        assert deal is not None
        shift = deal.opens_at - (datetime.now(UTC) - timedelta(seconds=1))
        await session.execute(update(FlashDeal).where(FlashDeal.id == deal_id)
                              .values(opens_at=deal.opens_at - shift, ends_at=deal.ends_at - shift))

    db_run(write)


def end_now(db_run: Any, deal_id: int) -> None:
    async def write(session: AsyncSession) -> None:
        now = datetime.now(UTC)
        await session.execute(update(FlashDeal).where(FlashDeal.id == deal_id)
                              .values(opens_at=now - timedelta(minutes=10), ends_at=now - timedelta(seconds=1)))

    db_run(write)


def deal_row(db_run: Any, deal_id: int) -> FlashDeal:
    async def read(session: AsyncSession) -> FlashDeal:
        deal = await session.get(FlashDeal, deal_id)
        assert deal is not None
        session.expunge(deal)
        return deal

    result: FlashDeal = db_run(read)
    return result


def count_orders(db_run: Any) -> int:
    async def read(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(Order))).scalar_one())

    result: int = db_run(read)
    return result


@pytest.fixture
def frames() -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Frames the room is sent (the test server runs in this process)."""
    received: list[tuple[int, dict[str, Any]]] = []
    broadcast.install(lambda live_id, frame: received.append((live_id, frame)))
    yield received
    broadcast.uninstall()
