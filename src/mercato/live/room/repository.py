"""Every query of the LIVE room."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from mercato.accounts.models import User
from mercato.catalog import repository as catalog_repository
from mercato.catalog.models import Product
from mercato.live.models import Live
from mercato.live.room.models import LiveBan, LiveModerator, LiveMute, LiveReport, LiveRoom


async def room(db: AsyncSession, live_id: int) -> LiveRoom | None:
    return await db.get(LiveRoom, live_id)


async def add(db: AsyncSession, row: LiveRoom | LiveModerator | LiveMute | LiveBan | LiveReport) -> None:
    db.add(row)
    await db.flush()


async def moderator_ids(db: AsyncSession, live_id: int) -> list[int]:
    rows = await db.scalars(select(LiveModerator.user_id).where(LiveModerator.live_id == live_id)
                            .order_by(LiveModerator.user_id))
    return [int(r) for r in rows]


async def moderator(db: AsyncSession, live_id: int, user_id: int) -> LiveModerator | None:
    return await db.get(LiveModerator, (live_id, user_id))


async def remove_moderator(db: AsyncSession, live_id: int, user_id: int) -> bool:
    result = await db.execute(delete(LiveModerator).where(LiveModerator.live_id == live_id,
                                                          LiveModerator.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))


async def mute(db: AsyncSession, live_id: int, user_id: int) -> LiveMute | None:
    return await db.get(LiveMute, (live_id, user_id))


async def mutes_after(db: AsyncSession, live_id: int, now: datetime) -> dict[int, datetime]:
    rows = await db.execute(select(LiveMute.user_id, LiveMute.until)
                            .where(LiveMute.live_id == live_id, LiveMute.until > now))
    return {int(user_id): until for user_id, until in rows.all()}


async def ban(db: AsyncSession, live_id: int, user_id: int) -> LiveBan | None:
    return await db.get(LiveBan, (live_id, user_id))


async def banned_ids(db: AsyncSession, live_id: int) -> set[int]:
    return {int(r) for r in await db.scalars(select(LiveBan.user_id).where(LiveBan.live_id == live_id))}


async def report_of(db: AsyncSession, live_id: int, reporter_id: int) -> LiveReport | None:
    return await db.scalar(select(LiveReport).where(LiveReport.live_id == live_id,
                                                    LiveReport.reporter_id == reporter_id))


def _bag_filter(live: Live) -> ColumnElement[bool]:
    """The bag: the LIVE's shop's active products; without a shop, the products the host may
    promote — their shops' and those of affiliate plans they are in (the rule of video anchors,
    ``catalog_repository.promotable_clause``)."""
    if live.shop_id is not None:
        return (Product.status == "active") & (Product.shop_id == live.shop_id)
    return (Product.status == "active") & catalog_repository.promotable_clause(live.host_id, datetime.now(UTC))


async def bag(db: AsyncSession, live: Live, *, before_id: int | None, limit: int) -> list[Product]:
    """Newest product first (by id)."""
    query = select(Product).where(_bag_filter(live)).order_by(Product.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Product.id < before_id)
    return list((await db.scalars(query)).all())


async def in_bag(db: AsyncSession, live: Live, product_id: int) -> Product | None:
    return await db.scalar(select(Product).where(_bag_filter(live), Product.id == product_id))


async def product(db: AsyncSession, product_id: int) -> Product | None:
    return await db.get(Product, product_id)


async def user(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


async def raise_peak(db: AsyncSession, live_id: int, viewers: int) -> None:
    """``peak_viewers`` becomes ``viewers`` if higher (atomic: every process may write it)."""
    await db.execute(update(Live).where(Live.id == live_id, Live.peak_viewers < viewers)
                     .values(peak_viewers=viewers))


async def add_counts(db: AsyncSession, live_id: int, *, likes: int, shares: int) -> None:
    await db.execute(update(LiveRoom).where(LiveRoom.live_id == live_id)
                     .values(likes_total=LiveRoom.likes_total + likes, shares_total=LiveRoom.shares_total + shares))


async def reported_lives(db: AsyncSession, limit: int) -> list[tuple[Live, int, datetime]]:
    """LIVEs with reports, the most recently reported first: (live, reports, last report)."""
    counts = (select(LiveReport.live_id, func.count().label("n"), func.max(LiveReport.created_at).label("last"))
              .group_by(LiveReport.live_id).subquery())
    rows = await db.execute(select(Live, counts.c.n, counts.c.last).join(counts, counts.c.live_id == Live.id)
                            .order_by(counts.c.last.desc(), Live.id.desc()).limit(limit))
    return [(live, int(n), last) for live, n, last in rows.all()]


async def reports_of(db: AsyncSession, live_ids: Sequence[int], per_live: int) -> dict[int, list[LiveReport]]:
    if not live_ids:
        return {}
    rows = await db.scalars(select(LiveReport).where(LiveReport.live_id.in_(set(live_ids)))
                            .order_by(LiveReport.created_at.desc(), LiveReport.id.desc()))
    out: dict[int, list[LiveReport]] = {}
    for report in rows:
        bucket = out.setdefault(report.live_id, [])
        if len(bucket) < per_live:
            bucket.append(report)
    return out


async def on_air(db: AsyncSession, limit: int) -> list[Live]:
    return list((await db.scalars(select(Live).where(Live.status == "live").order_by(Live.id.desc())
                                  .limit(limit))).all())


async def users_by_ids(db: AsyncSession, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in await db.scalars(select(User).where(User.id.in_(set(ids))))}


async def live(db: AsyncSession, live_id: int) -> Live | None:
    return await db.get(Live, live_id)
