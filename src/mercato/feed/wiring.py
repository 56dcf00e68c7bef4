"""Connects the feed to the domains whose facts it ranks on: content's engagement and accounts'
blocks reach it through their hook registries (``content/hooks.py``, ``accounts/hooks.py``), so
neither domain imports the feed. ``app.create_app`` calls :func:`install` (so does the demo
seeding, which runs without the app); installing twice changes nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import hooks as accounts_hooks
from mercato.content import hooks as content_hooks
from mercato.feed.signals import record_engagement, touched


async def _engagement(db: AsyncSession, *, user_id: int | None, video_id: int, kind: str) -> None:
    await record_engagement(db, user_id=user_id, video_id=video_id, kind=kind)


def install() -> None:
    content_hooks.register_engagement(_engagement)
    accounts_hooks.register_ranking_inputs_changed(touched)
