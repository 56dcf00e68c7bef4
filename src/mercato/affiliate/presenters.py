"""Affiliate rows → API bodies (pages and the API share them), in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import repository as repo
from mercato.affiliate.models import AffiliateMembership, AffiliatePlan, AffiliateSampleRequest
from mercato.catalog import presenters as catalog_presenters
from mercato.catalog import repository as catalog_repository
from mercato.content.presenters import creator_out
from mercato.kit.money import format_money


def commission_display(rate_bps: int | None, flat_fee: int | None, currency: str) -> str:
    """``12.5 %`` or ``$2.50 per item``."""
    if rate_bps is not None:
        whole, part = divmod(rate_bps, 100)
        return f"{whole} %" if part == 0 else f"{rate_bps / 100:g} %"
    return f"{format_money(flat_fee or 0, currency)} per item"


async def plan_outs(db: AsyncSession, plans: Sequence[AffiliatePlan], viewer_id: int | None = None
                    ) -> list[dict[str, Any]]:
    ids = [p.id for p in plans]
    products = await repo.plan_products_of(db, ids)
    counts = await repo.member_counts(db, ids)
    shops = await catalog_repository.shops_by_ids(db, list({p.shop_id for p in plans}))
    mine = await repo.my_statuses(db, viewer_id, ids) if viewer_id is not None else {}
    return [{
        "id": p.id, "shop_id": p.shop_id, "shop_slug": shops[p.shop_id].slug, "shop_name": shops[p.shop_id].name,
        "name": p.name, "description": p.description, "kind": p.kind, "scope": p.scope, "rate_bps": p.rate_bps,
        "flat_fee": p.flat_fee, "currency": p.currency,
        "commission_display": commission_display(p.rate_bps, p.flat_fee, p.currency),
        "requires_approval": p.requires_approval, "status": p.status, "ends_at": p.ends_at, "ended_at": p.ended_at,
        "created_at": p.created_at, "product_ids": products.get(p.id, []), "members_count": counts.get(p.id, 0),
        "my_status": mine.get(p.id),
    } for p in plans]


async def membership_outs(db: AsyncSession, members: Sequence[AffiliateMembership]) -> list[dict[str, Any]]:
    plans = await repo.plans_by_ids(db, list({m.plan_id for m in members}))
    shops = await catalog_repository.shops_by_ids(db, list({p.shop_id for p in plans.values()}))
    users = await repo.users_by_ids(db, list({m.creator_id for m in members}))
    return [{
        "id": m.id, "plan_id": m.plan_id, "plan_name": plans[m.plan_id].name,
        "shop_slug": shops[plans[m.plan_id].shop_id].slug, "creator": creator_out(users[m.creator_id]),
        "status": m.status, "message": m.message, "created_at": m.created_at, "decided_at": m.decided_at,
        "joined_at": m.joined_at, "left_at": m.left_at,
    } for m in members]


async def sample_outs(db: AsyncSession, rows: Sequence[AffiliateSampleRequest]) -> list[dict[str, Any]]:
    products = await repo.products_by_ids(db, list({r.product_id for r in rows}))
    cards = {c.id: c for c in await catalog_presenters.product_cards(db, list(products.values()))}
    users = await repo.users_by_ids(db, list({r.creator_id for r in rows}))
    return [{
        "id": r.id, "plan_id": r.plan_id, "shop_id": r.shop_id, "product": cards[r.product_id],
        "variant_id": r.variant_id, "creator": creator_out(users[r.creator_id]), "note": r.note, "status": r.status,
        "order_id": r.order_id, "post_by": r.post_by, "reminded_at": r.reminded_at, "created_at": r.created_at,
        "decided_at": r.decided_at,
    } for r in rows]
