"""Affiliate plans: the terms a creator earns on a product, who may promote what, and the seller's
plan editing (docs/affiliate.md, "Plans").

The two functions other domains build on (the attribution and commissions of the money branch,
the anchoring permission of content and LIVE):

- ``terms_for(db, creator_id=, product_id=, at=)`` → ``PlanTerms | None``: the commission a
  creator earns on the product for a touchpoint at ``at`` — the rate-cut rule applied;
- ``may_promote(db, creator_id, product_id)`` → whether the creator may anchor, showcase or pin it
  now (a member of the product's shop, or active in a live plan covering it).

**Promoting since.** A creator has promoted a product under a plan since the later of their
``joined_at`` in the plan and the moment the product was added to it (``AffiliatePlanProduct.added_at``;
a whole-shop plan: ``joined_at``). **Rate changes** are walked in order from the plan's creation:
a change that gives the creator at least their current terms applies at once (a rise); a change
that gives less (a cut) applies only to a creator who, at the change's ``effective_at``, had been
promoting the product for less than ``affiliate_rate_cut_days`` (30) days — the others keep the
terms they had. A creator who joins after a cut simply gets the plan's rate of that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import repository as repo
from mercato.affiliate.errors import AffiliateError
from mercato.affiliate.models import AffiliateMembership, AffiliatePlan, AffiliateRateChange
from mercato.catalog.models import Shop
from mercato.config import Settings, get_settings
from mercato.kit.errors import Conflict, NotFound, ValidationFailed

MIN_RATE_BPS = 100  # 1 %
MAX_RATE_BPS = 8000  # 80 %


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What a creator earns on one item: ``rate_bps`` of the price paid or a ``flat_fee`` (minor
    units of ``currency``, the shop's) — exactly one is set."""

    plan_id: int
    rate_bps: int | None
    flat_fee: int | None
    currency: str
    kind: str  # the plan's kind: open | targeted
    promoting_since: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _amount(rate_bps: int | None, flat_fee: int | None) -> int:
    return rate_bps if rate_bps is not None else (flat_fee or 0)


def creator_terms(history: Sequence[AffiliateRateChange], since: datetime, at: datetime,
                  protect_days: int) -> tuple[int | None, int | None] | None:
    """The (rate_bps, flat_fee) a creator promoting since ``since`` has at ``at`` under a plan
    whose changes are ``history`` (oldest first); None before the plan's first terms."""
    current: tuple[int | None, int | None] | None = None
    protect = timedelta(days=protect_days)
    for change in history:
        if change.effective_at > at:
            break
        new = (change.rate_bps, change.flat_fee)
        if current is None or _amount(*new) >= _amount(*current) or change.effective_at - since < protect:
            current = new
    return current


def _plan_live_at(plan: AffiliatePlan, at: datetime) -> bool:
    if plan.status == "paused":
        return False
    if plan.ended_at is not None and plan.ended_at <= at:
        return False
    if plan.ends_at is not None and plan.ends_at <= at:
        return False
    return plan.created_at <= at


def _member_at(member: AffiliateMembership, at: datetime) -> bool:
    if member.joined_at is None or member.joined_at > at:
        return False
    if member.status == "active":
        return True
    return member.status == "left" and member.left_at is not None and member.left_at > at


