"""LIVE rows → API bodies (``LiveOut``), shared by the API and the pages.

Absolute URLs come from ``MERCATO_PUBLIC_BASE_URL`` (never the request's ``Host``, which the
client chooses) and ``MERCATO_RTMP_PUBLIC_URL``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.content.presenters import creator_out
from mercato.kit.images import media_url
from mercato.live import audience, repository
from mercato.live.ingest.server import publish_url
from mercato.live.models import Live


def server_url(settings: Settings) -> str:
    """The RTMP server publishers are told (OBS's "Server"), as the ingest decides it."""
    return publish_url(settings)


def ingest_url(settings: Settings, key: str) -> str:
    return f"{server_url(settings)}/{key}"


def playback_url(settings: Settings, live_id: int, name: str = "index.m3u8") -> str:
    return f"{settings.public_base_url.rstrip('/')}/live/{live_id}/hls/{name}"


def room_url(settings: Settings, live_id: int) -> str:
    base = settings.public_base_url.rstrip("/")
    scheme, _, rest = base.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/v1/lives/{live_id}/room"


def replay_url(settings: Settings, live: Live) -> str | None:
    """The replay's VOD playlist, served by the same HLS route as the LIVE, once it exists."""
    if live.status != "ended" or not live.replay_path:
        return None
    return playback_url(settings, live.id, PurePosixPath(live.replay_path).name)


def live_body(live: Live, host: User, settings: Settings, *, viewer: User | None, reminders: int = 0,
              reminded: bool = False, key: str | None = None) -> dict[str, Any]:
    manager = viewer is not None and (viewer.id == live.host_id or viewer.is_admin)
    return {
        "id": live.id, "status": live.status, "title": live.title, "host": creator_out(host),
        "shop_id": live.shop_id, "scheduled_at": live.scheduled_at, "started_at": live.started_at,
        "ended_at": live.ended_at,
        "ingest_url": ingest_url(settings, key) if key else None,
        "ingest_server": server_url(settings) if manager else None,
        "playback_url": playback_url(settings, live.id), "room_url": room_url(settings, live.id),
        "page_url": f"/live/{live.id}", "replay_url": replay_url(settings, live),
        "cover_url": media_url(live.cover_path),
        "viewers": audience.viewers(live.id) if live.status == "live" else 0,
        "peak_viewers": live.peak_viewers, "reminders": reminders, "reminded": reminded, "is_demo": live.is_demo,
    }


async def live_outs(db: AsyncSession, lives: Sequence[Live], settings: Settings,
                    viewer: User | None) -> list[dict[str, Any]]:
    """Bodies of many LIVEs with three queries (hosts, reminder counts, the viewer's reminders)."""
    ids = [live.id for live in lives]
    hosts = await repository.users_by_ids(db, [live.host_id for live in lives])
    counts = await repository.reminder_counts(db, ids)
    mine = await repository.reminded_live_ids(db, viewer.id, ids) if viewer is not None else set()
    return [live_body(live, hosts[live.host_id], settings, viewer=viewer, reminders=counts.get(live.id, 0),
                      reminded=live.id in mine) for live in lives]


async def live_out(db: AsyncSession, live: Live, settings: Settings, viewer: User | None,
                   key: str | None = None) -> dict[str, Any]:
    body = (await live_outs(db, [live], settings, viewer))[0]
    if key:
        body["ingest_url"] = ingest_url(settings, key)
    return body
