"""The learned ranker's queries (feed/ranker.py): the training log (``feed_impressions``), the
outcomes joined from ``feed_events``, and the trained models (``feed_models``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.feed.models import FeedEvent, FeedImpression, FeedModel


async def log_impressions(db: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Served items of logged pages (one executemany statement)."""
    if rows:
        await db.execute(insert(FeedImpression), list(rows))


async def impressions_since(db: AsyncSession, since: datetime, until: datetime,
                            limit: int) -> list[tuple[int, int, int, datetime, float, list[float]]]:
    """(id, user, video, served_at, propensity, features) logged in [since, until), oldest first,
    at most the ``limit`` most recent."""
    stmt = (select(FeedImpression.id, FeedImpression.user_id, FeedImpression.video_id, FeedImpression.served_at,
                   FeedImpression.propensity, FeedImpression.features)
            .where(FeedImpression.served_at >= since, FeedImpression.served_at < until)
            .order_by(FeedImpression.served_at.desc(), FeedImpression.id.desc()).limit(limit))
    rows = [(int(i), int(u), int(v), at, float(p), list(f)) for i, u, v, at, p, f in (await db.execute(stmt)).all()]
    rows.reverse()
    return rows


async def any_impression_since(db: AsyncSession, since: datetime) -> bool:
    stmt = select(FeedImpression.id).where(FeedImpression.served_at >= since).limit(1)
    return (await db.execute(stmt)).first() is not None


async def outcome_events(db: AsyncSession, kinds: Sequence[str], since: datetime) -> list[tuple[int, int, datetime]]:
    """(user, video, time) of signed-in viewers' events of these kinds since ``since``."""
    stmt = (select(FeedEvent.user_id, FeedEvent.video_id, FeedEvent.created_at)
            .where(FeedEvent.created_at >= since, FeedEvent.kind.in_(list(kinds)), FeedEvent.user_id.is_not(None)))
    return [(int(u), int(v), at) for u, v, at in (await db.execute(stmt)).all() if u is not None]


async def add_model(db: AsyncSession, **values: Any) -> FeedModel:
    model = FeedModel(**values)
    db.add(model)
    await db.flush()
    return model


async def promoted_model(db: AsyncSession) -> FeedModel | None:
    """The newest promoted model (what ranks the feed)."""
    stmt = select(FeedModel).where(FeedModel.status == "promoted").order_by(FeedModel.id.desc()).limit(1)
    return (await db.execute(stmt)).scalars().first()


async def recent_models(db: AsyncSession, limit: int) -> list[FeedModel]:
    stmt = select(FeedModel).order_by(FeedModel.id.desc()).limit(limit)
    return list((await db.execute(stmt)).scalars().all())


async def last_trained_at(db: AsyncSession) -> datetime | None:
    """When the newest training run happened (None: never)."""
    stmt = select(FeedModel.trained_at).order_by(FeedModel.id.desc()).limit(1)
    found: datetime | None = (await db.execute(stmt)).scalar()
    return found