async def terms_for(db: AsyncSession, *, creator_id: int, product_id: int, at: datetime,
                    settings: Settings | None = None) -> PlanTerms | None:
    """The terms the creator earns on the product for a touchpoint at ``at``, or None (not in a
    plan covering it then, the product of their own shop, a paused plan). Several plans: a
    targeted plan before an open one, then the larger commission, then the older plan."""
    settings = settings or get_settings()
    shops = await repo.product_shops(db, [product_id])
    shop_id = shops.get(product_id)
    if shop_id is None or await repo.member_shop_ids(db, creator_id, [shop_id]):
        return None
    candidates = [(m, p, added) for m, p, added in await repo.covering_memberships(db, creator_id, product_id, shop_id)
                  if _member_at(m, at) and _plan_live_at(p, at) and (added is None or added <= at)]
    if not candidates:
        return None
    history = await repo.rate_history(db, [p.id for _, p, _ in candidates])
    found: list[PlanTerms] = []
    for member, plan, added in candidates:
        assert member.joined_at is not None
        since = max(member.joined_at, added) if added is not None else member.joined_at
        terms = creator_terms(history[plan.id], since, at, settings.affiliate_rate_cut_days)
        if terms is not None:
            found.append(PlanTerms(plan_id=plan.id, rate_bps=terms[0], flat_fee=terms[1], currency=plan.currency,
                                   kind=plan.kind, promoting_since=since))
    if not found:
        return None
    found.sort(key=lambda t: (t.kind != "targeted", -_amount(t.rate_bps, t.flat_fee), t.plan_id))
    return found[0]


async def may_promote(db: AsyncSession, creator_id: int, product_id: int) -> bool:
    """Whether the creator may anchor, showcase or pin the product now: of a shop they belong to,
    or covered by a live plan (active, not past its end date) they are active in."""
    return product_id in await repo.promotable_ids(db, creator_id, [product_id], _now())


async def promotable_ids(db: AsyncSession, creator_id: int, product_ids: Sequence[int]) -> set[int]:
    """``may_promote`` for several products in one query."""
    return await repo.promotable_ids(db, creator_id, product_ids, _now())


# --- the seller's plans -------------------------------------------------------------------------


def check_commission(kind: str, rate_bps: int | None, flat_fee: int | None) -> None:
    """Exactly one of a rate (1–80 %, 100–8000 bps) or, for a targeted plan, a flat fee > 0."""
    if (rate_bps is None) == (flat_fee is None):
        raise ValidationFailed("Give a commission rate or a flat fee.", code=AffiliateError.INVALID_COMMISSION)
    if rate_bps is not None and not MIN_RATE_BPS <= rate_bps <= MAX_RATE_BPS:
        raise ValidationFailed("The commission rate must be between 1 % and 80 %.",
                               code=AffiliateError.INVALID_COMMISSION,
                               details={"min_bps": MIN_RATE_BPS, "max_bps": MAX_RATE_BPS})
    if flat_fee is not None:
        if kind != "targeted":
            raise ValidationFailed("Only a targeted plan pays a flat fee.", code=AffiliateError.INVALID_COMMISSION)
        if flat_fee <= 0:
            raise ValidationFailed("The flat fee must be positive.", code=AffiliateError.INVALID_COMMISSION)


async def _checked_products(db: AsyncSession, shop: Shop, product_ids: Sequence[int]) -> list[int]:
    ordered = list(dict.fromkeys(product_ids))
    found = {p.id for p in await repo.shop_products(db, shop.id, ordered)}
    missing = [pid for pid in ordered if pid not in found]
    if missing:
        raise ValidationFailed("These products are not of this shop.", code=AffiliateError.INVALID_PLAN_PRODUCTS,
                               details={"product_ids": missing})
    return ordered


async def create_plan(db: AsyncSession, shop: Shop, *, name: str, kind: str, scope: str,
                      product_ids: Sequence[int], rate_bps: int | None, flat_fee: int | None,
                      requires_approval: bool, ends_at: datetime | None, description: str = "",
                      now: datetime | None = None) -> AffiliatePlan:
    now = now or _now()
    check_commission(kind, rate_bps, flat_fee)
    if scope == "products" and not product_ids:
        raise ValidationFailed("Choose the plan's products (or the whole shop).",
                               code=AffiliateError.INVALID_PLAN_PRODUCTS)
    if ends_at is not None and ends_at <= now:
        raise ValidationFailed("The end date must be in the future.", code=AffiliateError.INVALID_END_DATE)
    if kind == "targeted" and ends_at is None:
        raise ValidationFailed("A targeted plan needs an end date.", code=AffiliateError.INVALID_END_DATE)
    ordered = await _checked_products(db, shop, product_ids) if scope == "products" else []
    plan = AffiliatePlan(shop_id=shop.id, name=name, kind=kind, scope=scope, rate_bps=rate_bps, flat_fee=flat_fee,
                         currency=shop.currency, requires_approval=requires_approval if kind == "open" else False,
                         status="active", ends_at=ends_at, description=description, created_at=now, updated_at=now)
    await repo.add(db, plan)
    await repo.add(db, AffiliateRateChange(plan_id=plan.id, rate_bps=rate_bps, flat_fee=flat_fee, effective_at=now))
    await repo.add_plan_products(db, plan.id, ordered, now)
    return plan


