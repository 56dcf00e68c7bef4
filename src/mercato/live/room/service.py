"""Room use cases: the rules a chat message must pass, moderation, the pinned product and the bag,
reports, an operator ending a LIVE.

Every change is persisted and raises its room frame with ``broadcast.after_commit``: members see
it only once the unit of work commits. ``system`` frames of kind ``muted``, ``banned``,
``moderator`` and ``settings`` also tell every process's hub to reload the room's rules (and a ban
closes the banned member's connections).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog import presenters as catalog_presenters
from mercato.kit.errors import Conflict, Forbidden, NotFound
from mercato.kit.pagination import Page, decode_cursor, encode_cursor
from mercato.live import broadcast
from mercato.live import service as live_service
from mercato.live.errors import LiveError
from mercato.live.models import Live
from mercato.live.room import repository as repo
from mercato.live.room.errors import RoomError
from mercato.live.room.models import LiveBan, LiveModerator, LiveMute, LiveReport, LiveRoom
from mercato.live.room.schemas import RoomPatch

#: ``system`` frame kinds after which a hub reloads the room's rules.
RULE_KINDS = frozenset({"muted", "banned", "moderator", "settings", "ended"})


@dataclass
class RoomRules:
    """What deciding on a chat message needs, loaded once and cached by the hub until a rule
    changes (a ``system`` frame of :data:`RULE_KINDS`)."""

    live_id: int
    host_id: int
    status: str
    comments: str = "on"
    slow_mode_seconds: int = 0
    keywords: list[str] = field(default_factory=list)
    moderators: set[int] = field(default_factory=set)
    muted: dict[int, datetime] = field(default_factory=dict)
    banned: set[int] = field(default_factory=set)

    def role(self, user_id: int | None) -> str:
        if user_id is None:
            return "anonymous"
        if user_id == self.host_id:
            return "host"
        return "moderator" if user_id in self.moderators else "viewer"

    def muted_until(self, user_id: int | None, now: datetime) -> datetime | None:
        until = self.muted.get(user_id) if user_id is not None else None
        return until if until is not None and until > now else None

    def blocked_keyword(self, text: str) -> str | None:
        lowered = text.casefold()
        return next((word for word in self.keywords if word in lowered), None)

    def settings(self) -> dict[str, Any]:
        return {"slow_mode_seconds": self.slow_mode_seconds, "comments": self.comments}


async def load_rules(db: AsyncSession, live_id: int) -> RoomRules | None:
    live = await repo.live(db, live_id)
    if live is None:
        return None
    rules = RoomRules(live_id=live.id, host_id=live.host_id, status=live.status)
    room = await repo.room(db, live_id)
    if room is not None:
        rules.comments, rules.slow_mode_seconds = room.comments, room.slow_mode_seconds
        rules.keywords = list(room.keywords)
    rules.moderators = set(await repo.moderator_ids(db, live_id))
    rules.muted = await repo.mutes_after(db, live_id, datetime.now(UTC))
    rules.banned = await repo.banned_ids(db, live_id)
    return rules


async def _room_row(db: AsyncSession, live_id: int) -> LiveRoom:
    room = await repo.room(db, live_id)
    if room is None:
        room = LiveRoom(live_id=live_id, slow_mode_seconds=0, comments="on", keywords=[], likes_total=0, shares_total=0)
        await repo.add(db, room)
    return room


async def staff_live(db: AsyncSession, user: User, live_id: int) -> Live:
    """The LIVE if ``user`` hosts or moderates it (operators too): 404 unknown, 403 anyone else."""
    live = await live_service.get_live(db, live_id)
    if live.host_id == user.id or user.is_admin or await repo.moderator(db, live_id, user.id) is not None:
        return live
    raise Forbidden("Only the host and the room's moderators may do this.", code=RoomError.NOT_ROOM_STAFF)


async def _target(db: AsyncSession, live: Live, actor: User, user_id: int) -> User:
    """A member to mute or ban: not the host, and a moderator only by the host or an operator."""
    target = await repo.user(db, user_id)
    if target is None:
        raise NotFound("No such user.", code=RoomError.USER_NOT_FOUND)
    if target.id == live.host_id or target.id == actor.id:
        raise Conflict("The host cannot be muted or banned, nor can you yourself.", code=RoomError.CANNOT_MODERATE)
    if actor.id != live.host_id and not actor.is_admin and await repo.moderator(db, live.id, target.id) is not None:
        raise Conflict("Only the host may mute or ban a moderator.", code=RoomError.CANNOT_MODERATE)
    return target


def _system(db: AsyncSession, live_id: int, kind: str, text: str, **extra: Any) -> None:
    broadcast.after_commit(db, live_id, {"type": "system", "kind": kind, "text": text, **extra})


async def set_moderator(db: AsyncSession, host: User, live_id: int, user_id: int, appoint: bool) -> list[int]:
    live = await live_service.hosted_live(db, host, live_id)
    target = await repo.user(db, user_id)
    if target is None:
        raise NotFound("No such user.", code=RoomError.USER_NOT_FOUND)
    if target.id == live.host_id:
        raise Conflict("The host already runs the room.", code=RoomError.CANNOT_MODERATE)
    if appoint and await repo.moderator(db, live_id, user_id) is None:
        await repo.add(db, LiveModerator(live_id=live_id, user_id=user_id))
        _system(db, live_id, "moderator", f"{target.display_name} is now a moderator.", user_id=user_id,
                moderator=True)
    elif not appoint and await repo.remove_moderator(db, live_id, user_id):
        _system(db, live_id, "moderator", f"{target.display_name} is no longer a moderator.", user_id=user_id,
                moderator=False)
    return await repo.moderator_ids(db, live_id)


async def mute(db: AsyncSession, actor: User, live_id: int, user_id: int, minutes: int) -> datetime:
    live = await staff_live(db, actor, live_id)
    target = await _target(db, live, actor, user_id)
    until = datetime.now(UTC) + timedelta(minutes=minutes)
    row = await repo.mute(db, live_id, user_id)
    if row is None:
        await repo.add(db, LiveMute(live_id=live_id, user_id=user_id, until=until, by_id=actor.id))
    else:
        row.until, row.by_id = until, actor.id
        await db.flush()
    _system(db, live_id, "muted", f"{target.display_name} was muted for {minutes} min.", user_id=user_id,
            until=until.isoformat())
    return until


async def ban(db: AsyncSession, actor: User, live_id: int, user_id: int) -> None:
    live = await staff_live(db, actor, live_id)
    target = await _target(db, live, actor, user_id)
    if await repo.ban(db, live_id, user_id) is None:
        await repo.add(db, LiveBan(live_id=live_id, user_id=user_id, by_id=actor.id))
        await repo.remove_moderator(db, live_id, user_id)
        _system(db, live_id, "banned", f"{target.display_name} was removed from the room.", user_id=user_id)


async def update_room(db: AsyncSession, actor: User, live_id: int, patch: RoomPatch) -> LiveRoom:
    await staff_live(db, actor, live_id)
    room = await _room_row(db, live_id)
    if patch.slow_mode_seconds is not None:
        room.slow_mode_seconds = patch.slow_mode_seconds
    if patch.comments is not None:
        room.comments = patch.comments
    if patch.keywords is not None:
        room.keywords = sorted({word.casefold() for word in patch.keywords})
    await db.flush()
    text = "Room settings changed."
    if room.comments == "off":
        text = "Comments are off."
    elif room.slow_mode_seconds:
        text = f"Slow mode: one message every {room.slow_mode_seconds} s."
    _system(db, live_id, "settings", text, settings={"slow_mode_seconds": room.slow_mode_seconds,
                                                      "comments": room.comments})
    return room


async def room_settings(db: AsyncSession, live_id: int) -> LiveRoom:
    room = await repo.room(db, live_id)
    return room or LiveRoom(live_id=live_id, slow_mode_seconds=0, comments="on", keywords=[], likes_total=0,
                            shares_total=0)


async def product_card(db: AsyncSession, product_id: int | None) -> dict[str, Any] | None:
    if product_id is None:
        return None
    product = await repo.product(db, product_id)
    if product is None:
        return None
    return (await catalog_presenters.product_cards(db, [product]))[0].model_dump(mode="json")


async def pin(db: AsyncSession, actor: User, live_id: int, product_id: int | None) -> dict[str, Any] | None:
    """Pin a product of the bag (``None`` unpins); every member gets a ``pinned`` frame. In a
    creator's LIVE without a shop, an active product the host may not promote (no shop of theirs,
    no affiliate plan) → 403 ``pin_not_allowed``; anything else outside the bag → 409."""
    live = await staff_live(db, actor, live_id)
    if product_id is not None and await repo.in_bag(db, live, product_id) is None:
        found = await repo.product(db, product_id)
        if live.shop_id is None and found is not None and found.status == "active":
            raise Forbidden("The host may pin only products of their shop or of an affiliate plan they are in.",
                            code=RoomError.PIN_NOT_ALLOWED, details={"product_id": product_id})
        raise Conflict("This product is not in the LIVE's bag.", code=RoomError.NOT_IN_BAG)
    live.pinned_product_id = product_id
    await db.flush()
    card = await product_card(db, product_id)
    broadcast.after_commit(db, live_id, {"type": "pinned", "product": card})
    return card


async def bag_page(db: AsyncSession, live: Live, cursor: str | None, limit: int) -> Page[Any]:
    decoded = decode_cursor(cursor, (int,))
    products = await repo.bag(db, live, before_id=decoded[0] if decoded else None, limit=limit + 1)
    more = len(products) > limit
    products = products[:limit]
    cards = await catalog_presenters.product_cards(db, products)
    return Page(items=cards, next_cursor=encode_cursor([products[-1].id]) if more and products else None)


async def report(db: AsyncSession, user: User, live_id: int, reason: str) -> LiveReport:
    await live_service.get_live(db, live_id)
    if await repo.report_of(db, live_id, user.id) is not None:
        raise Conflict("You have already reported this LIVE.", code=RoomError.ALREADY_REPORTED)
    row = LiveReport(live_id=live_id, reporter_id=user.id, reason=reason, created_at=datetime.now(UTC))
    await repo.add(db, row)
    return row


async def operator_end(db: AsyncSession, operator: User, live_id: int) -> Live:
    """An operator takes a LIVE off the air: ended, and every member told."""
    live = await live_service.get_live(db, live_id)
    if live.status == "ended":
        raise Conflict("This LIVE has ended.", code=LiveError.ALREADY_ENDED)
    await live_service.end_live(db, live, reason="operator")
    _system(db, live_id, "ended", "This LIVE was ended by the operators.")  # end_live sent ``ended``
    return live


async def add_counts(db: AsyncSession, live_id: int, *, likes: int, shares: int) -> None:
    await _room_row(db, live_id)
    await repo.add_counts(db, live_id, likes=likes, shares=shares)


async def raise_peak(db: AsyncSession, live_id: int, viewers: int) -> None:
    await repo.raise_peak(db, live_id, viewers)


async def totals(db: AsyncSession, live_id: int) -> tuple[int, int, int]:
    """(likes, shares, peak viewers) persisted so far."""
    room = await repo.room(db, live_id)
    live = await repo.live(db, live_id)
    return (room.likes_total if room else 0, room.shares_total if room else 0, live.peak_viewers if live else 0)


async def admin_overview(db: AsyncSession, *, limit: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """For /admin/lives: the LIVEs on air, and the reported LIVEs with their latest reports."""
    on_air = await repo.on_air(db, limit)
    reported = await repo.reported_lives(db, limit)
    reports = await repo.reports_of(db, [live.id for live, _n, _last in reported], per_live=5)
    people = await repo.users_by_ids(db, sorted({live.host_id for live in on_air}
                                                | {live.host_id for live, _n, _last in reported}
                                                | {r.reporter_id for rows in reports.values() for r in rows}))
    return (
        [{"live": live, "host": people.get(live.host_id)} for live in on_air],
        [{"live": live, "host": people.get(live.host_id), "count": n, "last": last,
          "reports": [{"report": r, "reporter": people.get(r.reporter_id)} for r in reports.get(live.id, [])]}
         for live, n, last in reported],
    )


async def room_key(db: AsyncSession, live_id: int) -> str | None:
    """The prefix of a room's Redis keys: the LIVE's id and creation time, so that a reused id
    (a database emptied and filled again) never meets the counters of an older LIVE."""
    live = await repo.live(db, live_id)
    return None if live is None else f"mercato:live:{live_id}:{int(live.created_at.timestamp() * 1e6)}"
