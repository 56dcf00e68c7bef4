"""The room hub: every WebSocket member of this process, per LIVE, and the fan-out of frames.

- **Members.** Each member has a bounded outgoing queue and one writer task. A frame is encoded
  to JSON once and the same text is queued for every member. A member whose queue is full (it
  stopped reading, or reads slower than the room talks) has its queue dropped and is sent one
  ``snapshot`` instead, when it catches up: memory per connection stays bounded, and the member
  still ends up with the current state.
- **One process or many.** Without Redis, :meth:`Hub.publish` delivers to this process's members
  at once. With Redis (``app.state.redis``), every frame is published on the room's channel
  (``mercato:live:room:{id}``) and delivered by each process to its own members when it comes back
  from the channel — every process, the sender's included, sees one order. A process subscribes
  only to the rooms it has members in. Viewer counts, presence, the recent chat, like and share
  totals and slow mode are shared through Redis keys named after the LIVE's id and creation time.
- **Aggregation.** Likes are summed and sent as one ``likes`` burst per room every
  ``live_likes_interval_ms``; ``viewers`` goes out at most once a second, when it changed; the peak
  and the like and share totals are written to the database every few seconds, not per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from starlette.websockets import WebSocket

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import TooManyRequests
from mercato.kit.events import Event
from mercato.kit.events import record_many as record_events
from mercato.kit.ratelimit import RULES, RateLimiter
from mercato.live import audience, broadcast
from mercato.live.room import chat_hooks, presence, service
from mercato.live.room.errors import RoomError
from mercato.live.room.service import RULE_KINDS, RoomRules
from mercato.live.room.snapshot import room_state

log = logging.getLogger("mercato.live.room")

#: How long a cached room rule set or state is trusted without a change frame (a safety net).
RULES_TTL = 10.0
STATE_TTL = 5.0
#: How often the peak and the like and share totals reach the database.
PERSIST_SECONDS = 5.0
#: A process's viewer count in Redis is ignored once it is older than this (a dead process).
VIEWERS_STALE_SECONDS = 5.0
WATCH_EVERY_SECONDS = 60.0
#: Frame types that leave a room's cached state as it was.
_HOT_TYPES = frozenset({"chat", "likes", "viewers", "share", "pong", "error", "flash_units"})
MAX_CLIENT_FRAME = 4096
POLICY_VIOLATION = 1008


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def error_frame(code: str, message: str, retry_after: int | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return encode(frame)


@dataclass(eq=False)
class Member:
    ws: WebSocket
    user: dict[str, Any] | None
    cap: int
    queue: deque[str] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Fell behind: the queue was dropped; the writer sends a snapshot next.
    behind: bool = True  # a new member starts with its snapshot
    closing: bool = False
    close_code: int = 1000
    joined: float = field(default_factory=time.monotonic)
    recorded: float = field(default_factory=time.monotonic)
    snapshots: int = 0
    dropped: int = 0
    task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> int | None:
        return int(self.user["id"]) if self.user else None

    def push(self, text: str) -> None:
        if self.closing or self.behind:
            return
        if len(self.queue) >= self.cap:
            self.dropped += len(self.queue)
            self.queue.clear()
            self.behind = True
        else:
            self.queue.append(text)
        self.wake.set()

    def close(self, code: int) -> None:
        self.closing, self.close_code = True, code
        self.queue.clear()
        self.wake.set()


@dataclass(eq=False)
class Room:
    live_id: int
    members: set[Member] = field(default_factory=set)
    chat: deque[str] = field(default_factory=deque)
    rules: RoomRules | None = None
    rules_at: float = 0.0
    state: dict[str, Any] | None = None
    state_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    rules_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    rules_generation: int = 0
    key: str = ""  # Redis key prefix: the LIVE's id and creation time (ids may be reused)
    likes: int = 0  # totals (in-process mode)
    shares: int = 0
    pending_likes: int = 0
    unsaved_likes: int = 0
    unsaved_shares: int = 0
    # For analytics (kit/events.py), recorded with the counters: joins, leaves and chat messages.
    unsaved_joins: int = 0
    unsaved_leaves: int = 0
    unsaved_comments: int = 0
    viewers_sent: int = -1
    peak: int = 0
    peak_saved: int = 0
    slow: dict[int, float] = field(default_factory=dict)  # user → monotonic time of their last message


def room_events(live_id: int, **counts: int) -> list[Event]:
    """The room's activity since the last save as analytics events, one per kind with its count
    (the room counts in memory; a row per tap or per join would cost the fan-out its speed)."""
    now = datetime.now(UTC)
    return [Event(event_id=f"live:{live_id}:{kind}:{uuid.uuid4().hex}", kind=kind, occurred_at=now, source="live",
                  live_id=live_id, count=count) for kind, count in counts.items() if count > 0]


class Hub:
    """The app's hub (``app.state.live_hub``), installed as the publisher of ``live/broadcast.py``."""

    def __init__(self, settings: Settings, db: Database, redis: Redis | None, limiter: RateLimiter) -> None:
        self.settings, self.db, self.redis, self.limiter = settings, db, redis, limiter
        self.rooms: dict[int, Room] = {}
        self.process = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.outgoing: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.pubsub: Any = None
        self.subscribed: set[int] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- life ------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.tasks = [asyncio.create_task(self._likes_loop()), asyncio.create_task(self._tick_loop())]
        if self.redis is not None:
            self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            self.tasks += [asyncio.create_task(self._redis_publisher()), asyncio.create_task(self._redis_reader())]
        broadcast.install(self.publish)
        presence.install(self)
        audience.install(self.viewers_now)

    async def stop(self) -> None:
        broadcast.uninstall(self.publish)  # a stopped hub takes no more frames (its loop may close)
        presence.uninstall(self)
        for room in list(self.rooms.values()):
            for member in list(room.members):
                member.close(1001)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._persist(force=True)
        if self.pubsub is not None:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()

    # --- publishing ------------------------------------------------------------------------------

    def publish(self, live_id: int, frame: dict[str, Any]) -> None:
        """Send ``frame`` to every member of the room, in every process (never blocks)."""
        text = encode({"type": frame.get("type"), **frame})
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            here = False
        if not here and self.loop is not None:  # committed on another thread: over to the hub's loop
            self.loop.call_soon_threadsafe(self._send, live_id, text)
        else:
            self._send(live_id, text)

    def _send(self, live_id: int, text: str) -> None:
        if self.redis is None:
            self._deliver(live_id, text)
        else:
            self.outgoing.put_nowait((live_id, text))

    def _deliver(self, live_id: int, text: str) -> None:
        room = self.rooms.get(live_id)
        if room is None:
            return
        kind = text[9:text.index('"', 9)] if text.startswith('{"type":"') else ""
        if kind == "chat":
            room.chat.append(text)
            while len(room.chat) > self.settings.live_recent_chat:
                room.chat.popleft()
        elif kind not in _HOT_TYPES:
            room.state = None
            if kind == "system":
                self._system(room, orjson.loads(text))
        for member in room.members:
            member.push(text)

    def _system(self, room: Room, frame: dict[str, Any]) -> None:
        if frame.get("kind") in RULE_KINDS:
            room.rules = None
            room.rules_generation += 1
        if frame.get("kind") == "banned":
            for member in [m for m in room.members if m.user_id == frame.get("user_id")]:
                member.close(POLICY_VIOLATION)
                member.queue.append(error_frame(RoomError.BANNED, "You were removed from this room."))

    async def _redis_publisher(self) -> None:
        assert self.redis is not None
        while True:
            live_id, text = await self.outgoing.get()
            try:
                room = self.rooms.get(live_id)
                if text.startswith('{"type":"chat"') and room is not None and room.key:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        pipe.rpush(f"{room.key}:chat", text)
                        pipe.ltrim(f"{room.key}:chat", -self.settings.live_recent_chat, -1)
                        pipe.expire(f"{room.key}:chat", 86400)
                        pipe.publish(f"mercato:live:room:{live_id}", text)
                        await pipe.execute()
                else:
                    await self.redis.publish(f"mercato:live:room:{live_id}", text)
            except Exception as exc:  # Redis down: the frame is lost, the hub keeps running
                log.warning("room frame not published to Redis: %s", exc)

    async def _redis_reader(self) -> None:
        while True:
            if not self.subscribed:
                await asyncio.sleep(0.05)
                continue
            try:
                message = await self.pubsub.get_message(timeout=1.0)
            except Exception as exc:
                log.warning("room channel read failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            data = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
            self._deliver(int(channel.rsplit(":", 1)[1]), data)

    # --- members ---------------------------------------------------------------------------------

    async def rules(self, live_id: int) -> RoomRules | None:
        """The room's rules: cached while the room has members here, loaded by one caller at a
        time (thousands joining at once make one query, not thousands)."""
        room = self.rooms.get(live_id)
        if room is None:
            async with self.db.unit_of_work(write=False) as db:
                return await service.load_rules(db, live_id)
        if room.rules is None or time.monotonic() - room.rules_at >= RULES_TTL:
            async with room.rules_lock:
                if room.rules is None or time.monotonic() - room.rules_at >= RULES_TTL:
                    generation = room.rules_generation
                    async with self.db.unit_of_work(write=False) as db:
                        rules = await service.load_rules(db, live_id)
                    if generation != room.rules_generation:  # a rule changed while reading: not cached
                        return rules
                    room.rules, room.rules_at = rules, time.monotonic()
        return room.rules

    async def join(self, live_id: int, ws: WebSocket, user: dict[str, Any] | None) -> Member:
        room = self.rooms.get(live_id)
        if room is None:
            room = self.rooms[live_id] = Room(live_id)
            await self._open_room(room)
        member = Member(ws=ws, user=user, cap=self.settings.live_member_queue_frames)
        room.members.add(member)
        room.unsaved_joins += 1
        member.task = asyncio.create_task(self._writer(room, member))
        member.wake.set()
        if self.redis is not None and member.user_id is not None:
            await self._presence_add(room, [member.user_id])
        return member

    async def leave(self, live_id: int, member: Member) -> None:
        room = self.rooms.get(live_id)
        member.close(member.close_code)
        if member.task is not None and member.task is not asyncio.current_task():
            with contextlib.suppress(Exception):
                await member.task
        if room is None or member not in room.members:
            return
        room.members.discard(member)
        room.unsaved_leaves += 1
        uid = member.user_id
        if uid is not None:
            await self._record_watch(live_id, [(uid, time.monotonic() - member.recorded)])
            if self.redis is not None and not any(m.user_id == uid for m in room.members):
                with contextlib.suppress(Exception):
                    await self.redis.zrem(f"{room.key}:present", str(uid))
        if not room.members:
            await self._close_room(room)

    async def _open_room(self, room: Room) -> None:
        async with self.db.unit_of_work(write=False) as db:
            key = await service.room_key(db, room.live_id)
            likes, shares, peak = await service.totals(db, room.live_id)
        room.key = key or f"mercato:live:{room.live_id}:gone"
        room.likes, room.shares, room.peak = likes, shares, peak
        room.peak_saved = peak
        if self.redis is not None:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.setnx(f"{room.key}:likes", likes)
                    pipe.setnx(f"{room.key}:shares", shares)
                    pipe.expire(f"{room.key}:likes", 86400)
                    pipe.expire(f"{room.key}:shares", 86400)
                    await pipe.execute()
                await self.pubsub.subscribe(f"mercato:live:room:{room.live_id}")
                self.subscribed.add(room.live_id)
            except Exception as exc:
                log.warning("room %s not subscribed in Redis: %s", room.live_id, exc)

    async def _close_room(self, room: Room) -> None:
        self.rooms.pop(room.live_id, None)
        await self._persist_room(room, force=True)
        if self.redis is not None:
            self.subscribed.discard(room.live_id)
            with contextlib.suppress(Exception):
                await self.pubsub.unsubscribe(f"mercato:live:room:{room.live_id}")
                await self.redis.hdel(f"{room.key}:viewers", self.process)

    async def _writer(self, room: Room, member: Member) -> None:
        ws = member.ws
        try:
            while True:
                await member.wake.wait()
                member.wake.clear()
                if member.closing:
                    while member.queue:  # a last error frame (a ban) before the close
                        await ws.send_text(member.queue.popleft())
                    await ws.close(member.close_code)
                    return
                if member.behind:
                    member.behind = False
                    await ws.send_text(await self.snapshot(room, member))
                    member.snapshots += 1
                while member.queue and not member.behind and not member.closing:
                    await ws.send_text(member.queue.popleft())
        except Exception:  # the peer went away: the reader notices and leaves
            member.closing = True
            member.queue.clear()

    async def snapshot(self, room: Room, member: Member) -> str:
        state = await self._state(room)
        rules = await self.rules(room.live_id)
        now = datetime.now(UTC)
        uid = member.user_id
        muted = rules.muted_until(uid, now) if rules else None
        viewers = await self._viewers(room)
        likes, _shares = await self._totals(room)
        chat = await self._recent_chat(room)
        frame = {
            "type": "snapshot", **{k: v for k, v in (state or {}).items() if k != "persisted"},
            "viewers": viewers, "peak_viewers": max(room.peak, viewers), "likes": likes,
            "chat": [orjson.loads(text) for text in chat],
            "you": {"user": member.user, "role": rules.role(uid) if rules else "anonymous",
                    "muted_until": muted.isoformat() if muted else None},
        }
        if rules is not None:
            frame["settings"] = rules.settings()
        return encode(frame)

    async def _state(self, room: Room) -> dict[str, Any] | None:
        if room.state is not None and time.monotonic() - room.state_at < STATE_TTL:
            return room.state
        async with room.lock:
            if room.state is None or time.monotonic() - room.state_at >= STATE_TTL:
                async with self.db.unit_of_work(write=False) as db:
                    room.state = await room_state(db, room.live_id, self.settings.live_bag_page)
                room.state_at = time.monotonic()
        return room.state

    async def _recent_chat(self, room: Room) -> list[str]:
        if self.redis is None:
            return list(room.chat)
        try:
            raw = await self.redis.lrange(f"{room.key}:chat", -self.settings.live_recent_chat, -1)
            return [item.decode() if isinstance(item, bytes) else item for item in raw]
        except Exception:
            return list(room.chat)

    # --- what members send -----------------------------------------------------------------------

    async def handle(self, live_id: int, member: Member, text: str) -> None:
        """One frame from a member: answered, published or refused with an ``error`` frame."""
        try:
            frame = orjson.loads(text) if len(text) <= MAX_CLIENT_FRAME else None
        except orjson.JSONDecodeError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            member.push(error_frame(RoomError.INVALID_FRAME, "Frames are JSON objects with a type."))
            return
        kind = frame["type"]
        if kind == "ping":
            member.push('{"type":"pong"}')
            return
        if kind not in ("chat", "like", "share"):
            member.push(error_frame(RoomError.INVALID_FRAME, f"Unknown frame type {kind[:40]!r}."))
            return
        if member.user is None:
            member.push(error_frame("not_authenticated", "Log in to chat, like and share."))
            return
        rules = await self.rules(live_id)
        if rules is None or rules.status == "ended":
            member.push(error_frame("live_ended", "This LIVE has ended."))
            return
        if member.user_id in rules.banned:
            self._system(self.rooms[live_id], {"kind": "banned", "user_id": member.user_id})
            return
        if kind == "chat":
            await self._chat(live_id, member, rules, frame.get("text"))
        elif kind == "like":
            await self._like(live_id, member, frame.get("count", 1))
        else:
            await self._share(live_id, member)

    async def _limited(self, member: Member, rule: str) -> bool:
        try:
            await self.limiter.hit(RULES[rule], f"user:{member.user_id}")
        except TooManyRequests as exc:
            member.push(error_frame("rate_limited", str(exc), exc.retry_after))
            return True
        return False

    async def _chat(self, live_id: int, member: Member, rules: RoomRules, text: Any) -> None:
        if not isinstance(text, str) or not text.strip():
            member.push(error_frame(RoomError.INVALID_FRAME, "A chat frame carries a non-empty text."))
            return
        text = text.strip()
        if len(text) > self.settings.live_chat_max_chars:
            member.push(error_frame(RoomError.TEXT_TOO_LONG,
                                    f"Messages are at most {self.settings.live_chat_max_chars} characters."))
            return
        uid = member.user_id
        assert uid is not None
        role = rules.role(uid)
        staff = role in ("host", "moderator")
        if rules.comments == "off" and not staff:
            member.push(error_frame(RoomError.COMMENTS_OFF, "The host turned comments off."))
            return
        now = datetime.now(UTC)
        muted = rules.muted_until(uid, now)
        if muted is not None:
            member.push(error_frame(RoomError.MUTED, "You are muted in this room.",
                                    max(1, int((muted - now).total_seconds()))))
            return
        if rules.blocked_keyword(text) is not None:
            member.push(error_frame(RoomError.KEYWORD_BLOCKED, "This message contains a word the host blocked."))
            return
        fan_level = await self._fan_level(rules, uid)
        if rules.fans_only and not staff and not fan_level:
            member.push(error_frame(RoomError.FANS_ONLY, "Only members of the host's Fan Club may chat now."))
            return
        if await self._limited(member, "live_chat"):
            return
        if rules.slow_mode_seconds and not staff:
            wait = await self._slow_wait(self.rooms[live_id], uid, rules.slow_mode_seconds)
            if wait:
                member.push(error_frame(RoomError.SLOW_MODE,
                                        f"Slow mode: one message every {rules.slow_mode_seconds} s.", wait))
                return
        badges = [role] if staff else []
        self.rooms[live_id].unsaved_comments += 1
        user = {**(member.user or {}), "badges": badges}
        if fan_level:
            user["fan_level"] = fan_level
        message_id = uuid.uuid4().hex
        self.publish(live_id, {"type": "chat", "id": message_id, "text": text, "user": user, "at": now.isoformat()})
        await self._chat_accepted(chat_hooks.ChatAccepted(live_id, rules.host_id, uid, message_id, now))

    async def _fan_level(self, rules: RoomRules, uid: int) -> int | None:
        """The sender's Fan Club level for the host (live/room/chat_hooks.py), None without one."""
        if not chat_hooks.has_fan_levels():
            return None
        try:
            async with self.db.unit_of_work(write=False) as db:
                return await chat_hooks.fan_level(db, rules.host_id, uid)
        except Exception:  # no badge rather than no chat (fans-only mode then refuses: fail closed)
            log.exception("fan level of user %s in room %s not read", uid, rules.live_id)
            return None

    async def _chat_accepted(self, event: chat_hooks.ChatAccepted) -> None:
        """Tell the chat listeners (Fan Club points, missions) in one unit of work; the message
        is already out, so a failure is logged, never answered."""
        listeners = chat_hooks.chat_listeners()
        if not listeners:
            return
        try:
            async with self.db.unit_of_work() as db:
                for listener in listeners:
                    await listener(db, event)
        except Exception:
            log.exception("chat listeners of room %s failed", event.live_id)

    async def _slow_wait(self, room: Room, uid: int, seconds: int) -> int:
        """0 if ``uid`` may write now (and then counts this message), else the seconds to wait."""
        if self.redis is not None:
            key = f"{room.key}:slow:{uid}"
            try:
                if await self.redis.set(key, 1, nx=True, ex=seconds):
                    return 0
                return max(1, int(await self.redis.ttl(key)))
            except Exception:
                return 0
        now = time.monotonic()
        last = room.slow.get(uid)
        if last is not None and now - last < seconds:
            return max(1, int(seconds - (now - last) + 0.999))
        room.slow[uid] = now
        return 0

    async def _like(self, live_id: int, member: Member, count: Any) -> None:
        if type(count) is not int or not 1 <= count <= 50:
            member.push(error_frame(RoomError.INVALID_FRAME, "A like frame counts 1 to 50 taps."))
            return
        if await self._limited(member, "live_like"):
            return
        room = self.rooms[live_id]
        room.pending_likes += count

    async def _share(self, live_id: int, member: Member) -> None:
        if await self._limited(member, "share"):
            return
        room = self.rooms[live_id]
        room.unsaved_shares += 1
        if self.redis is not None:
            total = int(await self.redis.incr(f"{room.key}:shares"))
        else:
            room.shares += 1
            total = room.shares
        self.publish(live_id, {"type": "share", "total": total})

    # --- periodic work ---------------------------------------------------------------------------

    async def _likes_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.live_likes_interval_ms / 1000)
            for room in list(self.rooms.values()):
                if not room.pending_likes:
                    continue
                count, room.pending_likes = room.pending_likes, 0
                room.unsaved_likes += count
                try:
                    if self.redis is not None:
                        total = int(await self.redis.incrby(f"{room.key}:likes", count))
                    else:
                        room.likes += count
                        total = room.likes
                    self.publish(room.live_id, {"type": "likes", "count": count, "total": total})
                except Exception as exc:
                    log.warning("likes of room %s not sent: %s", room.live_id, exc)

    async def _tick_loop(self) -> None:
        last_persist = last_watch = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            try:
                for room in list(self.rooms.values()):
                    await self._tick_viewers(room)
                now = time.monotonic()
                if now - last_persist >= PERSIST_SECONDS:
                    last_persist = now
                    await self._persist()
                if now - last_watch >= WATCH_EVERY_SECONDS:
                    last_watch = now
                    await self._watch_minute()
            except Exception:
                log.exception("room tick failed")

    async def _tick_viewers(self, room: Room) -> None:
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.hset(f"{room.key}:viewers", self.process, f"{len(room.members)}|{time.time()}")
                await self.redis.expire(f"{room.key}:viewers", 86400)
                users = [m.user_id for m in room.members if m.user_id is not None]
                if users:
                    await self._presence_add(room, users)
        viewers = await self._viewers(room)
        room.peak = max(room.peak, viewers)
        if viewers != room.viewers_sent:
            room.viewers_sent = viewers
            text = encode({"type": "viewers", "count": viewers, "peak": room.peak})
            for member in room.members:  # each process tells its own members
                member.push(text)

    def viewers_now(self, live_id: int) -> int:
        """The room's viewers at its last count (with Redis, every process's members), for pages
        and API bodies; 0 when nobody watches the room through this process."""
        room = self.rooms.get(live_id)
        return max(room.viewers_sent, 0) if room is not None else 0

    async def _viewers(self, room: Room) -> int:
        if self.redis is None:
            return len(room.members)
        try:
            counts = await self.redis.hgetall(f"{room.key}:viewers")
        except Exception:
            return len(room.members)
        total, now = 0, time.time()
        for proc, value in counts.items():
            proc_text = proc.decode() if isinstance(proc, bytes) else proc
            if proc_text == self.process:
                total += len(room.members)
                continue
            number, _, at = (value.decode() if isinstance(value, bytes) else value).partition("|")
            if now - float(at or 0) < VIEWERS_STALE_SECONDS:
                total += int(number)
        if self.process.encode() not in counts and self.process not in counts:
            total += len(room.members)
        return total

    async def _totals(self, room: Room) -> tuple[int, int]:
        if self.redis is None:
            return room.likes, room.shares
        try:
            likes, shares = await self.redis.mget(f"{room.key}:likes", f"{room.key}:shares")
            return int(likes or 0), int(shares or 0)
        except Exception:
            return room.likes, room.shares

    async def _presence_add(self, room: Room, user_ids: list[int]) -> None:
        assert self.redis is not None
        with contextlib.suppress(Exception):
            expiry = time.time() + 3 * VIEWERS_STALE_SECONDS
            await self.redis.zadd(f"{room.key}:present", {str(uid): expiry for uid in user_ids})
            await self.redis.expire(f"{room.key}:present", 86400)

    async def present_user_ids(self, live_id: int) -> set[int]:
        room = self.rooms.get(live_id)
        local = {m.user_id for m in room.members if m.user_id is not None} if room else set()
        if self.redis is None:
            return local
        key = room.key if room else None
        if key is None:
            async with self.db.unit_of_work(write=False) as db:
                key = await service.room_key(db, live_id)
            if key is None:
                return set()
        raw = await self.redis.zrangebyscore(f"{key}:present", time.time(), "+inf")
        return local | {int(item.decode() if isinstance(item, bytes) else str(item)) for item in raw}

    async def _persist(self, *, force: bool = False) -> None:
        for room in list(self.rooms.values()):
            await self._persist_room(room, force=force)

    async def _persist_room(self, room: Room, *, force: bool) -> None:
        if not (room.unsaved_likes or room.unsaved_shares or room.peak > room.peak_saved or room.unsaved_joins
                or room.unsaved_leaves or room.unsaved_comments):
            return
        likes, shares, peak = room.unsaved_likes, room.unsaved_shares, room.peak
        joins, leaves, comments = room.unsaved_joins, room.unsaved_leaves, room.unsaved_comments
        try:
            async with self.db.unit_of_work() as db:
                if likes or shares:
                    await service.add_counts(db, room.live_id, likes=likes, shares=shares)
                if peak > room.peak_saved:
                    await service.raise_peak(db, room.live_id, peak)
                await record_events(db, room_events(room.live_id, like=likes, share=shares, comment=comments,
                                                    live_join=joins, live_leave=leaves))
        except Exception as exc:  # the LIVE was deleted, or the database is away: try again later
            log.warning("room %s counters not saved: %s", room.live_id, exc)
            return
        room.unsaved_likes -= likes
        room.unsaved_shares -= shares
        room.unsaved_joins -= joins
        room.unsaved_leaves -= leaves
        room.unsaved_comments -= comments
        room.peak_saved = max(room.peak_saved, peak)

    async def _watch_minute(self) -> None:
        now = time.monotonic()
        for room in list(self.rooms.values()):
            spans = []
            for member in room.members:
                if member.user_id is not None and now - member.recorded >= WATCH_EVERY_SECONDS:
                    spans.append((member.user_id, now - member.recorded))
                    member.recorded = now
            await self._record_watch(room.live_id, spans)

    async def _record_watch(self, live_id: int, spans: list[tuple[int, float]]) -> None:
        recorders = presence.watch_recorders()
        spans = [(uid, seconds) for uid, seconds in spans if int(seconds) > 0]
        if not recorders or not spans:
            return
        try:
            async with self.db.unit_of_work() as db:
                for uid, seconds in spans:
                    for recorder in recorders:
                        await recorder(db, live_id, uid, int(seconds))
        except Exception:
            log.exception("watch time of room %s not recorded", live_id)