async def shop_plan(db: AsyncSession, shop: Shop, plan_id: int) -> AffiliatePlan:
    found = await repo.plan(db, plan_id)
    if found is None or found.shop_id != shop.id:
        raise NotFound("No such plan.", code=AffiliateError.PLAN_NOT_FOUND)
    return found


async def update_plan(db: AsyncSession, plan: AffiliatePlan, *, name: str | None = None,
                      description: str | None = None, rate_bps: int | None = None, flat_fee: int | None = None,
                      requires_approval: bool | None = None, ends_at: datetime | None = None,
                      add_product_ids: Sequence[int] = (), remove_product_ids: Sequence[int] = (),
                      shop: Shop, now: datetime | None = None) -> AffiliatePlan:
    """Edit a plan. A new commission is a rate change from ``now`` (the rule in the module's
    docstring decides who gets it); the commission's form (rate or flat fee) never changes."""
    now = now or _now()
    if plan.status == "ended":
        raise Conflict("This plan has ended.", code=AffiliateError.PLAN_ENDED)
    if rate_bps is not None or flat_fee is not None:
        if (rate_bps is not None and plan.rate_bps is None) or (flat_fee is not None and plan.flat_fee is None):
            raise ValidationFailed("A plan keeps its form of commission (rate or flat fee).",
                                   code=AffiliateError.INVALID_COMMISSION)
        check_commission(plan.kind, rate_bps, flat_fee)
        if (rate_bps, flat_fee) != (plan.rate_bps, plan.flat_fee):
            plan.rate_bps, plan.flat_fee = rate_bps, flat_fee
            await repo.add(db, AffiliateRateChange(plan_id=plan.id, rate_bps=rate_bps, flat_fee=flat_fee,
                                                   effective_at=now))
    if ends_at is not None:
        if ends_at <= now:
            raise ValidationFailed("The end date must be in the future.", code=AffiliateError.INVALID_END_DATE)
        plan.ends_at = ends_at
    if name is not None:
        plan.name = name
    if description is not None:
        plan.description = description
    if requires_approval is not None and plan.kind == "open":
        plan.requires_approval = requires_approval
    if add_product_ids or remove_product_ids:
        if plan.scope != "products":
            raise ValidationFailed("A whole-shop plan covers every product.",
                                   code=AffiliateError.INVALID_PLAN_PRODUCTS)
        await repo.add_plan_products(db, plan.id, await _checked_products(db, shop, add_product_ids), now)
        await repo.remove_plan_products(db, plan.id, list(remove_product_ids))
        if not await repo.plan_product_ids(db, plan.id):
            raise ValidationFailed("A plan keeps at least one product.", code=AffiliateError.INVALID_PLAN_PRODUCTS)
    plan.updated_at = now
    await db.flush()
    return plan


async def set_status(db: AsyncSession, plan: AffiliatePlan, status: str, now: datetime | None = None) -> AffiliatePlan:
    """Pause (no new terms, no joins), resume, or end (final: members leave, invitations lapse)."""
    now = now or _now()
    if plan.status == "ended":
        raise Conflict("This plan has ended.", code=AffiliateError.PLAN_ENDED)
    if status == "ended":
        plan.ended_at = now
        await repo.end_memberships(db, plan.id, now)
    plan.status = status
    plan.updated_at = now
    await db.flush()
    return plan
