"""Creators in plans: eligibility, joining open plans (at once or pending the seller's approval),
invitations to targeted plans that creators accept or decline, leaving and removal
(docs/affiliate.md, "Plans" and "Eligibility"). Every refusal writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import notifications
from mercato.accounts import repository as accounts_repository
from mercato.accounts.models import User
from mercato.accounts.service import require_adult
from mercato.affiliate import plans
from mercato.affiliate import repository as repo
from mercato.affiliate.errors import AffiliateError
from mercato.affiliate.models import AffiliateMembership, AffiliatePlan
from mercato.affiliate.presenters import commission_display
from mercato.catalog import repository as catalog_repository
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.kit.errors import Conflict, Forbidden, NotFound


def _now() -> datetime:
    return datetime.now(UTC)


def require_eligible(user: User, settings: Settings) -> None:
    """An adult (403 ``age_restricted``, R10) with at least ``affiliate_min_followers`` followers
    (403 ``not_enough_followers``)."""
    require_adult(user, settings, "join affiliate programs")
    if user.followers_count < settings.affiliate_min_followers:
        raise Forbidden(f"Affiliate plans need at least {settings.affiliate_min_followers:,} followers.",
                        code=AffiliateError.NOT_ENOUGH_FOLLOWERS,
                        details={"min_followers": settings.affiliate_min_followers,
                                 "followers": user.followers_count})


def plan_open_now(plan: AffiliatePlan, now: datetime) -> bool:
    return plan.status == "active" and (plan.ends_at is None or plan.ends_at > now)


async def get_plan(db: AsyncSession, plan_id: int) -> AffiliatePlan:
    found = await repo.plan(db, plan_id)
    if found is None:
        raise NotFound("No such plan.", code=AffiliateError.PLAN_NOT_FOUND)
    return found


async def _shop_owner_ids(db: AsyncSession, shop_id: int) -> list[int]:
    return [m.user_id for m in await catalog_repository.shop_members(db, shop_id)]


async def join(db: AsyncSession, user: User, plan_id: int, settings: Settings,
               message: str = "") -> AffiliateMembership:
    """Join an open plan: ``active`` at once, or ``pending`` when the plan needs approval (the
    shop's members are told). Accepting an invitation is :func:`respond`."""
    now = _now()
    plan = await get_plan(db, plan_id)
    if not plan_open_now(plan, now):
        raise Conflict("This plan is not open.", code=AffiliateError.PLAN_NOT_ACTIVE, details={"status": plan.status})
    if plan.kind != "open":
        raise Forbidden("This plan is by invitation only.", code=AffiliateError.PLAN_BY_INVITATION)
    if await catalog_repository.membership(db, plan.shop_id, user.id) is not None:
        raise Conflict("You already sell this shop's products.", code=AffiliateError.OWN_SHOP_PLAN)
    require_eligible(user, settings)
    member = await repo.membership(db, plan.id, user.id)
    if member is not None and member.status in ("active", "pending"):
        raise Conflict("You have already joined or asked to join this plan.", code=AffiliateError.ALREADY_IN_PLAN,
                       details={"status": member.status})
    if member is None:
        member = AffiliateMembership(plan_id=plan.id, creator_id=user.id, created_at=now, status="pending")
    member.message = message[:500]
    member.left_at = None
    if plan.requires_approval and (member.status != "invited"):
        member.status, member.decided_at, member.joined_at = "pending", None, None
        await repo.add(db, member)
        await notifications.notify(db, await _shop_owner_ids(db, plan.shop_id), kind="affiliate_request",
                                   subject_id=member.id,
                                   text=f"{user.display_name} asks to join your plan “{plan.name}”.",
                                   url=f"/seller/{await _slug(db, plan.shop_id)}/affiliate")
    else:
        member.status, member.decided_at, member.joined_at = "active", now, now
        await repo.add(db, member)
    return member


async def _slug(db: AsyncSession, shop_id: int) -> str:
    shops = await catalog_repository.shops_by_ids(db, [shop_id])
    return shops[shop_id].slug


async def invite(db: AsyncSession, shop: Shop, plan: AffiliatePlan, creator_ref: str | int,
                 message: str = "") -> AffiliateMembership:
    """Invite a creator (id or @handle) to a plan of the shop; they accept or decline. 404
    ``creator_not_found``; 409 already in it, own shop's member, or the plan not open."""
    now = _now()
    if not plan_open_now(plan, now):
        raise Conflict("This plan is not open.", code=AffiliateError.PLAN_NOT_ACTIVE, details={"status": plan.status})
    creator = await _creator(db, creator_ref)
    if await catalog_repository.membership(db, shop.id, creator.id) is not None:
        raise Conflict("This person is a member of your shop.", code=AffiliateError.OWN_SHOP_PLAN)
    member = await repo.membership(db, plan.id, creator.id)
    if member is not None and member.status in ("active", "invited"):
        raise Conflict("This creator is already in or invited to this plan.", code=AffiliateError.ALREADY_IN_PLAN,
                       details={"status": member.status})
    if member is None:
        member = AffiliateMembership(plan_id=plan.id, creator_id=creator.id, created_at=now, status="invited")
    member.status, member.message, member.decided_at, member.joined_at, member.left_at = (
        "invited", message[:500], None, None, None)
    await repo.add(db, member)
    await notifications.notify(db, [creator.id], kind="affiliate_invitation", subject_id=member.id,
                               text=f"{shop.name} invites you to its affiliate plan “{plan.name}”.",
                               url="/studio/affiliate")
    return member


async def _creator(db: AsyncSession, ref: str | int) -> User:
    found: User | None
    if isinstance(ref, int):
        found = await accounts_repository.user_by_id(db, ref)
    else:
        found = await accounts_repository.user_by_handle(db, ref.lstrip("@"))
    if found is None:
        raise NotFound("No such creator.", code=AffiliateError.CREATOR_NOT_FOUND)
    return found


async def _own(db: AsyncSession, user: User, membership_id: int) -> AffiliateMembership:
    member = await repo.membership_by_id(db, membership_id)
    if member is None or member.creator_id != user.id:
        raise NotFound("No such invitation.", code=AffiliateError.INVITATION_NOT_FOUND)
    return member


async def respond(db: AsyncSession, user: User, membership_id: int, accept: bool,
                  settings: Settings) -> AffiliateMembership:
    """The invited creator accepts (eligibility checked: 403 for a minor, nothing written) or
    declines; 404 for anything but their own open invitation."""
    now = _now()
    member = await _own(db, user, membership_id)
    if member.status != "invited":
        raise NotFound("No such invitation.", code=AffiliateError.INVITATION_NOT_FOUND)
    plan = await get_plan(db, member.plan_id)
    if accept:
        if not plan_open_now(plan, now):
            raise Conflict("This plan is not open.", code=AffiliateError.PLAN_NOT_ACTIVE,
                           details={"status": plan.status})
        require_eligible(user, settings)
        member.status, member.decided_at, member.joined_at = "active", now, now
    else:
        member.status, member.decided_at = "declined", now
    await db.flush()
    await notifications.notify(db, await _shop_owner_ids(db, plan.shop_id), kind="affiliate_answer",
                               subject_id=member.id,
                               text=f"{user.display_name} {'accepted' if accept else 'declined'} your invitation "
                                    f"to “{plan.name}”.",
                               url=f"/seller/{await _slug(db, plan.shop_id)}/affiliate")
    return member


async def leave(db: AsyncSession, user: User, plan_id: int) -> AffiliateMembership:
    member = await repo.membership(db, plan_id, user.id)
    if member is None or member.status not in ("active", "pending"):
        raise NotFound("You are not in this plan.", code=AffiliateError.MEMBERSHIP_NOT_FOUND)
    now = _now()
    if member.status == "active":
        member.status, member.left_at = "left", now
    else:
        member.status, member.decided_at = "declined", now
    await db.flush()
    return member


async def shop_membership(db: AsyncSession, shop: Shop, membership_id: int) -> tuple[AffiliateMembership,
                                                                                     AffiliatePlan]:
    member = await repo.membership_by_id(db, membership_id)
    plan = await repo.plan(db, member.plan_id) if member is not None else None
    if member is None or plan is None or plan.shop_id != shop.id:
        raise NotFound("No such member.", code=AffiliateError.MEMBERSHIP_NOT_FOUND)
    return member, plan


async def decide(db: AsyncSession, shop: Shop, membership_id: int, approve: bool,
                 settings: Settings) -> AffiliateMembership:
    """The seller approves or declines a pending request (409 ``membership_not_pending``)."""
    now = _now()
    member, plan = await shop_membership(db, shop, membership_id)
    if member.status != "pending":
        raise Conflict("This request is not pending.", code=AffiliateError.MEMBERSHIP_NOT_PENDING,
                       details={"status": member.status})
    if approve:
        if not plan_open_now(plan, now):
            raise Conflict("This plan is not open.", code=AffiliateError.PLAN_NOT_ACTIVE,
                           details={"status": plan.status})
        member.status, member.decided_at, member.joined_at = "active", now, now
    else:
        member.status, member.decided_at = "declined", now
    await db.flush()
    await notifications.notify(db, [member.creator_id], kind="affiliate_decision", subject_id=member.id,
                               text=f"{shop.name} {'approved' if approve else 'declined'} your request to join "
                                    f"“{plan.name}”.", url="/studio/affiliate")
    return member


async def remove(db: AsyncSession, shop: Shop, membership_id: int) -> AffiliateMembership:
    """The seller removes a member (or withdraws an invitation)."""
    member, _plan = await shop_membership(db, shop, membership_id)
    now = _now()
    if member.status == "active":
        member.status, member.left_at = "left", now
    elif member.status in ("invited", "pending"):
        member.status, member.decided_at = "declined", now
    else:
        raise Conflict("This creator is not in the plan.", code=AffiliateError.MEMBERSHIP_NOT_PENDING,
                       details={"status": member.status})
    await db.flush()
    return member


async def visible_plan(db: AsyncSession, user: User, plan_id: int) -> AffiliatePlan:
    """An open plan, a plan the caller has a membership row in, or a plan of their shop; else 404."""
    plan = await get_plan(db, plan_id)
    if plan.kind == "open" or await repo.membership(db, plan.id, user.id) is not None:
        return plan
    if await catalog_repository.membership(db, plan.shop_id, user.id) is not None:
        return plan
    raise NotFound("No such plan.", code=AffiliateError.PLAN_NOT_FOUND)


async def terms_view(db: AsyncSession, user: User, product_id: int, now: datetime) -> dict[str, object]:
    """The caller's terms on a product now, whether they may promote it, and the open plans they
    could join for it (the product sheet's "earn X %")."""
    shop_id = (await repo.product_shops(db, [product_id])).get(product_id)
    if shop_id is None:
        raise NotFound("No such product.")
    terms = await plans.terms_for(db, creator_id=user.id, product_id=product_id, at=now)
    joinable = [p.id for p in await repo.plans_covering(db, product_id, shop_id, now) if p.kind == "open"]
    return {"product_id": product_id, "may_promote": await plans.may_promote(db, user.id, product_id),
            "plan_id": terms.plan_id if terms else None, "rate_bps": terms.rate_bps if terms else None,
            "flat_fee": terms.flat_fee if terms else None, "currency": terms.currency if terms else None,
            "promoting_since": terms.promoting_since if terms else None, "joinable_plan_ids": joinable,
            "commission_display": commission_display(terms.rate_bps, terms.flat_fee, terms.currency) if terms else None}
