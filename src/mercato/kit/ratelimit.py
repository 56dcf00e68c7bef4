"""Rate limits: one table of rules, one limiter, one answer (``429 rate_limited`` + ``Retry-After``).

Every throttled action is a :class:`Rule` in :data:`RULES`: a name, who is counted (the signed-in
user, the client address or the shop the route acts on) and the setting holding its rates
(``rate_limit_<name>``, e.g. ``MERCATO_RATE_LIMIT_COMMENT="20/minute;500/day"`` in the syntax of
the ``limits`` package: every rate of the list must hold). Routes declare a rule with
``accounts.deps.rate_limited(name)`` (or call :meth:`RateLimiter.check` where the caller is
already known); pages hitting the same services declare the same rule, so a form and the API
share one budget.

Counting is the ``limits`` package's moving window: exact ("no more than N in any span of the
window"), and the time until the oldest counted hit leaves the window is the ``Retry-After``.
The counts live in the process (``memory://``) by default, or in Redis when ``REDIS_URL`` is
set, so that every app process shares one budget. A refused request is not counted (its
windows are tested before any is hit); an allowed one counts even when the route then fails
(a wrong current password is exactly what must be counted). If Redis cannot be reached the
request is let through and a warning logged: throttling protects the service and must not be
the reason it is down.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import count
from typing import Literal

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.storage.memory import Entry
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from starlette.requests import Request

from mercato.config import Settings
from mercato.kit.errors import KitError, TooManyRequests

log = logging.getLogger("mercato.ratelimit")

Scope = Literal["user", "ip", "shop"]


@dataclass(frozen=True)
class Rule:
    """One throttled action. ``scope``: ``user`` counts per signed-in user (per client address
    when anonymous), ``ip`` per client address, ``shop`` per shop (the route's ``slug``)."""

    name: str
    scope: Scope
    message: str

    @property
    def setting(self) -> str:
        return f"rate_limit_{self.name}"


#: Every rate-limited action (docs/api.md lists the routes of each). Login failures keep their own
#: throttle (``login_max_failures_per_email``), which counts failures only.
RULES: dict[str, Rule] = {rule.name: rule for rule in (
    Rule("signup", "ip", "Too many accounts were created from your network."),
    Rule("password", "user", "Too many password changes were tried."),
    Rule("comment", "user", "You are commenting too fast."),
    Rule("share", "user", "You are sharing too fast."),
    Rule("follow", "user", "You are following and unfollowing too fast."),
    Rule("report", "user", "You have sent too many reports."),
    Rule("coupon", "user", "Too many coupon codes were tried."),
    Rule("search", "user", "You are searching too fast."),
    Rule("feed_events", "user", "Too many engagement reports."),
    Rule("checkout", "user", "Too many checkouts were started."),
    Rule("live_buy", "user", "You are buying too fast in this LIVE."),
    Rule("shop_import", "shop", "This shop has started too many imports."),
    Rule("live_chat", "user", "You are chatting too fast."),
    Rule("live_like", "user", "You are liking too fast."),
    Rule("analytics_beacons", "user", "Too many analytics beacons."),
)}

_namespaces = count(1)
#: How the OpenAPI document describes a rate-limited operation's 429.
RATE_LIMITED = "Rate limited (`rate_limited`): retry after `Retry-After` seconds (docs/api.md, \"Rate limits\")."
SWEEP_SECONDS = 60.0


class ProcessStorage(MemoryStorage):
    """``limits``' in-process storage for the moving window, without its expiry task: that task
    walks every key after every hit, each with a thread hop, so under load (one key per buyer)
    it keeps a thread busy. Here a key keeps only its newest ``limit`` entries (all a moving
    window reads), and keys whose entries have all expired are dropped once a minute."""

    STORAGE_SCHEME = ["async+mercato-process"]

    def __init__(self) -> None:
        super().__init__()
        self.next_sweep = time.time() + SWEEP_SECONDS

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        if now >= self.next_sweep:
            self.sweep(now)
        # No await from the read to the write: atomic on the event loop, no lock needed.
        events = self.events.setdefault(key, [])
        boundary = events[limit - amount] if len(events) > limit - amount else None
        if boundary is not None and boundary.atime >= now - expiry:
            return False
        events[:0] = [Entry(expiry)] * amount
        del events[limit:]
        return True

    def sweep(self, now: float) -> None:
        self.next_sweep = now + SWEEP_SECONDS
        for key in [key for key, events in self.events.items() if not events or events[0].expiry <= now]:
            del self.events[key]
            self.locks.pop(key, None)


def rates_of(settings: Settings, overrides: Mapping[str, str] | None = None) -> dict[str, list[RateLimitItem]]:
    """The parsed rates of every rule (``overrides`` by rule name first): a bad setting fails
    at start-up, not on the first request that needs it."""
    out: dict[str, list[RateLimitItem]] = {}
    for name, rule in RULES.items():
        text = (overrides or {}).get(name) or str(getattr(settings, rule.setting))
        try:
            out[name] = parse_many(text)
        except ValueError as exc:
            raise ValueError(f"{rule.setting.upper()} is not a rate such as '20/minute;500/day': {text!r}") from exc
    return out


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 90 * 60:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


class RateLimiter:
    """The app's limiter (``app.state.rate_limiter``): the rules' rates and where hits are counted."""

    def __init__(self, settings: Settings, *, overrides: Mapping[str, str] | None = None) -> None:
        self.rates = rates_of(settings, overrides)
        self.shared = settings.redis_url is not None
        self.storage: Storage
        if settings.redis_url:
            self.storage = RedisStorage(
                "async+" + settings.redis_url, implementation="redispy", key_prefix="mercato:ratelimit",
                wrap_exceptions=True, socket_timeout=2.0, socket_connect_timeout=2.0,
            )
        else:
            self.storage = ProcessStorage()
        self.window = MovingWindowRateLimiter(self.storage)
        self.namespace = "1"

    def forget(self) -> None:
        """Start counting afresh in this limiter (a new key space; old counts expire unread).
        Other limiters sharing the Redis keep their namespace, hence their counts."""
        self.namespace = f"n{next(_namespaces)}"

    async def check(self, rule_name: str, request: Request, *, user_id: int | None = None,
                    shop: str | None = None) -> None:
        """Count one request under ``rule_name`` or raise ``429 rate_limited`` (nothing counted)."""
        rule = RULES[rule_name]
        if rule.scope == "shop" and shop is not None:
            who = f"shop:{shop}"
        elif rule.scope == "user" and user_id is not None:
            who = f"user:{user_id}"
        else:
            who = f"ip:{request.client.host if request.client else 'unknown'}"
        await self.hit(rule, who)

    async def hit(self, rule: Rule, who: str) -> None:
        items = self.rates[rule.name]
        keys = (self.namespace, rule.name, who)
        try:
            for item in items:
                if not await self.window.test(item, *keys):
                    raise self._refusal(rule, item, await self._wait(item, keys))
            for item in items:
                if not await self.window.hit(item, *keys):  # another request took the last place meanwhile
                    raise self._refusal(rule, item, await self._wait(item, keys))
        except StorageError as exc:
            log.warning("rate limit %s not applied: the limiter's storage failed (%s)", rule.name, exc)

    async def _wait(self, item: RateLimitItem, keys: tuple[str, ...]) -> int:
        stats = await self.window.get_window_stats(item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))

    @staticmethod
    def _refusal(rule: Rule, item: RateLimitItem, wait: int) -> TooManyRequests:
        return TooManyRequests(
            f"{rule.message} Try again in {_wait_text(wait)}.", code=KitError.RATE_LIMITED, retry_after=wait,
            details={"rule": rule.name, "limit": str(item)},
        )

    async def aclose(self) -> None:
        if isinstance(self.storage, RedisStorage):
            client = getattr(self.storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()


def rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter
