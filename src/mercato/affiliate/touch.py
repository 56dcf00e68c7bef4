"""Call sites the attribution side of the affiliate program fills (docs/affiliate.md, "Showcase"):
this branch builds the places where a creator drives a sale, the commissions branch records them.

- ``register_showcase_visit(fn)``: ``fn(visit)`` for every view of a creator's showcase
  (``/@handle/showcase``, ``GET /api/v1/creators/{handle}/showcase``), inside the request's unit of
  work; ``visit.cookies`` lets it ask the page to set cookies (a signed touchpoint token).
- ``register_gmv_source(fn)``: ``fn(db, creator_ids, currency)`` → ``{creator_id: amount}`` in
  minor units: the GMV each creator drove, which the creator marketplace shows and sorts by
  (0 while none is registered).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class ShowcaseVisit:
    db: AsyncSession
    creator_id: int
    viewer_id: int | None
    product_ids: list[int]
    #: (name, value, max_age_seconds) the page sets on its answer
    cookies: list[tuple[str, str, int]] = field(default_factory=list)
    #: request cookies (the visitor's existing touchpoint token, if any)
    request_cookies: dict[str, str] = field(default_factory=dict)


ShowcaseVisitHook = Callable[[ShowcaseVisit], Awaitable[None]]
GmvSource = Callable[[AsyncSession, Sequence[int], str], Awaitable[dict[int, int]]]

_visits: list[ShowcaseVisitHook] = []
_gmv: list[GmvSource] = []


def register_showcase_visit(fn: ShowcaseVisitHook) -> ShowcaseVisitHook:
    if fn not in _visits:
        _visits.append(fn)
    return fn


def register_gmv_source(fn: GmvSource) -> GmvSource:
    """The last one registered answers. Idempotent."""
    if fn not in _gmv:
        _gmv.append(fn)
    return fn


async def showcase_visited(visit: ShowcaseVisit) -> None:
    for fn in list(_visits):
        await fn(visit)


async def gmv_of(db: AsyncSession, creator_ids: Sequence[int], currency: str) -> dict[int, int]:
    if not _gmv or not creator_ids:
        return {cid: 0 for cid in creator_ids}
    found = await _gmv[-1](db, creator_ids, currency)
    return {cid: int(found.get(cid, 0)) for cid in creator_ids}
