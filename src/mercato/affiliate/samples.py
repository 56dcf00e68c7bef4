"""Free samples (docs/affiliate.md, "Samples"): a creator in a plan asks for one unit of one of its
products; the seller approves — a zero-price order through the orders domain
(``orders.samples.place_sample_order``: stock reserved and allocated, no payment, no fee) — or
declines. The creator is reminded to post about it ``affiliate_sample_post_days`` after approval
(the ``remind_samples`` job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import notifications
from mercato.accounts import repository as accounts_repository
from mercato.accounts.models import User
from mercato.affiliate import repository as repo
from mercato.affiliate.errors import AffiliateError
from mercato.affiliate.memberships import get_plan, plan_open_now
from mercato.affiliate.models import AffiliatePlan, AffiliateSampleRequest
from mercato.catalog import repository as catalog_repository
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mercato.orders import repository as orders_repository
from mercato.orders import samples as order_samples
from mercato.orders.errors import OrdersError


def _now() -> datetime:
    return datetime.now(UTC)


async def covers(db: AsyncSession, plan: AffiliatePlan, product_id: int) -> bool:
    if plan.scope == "shop":
        return (await repo.product_shops(db, [product_id])).get(product_id) == plan.shop_id
    return product_id in await repo.plan_product_ids(db, plan.id)


async def _shop_url(db: AsyncSession, shop_id: int) -> str:
    return f"/seller/{(await catalog_repository.shops_by_ids(db, [shop_id]))[shop_id].slug}/affiliate"


async def request(db: AsyncSession, user: User, *, plan_id: int, variant_id: int, address_id: int,
                  note: str = "") -> AffiliateSampleRequest:
    """403 ``product_not_promotable`` unless the creator is active in the plan and the plan covers
    the variant's product; 404 ``address_not_found``; 409 an open request for the same variant."""
    now = _now()
    plan = await get_plan(db, plan_id)
    if not plan_open_now(plan, now):
        raise Conflict("This plan is not open.", code=AffiliateError.PLAN_NOT_ACTIVE, details={"status": plan.status})
    line = await catalog_repository.purchase_line(db, variant_id)
    if line is None:
        raise ValidationFailed("No such product variant.", code=OrdersError.PRODUCT_UNAVAILABLE,
                               details={"variant_id": variant_id})
    product_id = int(line[1])
    member = await repo.membership(db, plan.id, user.id)
    if member is None or member.status != "active" or not await covers(db, plan, product_id):
        raise Forbidden("Samples are for creators in a plan covering this product.",
                        code=AffiliateError.NOT_PROMOTABLE, details={"product_id": product_id})
    address = await orders_repository.address(db, address_id)
    if address is None or address.user_id != user.id:
        raise NotFound("No such address.", code=OrdersError.ADDRESS_NOT_FOUND)
    if await repo.open_sample(db, user.id, variant_id) is not None:
        raise Conflict("You already asked for this sample.", code=AffiliateError.SAMPLE_ALREADY_REQUESTED)
    row = AffiliateSampleRequest(plan_id=plan.id, shop_id=plan.shop_id, product_id=product_id, variant_id=variant_id,
                                 creator_id=user.id, address_id=address_id, note=note[:500], status="requested",
                                 created_at=now, updated_at=now)
    await repo.add(db, row)
    await notifications.notify(db, [m.user_id for m in await catalog_repository.shop_members(db, plan.shop_id)],
                               kind="affiliate_sample", subject_id=row.id,
                               text=f"{user.display_name} asks for a free sample.",
                               url=await _shop_url(db, plan.shop_id))
    return row


async def shop_sample(db: AsyncSession, shop: Shop, sample_id: int) -> AffiliateSampleRequest:
    found = await repo.sample(db, sample_id)
    if found is None or found.shop_id != shop.id:
        raise NotFound("No such sample request.", code=AffiliateError.SAMPLE_NOT_FOUND)
    return found


async def decide(db: AsyncSession, shop: Shop, sample_id: int, approve: bool,
                 settings: Settings) -> AffiliateSampleRequest:
    """Approve (the zero-price order is placed now: 409 ``out_of_stock`` leaves the request
    as it was) or decline a requested sample (409 ``sample_not_requested`` otherwise)."""
    now = _now()
    row = await shop_sample(db, shop, sample_id)
    if row.status != "requested":
        raise Conflict("This sample request was already answered.", code=AffiliateError.SAMPLE_NOT_REQUESTED,
                       details={"status": row.status})
    if approve:
        creator = await accounts_repository.user_by_id(db, row.creator_id)
        assert creator is not None
        order = await order_samples.place_sample_order(db, creator, variant_id=row.variant_id,
                                                       address_id=row.address_id,
                                                       note=f"Free sample for a creator (request #{row.id}).",
                                                       now=now)
        row.status, row.order_id = "approved", order.id
        row.post_by = now + timedelta(days=settings.affiliate_sample_post_days)
    else:
        row.status = "declined"
    row.decided_at, row.updated_at = now, now
    await db.flush()
    text = (f"{shop.name} is sending you a free sample: post about it within "
            f"{settings.affiliate_sample_post_days} days." if approve else f"{shop.name} declined your sample request.")
    await notifications.notify(db, [row.creator_id], kind="affiliate_sample_answer", subject_id=row.id, text=text,
                               url="/studio/affiliate")
    return row


async def remind_due(db: AsyncSession, now: datetime | None = None) -> int:
    """The job: creators whose posting window for an approved sample has passed are reminded once."""
    now = now or _now()
    due = await repo.samples_to_remind(db, now, 200)
    for row in due:
        row.reminded_at = now
        await notifications.notify(db, [row.creator_id], kind="affiliate_sample_reminder", subject_id=row.id,
                                   text="Reminder: post a video or LIVE featuring the free sample you received.",
                                   url="/studio/affiliate")
    await db.flush()
    return len(due)
