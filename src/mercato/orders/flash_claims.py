"""In-flight claims of the flash-sale gate: units admitted towards the write path, not yet done.

The gate (``orders/flash_gate.py``) reads the committed availability ``A`` of a variant on
every buy. ``A`` does not yet count buyers who passed a moment ago and are still queued for the
database; without claims every one of them passes while ``A > 0``, and after the last unit is
committed the queue still holds dozens of buys that each run a write transaction only to be
refused. A claim makes the gate answer what those buys will get: admit while
``A − (units claimed in flight) ≥ q``, refuse otherwise. In one step (a Lua script on Redis, so
every app process shares the count; a dict in process memory without Redis):

1. drop claims past their deadline (a crashed process's claims expire);
2. a holder (``user id`` + ``Idempotency-Key``) that already has a claim passes again: the
   route then replays or answers ``409 idempotency_in_progress`` as usual (docs/orders.md, "Idempotency");
3. check ``A − in-flight ≥ q``; if so record the holder with ``q`` units (the buyer, and the
   "decrement" of what is left) and admit; else refuse, with what is left.

The claim is dropped as soon as the buy's transaction has committed or rolled back (the route
registers the gate's ``DROP_CLAIM`` with ``kit.db.on_end``; the gate drops it after the answer
otherwise), so a committed reservation is not counted a second time as a claim while its
answer is still on its way. **The database stays the only source of truth**: the guarded ``UPDATE`` in
``inventory.reserve`` alone decides who gets a unit; a claim never sells anything, and nothing
needs to be kept in sync on expiry, cancellation or restock, because ``A`` is read from the
database on every buy and claims only live while a request is under way (at most
``CLAIM_SECONDS`` if a process dies mid-request). The only possible wrong answer is a refusal
while claimed units are still in flight and one of those buys then fails for another reason
: the unit is then sold to the next buyer, never lost and never oversold.

Redis keys carry the variant's creation time as well as its id, so that a variant id reused
after a reset of the database (tests, demo) never meets the claims of its predecessor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

#: How long a claim lives at most: longer than any request waits for the write path.
CLAIM_SECONDS = 30.0

CLAIM_SCRIPT = """
local now = tonumber(ARGV[1])
local deadline = tonumber(ARGV[2])
local available = tonumber(ARGV[3])
local quantity = tonumber(ARGV[4])
local holder = ARGV[5]
local ttl = tonumber(ARGV[6])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('HDEL', KEYS[2], unpack(expired))
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
end
if redis.call('ZSCORE', KEYS[1], holder) then
  return -2
end
local claimed = 0
for _, units in ipairs(redis.call('HVALS', KEYS[2])) do
  claimed = claimed + tonumber(units)
end
local left = available - claimed
if left < quantity then
  if left < 0 then left = 0 end
  return left
end
redis.call('ZADD', KEYS[1], deadline, holder)
redis.call('HSET', KEYS[2], holder, quantity)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return -1
"""

RELEASE_SCRIPT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


#: Answers of :meth:`Claims.claim` besides "refused, this many left" (≥ 0).
ADMITTED = -1  # a claim is now held for the holder: release it when the route has answered
ALREADY_HELD = -2  # the holder's earlier request still holds one: pass, but do not release it


class Claims(Protocol):
    async def claim(self, variant: str, holder: str, available: int, quantity: int) -> int:
        """:data:`ADMITTED`, :data:`ALREADY_HELD`, or refused: the units left unclaimed (≥ 0)."""

    async def release(self, variant: str, holder: str) -> None:
        """Drop the claim (once the buy's transaction has ended, or after the route answered)."""


@dataclass
class LocalClaims:
    """Claims in this process's memory (no Redis): exact for one process."""

    seconds: float = CLAIM_SECONDS
    held: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)

    async def claim(self, variant: str, holder: str, available: int, quantity: int) -> int:
        now = time.monotonic()
        claims = self.held.setdefault(variant, {})
        for other in [h for h, (_, deadline) in claims.items() if deadline <= now]:
            del claims[other]
        if holder in claims:
            return ALREADY_HELD
        left = available - sum(units for units, _ in claims.values())
        if left < quantity:
            return max(0, left)
        claims[holder] = (quantity, now + self.seconds)
        return ADMITTED

    async def release(self, variant: str, holder: str) -> None:
        self.drop(variant, holder)

    def drop(self, variant: str, holder: str) -> None:
        claims = self.held.get(variant)
        if claims is not None:
            claims.pop(holder, None)
            if not claims:
                del self.held[variant]


class RedisClaims:
    """Claims in Redis, shared by every app process (one Lua script per claim, one per release)."""

    def __init__(self, redis: Any, seconds: float = CLAIM_SECONDS, prefix: str = "mercato:flash") -> None:
        self.redis = redis
        self.seconds = seconds
        self.prefix = prefix
        self._claim = redis.register_script(CLAIM_SCRIPT)
        self._release = redis.register_script(RELEASE_SCRIPT)

    def keys(self, variant: str) -> list[str]:
        return [f"{self.prefix}:{{{variant}}}:deadlines", f"{self.prefix}:{{{variant}}}:units"]

    async def claim(self, variant: str, holder: str, available: int, quantity: int) -> int:
        now_ms = int(time.time() * 1000)
        ttl_ms = int(self.seconds * 1000)
        return int(await self._claim(keys=self.keys(variant),
                                     args=[now_ms, now_ms + ttl_ms, available, quantity, holder, ttl_ms]))

    async def release(self, variant: str, holder: str) -> None:
        await self._release(keys=self.keys(variant), args=[holder])
