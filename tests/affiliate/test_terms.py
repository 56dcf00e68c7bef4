"""``terms_for`` and ``may_promote``: the terms in force at several dates (rate rise at once, a cut
spares creators promoting for 30 days), plans ending, own-shop products."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import plans
from mercato.affiliate import repository as repo
from mercato.affiliate.models import AffiliateMembership
from mercato.catalog import repository as catalog_repository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _join(db: AsyncSession, plan_id: int, creator_id: int, at: datetime) -> Any:
    return repo.add(db, AffiliateMembership(plan_id=plan_id, creator_id=creator_id, status="active",
                                            created_at=at, decided_at=at, joined_at=at))


def test_rate_rise_applies_at_once_and_cut_spares_30_day_promoters(
        make_shop: Callable[..., Any], make_product: Callable[..., Any], make_creator: Callable[..., Any],
        db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    product = make_product(shop, "Lamp")
    veteran, newcomer, late = make_creator(), make_creator(), make_creator()

    async def go(db: AsyncSession) -> dict[str, Any]:
        found = await catalog_repository.shop_by_slug(db, shop["slug"])
        assert found is not None
        plan = await plans.create_plan(db, found, name="Open", kind="open", scope="products",
                                       product_ids=[product["id"]], rate_bps=1000, flat_fee=None,
                                       requires_approval=False, ends_at=None, now=day(0))
        await _join(db, plan.id, veteran["user"]["id"], day(1))
        await _join(db, plan.id, newcomer["user"]["id"], day(20))
        await plans.update_plan(db, plan, rate_bps=1500, shop=found, now=day(35))  # rise
        await plans.update_plan(db, plan, rate_bps=500, shop=found, now=day(40))  # cut
        await _join(db, plan.id, late["user"]["id"], day(45))
        out: dict[str, Any] = {"plan_id": plan.id}
        for who, creator in (("veteran", veteran), ("newcomer", newcomer), ("late", late)):
            for when in (0.5, 10, 36, 41, 60):
                terms = await plans.terms_for(db, creator_id=creator["user"]["id"], product_id=product["id"],
                                              at=day(when))
                out[f"{who}@{when}"] = None if terms is None else terms.rate_bps
        terms = await plans.terms_for(db, creator_id=veteran["user"]["id"], product_id=product["id"], at=day(41))
        assert terms is not None
        out["terms"] = terms
        return out

    got = db_run(go)
    # veteran promoting since day 1: the rise (day 35) applies; at the cut (day 40) 39 days ≥ 30: keeps 15 %
    assert [got[f"veteran@{d}"] for d in (0.5, 10, 36, 41, 60)] == [None, 1000, 1500, 1500, 1500]
    # newcomer since day 20: the rise applies; at the cut 20 days < 30: gets 5 %
    assert [got[f"newcomer@{d}"] for d in (0.5, 10, 36, 41, 60)] == [None, None, 1500, 500, 500]
    # joined after the cut: the plan's rate of that moment
    assert [got[f"late@{d}"] for d in (0.5, 10, 36, 41, 60)] == [None, None, None, None, 500]
    terms = got["terms"]
    assert (terms.plan_id, terms.flat_fee, terms.currency, terms.kind, terms.promoting_since) == (
        got["plan_id"], None, "USD", "open", day(1))


def test_promoting_since_counts_from_the_products_addition(
        make_shop: Callable[..., Any], make_product: Callable[..., Any], make_creator: Callable[..., Any],
        db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    first, added = make_product(shop, "First"), make_product(shop, "Added later")
    creator = make_creator()

    async def go(db: AsyncSession) -> list[int | None]:
        found = await catalog_repository.shop_by_slug(db, shop["slug"])
        assert found is not None
        plan = await plans.create_plan(db, found, name="Open", kind="open", scope="products",
                                       product_ids=[first["id"]], rate_bps=2000, flat_fee=None,
                                       requires_approval=False, ends_at=None, now=day(0))
        await _join(db, plan.id, creator["user"]["id"], day(0))
        await plans.update_plan(db, plan, add_product_ids=[added["id"]], shop=found, now=day(20))
        await plans.update_plan(db, plan, rate_bps=1000, shop=found, now=day(35))
        out = []
        for pid, when in ((first["id"], 36), (added["id"], 19), (added["id"], 36)):
            terms = await plans.terms_for(db, creator_id=creator["user"]["id"], product_id=pid, at=day(when))
            out.append(None if terms is None else terms.rate_bps)
        return out

    # first: promoted 35 days at the cut → keeps 20 %; added on day 20: 15 days → 10 %; before day 20: nothing
    assert db_run(go) == [2000, None, 1000]


def test_flat_fee_targeted_plan_wins_and_ending_stops_new_terms(
        make_shop: Callable[..., Any], make_product: Callable[..., Any], make_creator: Callable[..., Any],
        db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    product = make_product(shop, "Mug")
    creator = make_creator()

    async def go(db: AsyncSession) -> list[Any]:
        found = await catalog_repository.shop_by_slug(db, shop["slug"])
        assert found is not None
        whole = await plans.create_plan(db, found, name="Everything", kind="open", scope="shop", product_ids=[],
                                        rate_bps=3000, flat_fee=None, requires_approval=False, ends_at=None,
                                        now=day(0))
        targeted = await plans.create_plan(db, found, name="VIP", kind="targeted", scope="products",
                                           product_ids=[product["id"]], rate_bps=None, flat_fee=250,
                                           requires_approval=False, ends_at=day(30), now=day(0))
        await _join(db, whole.id, creator["user"]["id"], day(1))
        await _join(db, targeted.id, creator["user"]["id"], day(2))
        out: list[Any] = []
        for when in (1.5, 3, 31):
            terms = await plans.terms_for(db, creator_id=creator["user"]["id"], product_id=product["id"], at=day(when))
            out.append(None if terms is None else (terms.plan_id == targeted.id, terms.rate_bps, terms.flat_fee))
        await plans.set_status(db, whole, "ended", now=day(40))
        before_end = await plans.terms_for(db, creator_id=creator["user"]["id"], product_id=product["id"], at=day(31))
        after_end = await plans.terms_for(db, creator_id=creator["user"]["id"], product_id=product["id"], at=day(41))
        out.append(None if before_end is None else before_end.rate_bps)
        out.append(after_end)
        return out

    # the targeted plan (flat 2.50) beats the open one while it runs; past its end date, the open plan's 30 %
    assert db_run(go) == [(False, 3000, None), (True, None, 250), (False, 3000, None), 3000, None]


def test_may_promote_own_shop_or_plan_member(
        make_shop: Callable[..., Any], make_product: Callable[..., Any], make_creator: Callable[..., Any],
        db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    product = make_product(shop, "Bag")
    not_in_plan = make_product(shop, "Not in the plan")
    member, outsider = make_creator(), make_creator()
    own_shop = make_shop(owner=outsider)
    own = make_product(own_shop, "Own")

    async def go(db: AsyncSession) -> list[Any]:
        found = await catalog_repository.shop_by_slug(db, shop["slug"])
        assert found is not None
        plan = await plans.create_plan(db, found, name="Open", kind="open", scope="products",
                                       product_ids=[product["id"]], rate_bps=1000, flat_fee=None,
                                       requires_approval=False, ends_at=None)
        await _join(db, plan.id, member["user"]["id"], datetime.now(UTC))
        out = [await plans.may_promote(db, member["user"]["id"], product["id"]),
               await plans.may_promote(db, member["user"]["id"], not_in_plan["id"]),
               await plans.may_promote(db, outsider["user"]["id"], product["id"]),
               await plans.may_promote(db, outsider["user"]["id"], own["id"]),
               await plans.terms_for(db, creator_id=outsider["user"]["id"], product_id=own["id"],
                                     at=datetime.now(UTC))]
        await plans.set_status(db, plan, "paused")
        out.append(await plans.may_promote(db, member["user"]["id"], product["id"]))
        return out

    assert db_run(go) == [True, False, False, True, None, False]
