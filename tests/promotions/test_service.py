"""The coupon contract the checkout calls (redeem / preview / release), rule by rule, against the
real database: math per currency exponent, stacking, windows, minimum spend, limits, release."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.errors import AppError, Conflict, ValidationFailed
from mercato.kit.money import apply_rate_bps
from mercato.promotions import service
from mercato.promotions.models import Coupon, CouponRedemption
from mercato.promotions.service import AppliedCoupon, OrderDraft
from tests.promotions.conftest import NOW, DbRun, Seed


def redeem(db_run: DbRun, user_id: int, checkout_id: int, codes: list[str], drafts: list[OrderDraft],
           now: Any = NOW) -> list[AppliedCoupon]:
    result: list[AppliedCoupon] = db_run(lambda s: service.redeem_coupons(
        s, user_id=user_id, checkout_id=checkout_id, codes=codes, drafts=drafts, now=now))
    return result


def preview(db_run: DbRun, user_id: int, codes: list[str], drafts: list[OrderDraft],
            now: Any = NOW) -> list[AppliedCoupon]:
    result: list[AppliedCoupon] = db_run(lambda s: service.preview_coupons(
        s, user_id=user_id, codes=codes, drafts=drafts, now=now))
    return result


def failure(fn: Any, *args: Any, **kwargs: Any) -> AppError:
    with pytest.raises(AppError) as info:
        fn(*args, **kwargs)
    return info.value


# --- amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "bps", "subtotal", "expected"), [
    ("JPY", 1500, 1999, 300),      # 299.85 → 300
    ("JPY", 1000, 125, 12),        # 12.5 → 12 (half-even)
    ("JPY", 1000, 135, 14),        # 13.5 → 14 (half-even)
    ("USD", 1000, 1999, 200),      # 199.9 → 200
    ("USD", 1000, 25, 2),          # 2.5 → 2
    ("USD", 1250, 4321, 540),      # 540.125 → 540
    ("KWD", 1250, 12345, 1543),    # 1543.125 → 1543
    ("KWD", 9000, 1001, 901),      # 900.9 → 901
])
def test_percent_seller_coupon_math(seed: Seed, db_run: DbRun, currency: str, bps: int, subtotal: int,
                                    expected: int) -> None:
    shop = seed.shop(currency)
    seed.coupon("PCT", shop_id=shop, percent_bps=bps, currency=currency)
    user = seed.user()
    applied = redeem(db_run, user, seed.checkout(user), ["pct"], [OrderDraft(shop, currency, subtotal)])
    assert expected == apply_rate_bps(subtotal, bps)
    assert applied == [AppliedCoupon(coupon_id=applied[0].coupon_id, code="PCT", funded_by="seller", shop_id=shop,
                                     amount=expected)]


@pytest.mark.parametrize(("currency", "amount", "subtotal", "expected"), [
    ("JPY", 500, 3000, 500), ("JPY", 5000, 3000, 3000),
    ("USD", 500, 1999, 500), ("USD", 2500, 1999, 1999),
    ("KWD", 1500, 12345, 1500), ("KWD", 20000, 12345, 12345),
])
def test_amount_coupon_is_capped_at_the_subtotal(seed: Seed, db_run: DbRun, currency: str, amount: int,
                                                 subtotal: int, expected: int) -> None:
    shop = seed.shop(currency)
    seed.coupon("FLAT", shop_id=shop, kind="amount", percent_bps=None, amount=amount, currency=currency)
    user = seed.user()
    applied = redeem(db_run, user, seed.checkout(user), ["FLAT"], [OrderDraft(shop, currency, subtotal)])
    assert [(a.shop_id, a.amount) for a in applied] == [(shop, expected)]


def test_platform_coupon_is_spread_pro_rata_and_sums_exactly(seed: Seed, db_run: DbRun) -> None:
    a, b, c, yen = seed.shop(), seed.shop(), seed.shop(), seed.shop("JPY")
    coupon = seed.coupon("MEGA", percent_bps=1000, currency="USD")
    drafts = [OrderDraft(a, "USD", 1000), OrderDraft(b, "USD", 2000), OrderDraft(c, "USD", 3333),
              OrderDraft(yen, "JPY", 5000)]
    user = seed.user()
    applied = redeem(db_run, user, seed.checkout(user), ["mega"], drafts)
    total = apply_rate_bps(6333, 1000)
    assert total == 633
    assert [(x.shop_id, x.amount) for x in applied] == [(a, 100), (b, 200), (c, 333)]
    assert {x.funded_by for x in applied} == {"platform"} and {x.coupon_id for x in applied} == {coupon}
    assert sum(x.amount for x in applied) == total
    assert seed.facts(coupon) == (1, 1)

    async def stored(session: AsyncSession) -> int:
        return int((await session.execute(select(CouponRedemption.amount))).scalar_one())

    assert db_run(stored) == 633


def test_platform_amount_coupon_only_touches_orders_in_its_currency(seed: Seed, db_run: DbRun) -> None:
    a, b, yen = seed.shop(), seed.shop(), seed.shop("JPY")
    seed.coupon("TEN", kind="amount", percent_bps=None, amount=1000, currency="USD")
    user = seed.user()
    applied = preview(db_run, user, ["TEN"], [OrderDraft(a, "USD", 1), OrderDraft(b, "USD", 2),
                                              OrderDraft(yen, "JPY", 9999)])
    # 1000 ¢ capped at the 3 ¢ of USD orders, spread 1:2.
    assert [(x.shop_id, x.amount) for x in applied] == [(a, 1), (b, 2)]
    error = failure(preview, db_run, user, ["TEN"], [OrderDraft(yen, "JPY", 9999)])
    assert (type(error), error.code, error.details) == (ValidationFailed, "coupon_wrong_currency", {"code": "TEN"})


def test_platform_percent_coupon_without_currency_prices_each_currency_apart(seed: Seed, db_run: DbRun) -> None:
    usd, yen1, yen2, kwd = seed.shop(), seed.shop("JPY"), seed.shop("JPY"), seed.shop("KWD")
    seed.coupon("ALL5", percent_bps=500)
    drafts = [OrderDraft(usd, "USD", 999), OrderDraft(yen1, "JPY", 101), OrderDraft(yen2, "JPY", 202),
              OrderDraft(kwd, "KWD", 7)]
    applied = preview(db_run, seed.user(), ["ALL5"], drafts)
    # USD 49.95 → 50; JPY 15.15 → 15 split 101:202 → 5 + 10; KWD 0.35 → 0: too small, left out.
    assert [(x.shop_id, x.amount) for x in applied] == [(usd, 50), (yen1, 5), (yen2, 10)]


@settings(max_examples=300, deadline=None)
@given(subtotals=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8),
       bps=st.integers(min_value=100, max_value=9000), amount=st.integers(min_value=1, max_value=10**10),
       kind=st.sampled_from(["percent", "amount"]))
def test_platform_split_is_exact_for_any_orders(subtotals: list[int], bps: int, amount: int, kind: str) -> None:
    coupon = Coupon(kind=kind, percent_bps=bps if kind == "percent" else None,
                    amount=amount if kind == "amount" else None, currency="USD", min_spend=0)
    drafts = [OrderDraft(i + 1, "USD", s) for i, s in enumerate(subtotals)]
    whole = service.discount_on(coupon, sum(subtotals))
    if sum(subtotals) < service.required_spend(coupon):
        with pytest.raises(ValidationFailed):
            service._platform_parts(coupon, "X", drafts)
        return
    parts = service._platform_parts(coupon, "X", drafts)
    assert sum(a for _, a in parts) == whole
    for shop_id, part in parts:
        assert 0 < part <= subtotals[shop_id - 1]


# --- which coupons apply ----------------------------------------------------------------------------


def test_codes_are_case_insensitive_and_trimmed(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    seed.coupon("SPRING-25", shop_id=shop, currency="USD")
    applied = preview(db_run, seed.user(), ["  spring-25 \t"], [OrderDraft(shop, "USD", 1000)])
    assert [(a.code, a.amount) for a in applied] == [("SPRING-25", 100)]


def test_unknown_inactive_and_foreign_codes_are_not_found(seed: Seed, db_run: DbRun) -> None:
    mine, other = seed.shop(), seed.shop()
    seed.coupon("OFF", shop_id=mine, currency="USD", active=False)
    seed.coupon("ELSEWHERE", shop_id=other, currency="USD")
    user = seed.user()
    for code in ("NOPE", "off", "ELSEWHERE"):
        error = failure(preview, db_run, user, [code], [OrderDraft(mine, "USD", 1000)])
        assert (type(error), error.code, error.details) == (ValidationFailed, "coupon_not_found",
                                                            {"code": code.upper()})
        error = failure(redeem, db_run, user, seed.checkout(user), [code], [OrderDraft(mine, "USD", 1000)])
        assert error.code == "coupon_not_found"


def test_validity_window(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    seed.coupon("LATER", shop_id=shop, currency="USD", starts_at=NOW + timedelta(seconds=1))
    seed.coupon("OVER", shop_id=shop, currency="USD", ends_at=NOW)
    seed.coupon("NOWISH", shop_id=shop, currency="USD", starts_at=NOW, ends_at=NOW + timedelta(seconds=1))
    user = seed.user()
    drafts = [OrderDraft(shop, "USD", 1000)]
    for code in ("LATER", "OVER"):
        error = failure(preview, db_run, user, [code], drafts)
        assert (error.status, error.code, error.details) == (422, "coupon_not_active", {"code": code})
    assert [a.amount for a in preview(db_run, user, ["NOWISH"], drafts)] == [100]
    assert preview(db_run, user, ["LATER"], drafts, now=NOW + timedelta(seconds=1))[0].code == "LATER"


def test_min_spend_of_a_seller_coupon_compares_with_its_order(seed: Seed, db_run: DbRun) -> None:
    shop, other = seed.shop(), seed.shop()
    seed.coupon("BIG", shop_id=shop, currency="USD", min_spend=5000)
    user = seed.user()
    error = failure(preview, db_run, user, ["BIG"], [OrderDraft(shop, "USD", 3999), OrderDraft(other, "USD", 9000)])
    assert (error.status, error.code, error.details) == (422, "coupon_min_spend", {"code": "BIG"})
    assert error.message == "Spend $10.01 more to use BIG (minimum $50.00)."
    assert [a.amount for a in preview(db_run, user, ["BIG"], [OrderDraft(shop, "USD", 5000)])] == [500]


def test_min_spend_of_a_platform_coupon_compares_with_orders_in_its_currency(seed: Seed, db_run: DbRun) -> None:
    a, b, yen = seed.shop(), seed.shop(), seed.shop("JPY")
    seed.coupon("KWD10", percent_bps=1000, currency="KWD", min_spend=10_000)
    seed.coupon("PLAT", percent_bps=1000, currency="USD", min_spend=5000)
    user = seed.user()
    ok = preview(db_run, user, ["PLAT"], [OrderDraft(a, "USD", 3000), OrderDraft(b, "USD", 2000)])
    assert [(x.shop_id, x.amount) for x in ok] == [(a, 300), (b, 200)]
    error = failure(preview, db_run, user, ["PLAT"], [OrderDraft(a, "USD", 3000), OrderDraft(b, "USD", 1999),
                                                      OrderDraft(yen, "JPY", 100_000)])
    assert (error.code, error.message) == ("coupon_min_spend", "Spend $0.01 more to use PLAT (minimum $50.00).")
    kwd = seed.shop("KWD")
    error = failure(preview, db_run, user, ["KWD10"], [OrderDraft(kwd, "KWD", 9_876)])
    assert error.message == "Spend 0.124 د.ك more to use KWD10 (minimum 10.000 د.ك)."


def test_a_percent_too_small_to_give_one_unit_asks_for_more(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop("JPY")
    seed.coupon("TINY", shop_id=shop, currency="JPY", percent_bps=1000)
    error = failure(preview, db_run, seed.user(), ["TINY"], [OrderDraft(shop, "JPY", 5)])  # 0.5 → 0
    assert (error.code, error.message) == ("coupon_min_spend", "Spend ¥1 more to use TINY.")


def test_stacking_rules(seed: Seed, db_run: DbRun) -> None:
    a, b = seed.shop(), seed.shop()
    seed.coupon("SHOPA1", shop_id=a, currency="USD")
    seed.coupon("SHOPA2", shop_id=a, currency="USD", kind="amount", percent_bps=None, amount=100)
    seed.coupon("SHOPB1", shop_id=b, currency="USD", percent_bps=2000)
    seed.coupon("PLAT1", percent_bps=500, currency="USD")
    seed.coupon("PLAT2", percent_bps=700)
    user = seed.user()
    drafts = [OrderDraft(a, "USD", 1000), OrderDraft(b, "USD", 3000)]
    for codes, blamed in ((["SHOPA1", "SHOPA2"], "SHOPA2"), (["PLAT1", "plat2"], "PLAT2")):
        error = failure(redeem, db_run, user, seed.checkout(user), codes, drafts)
        assert (type(error), error.code, error.details) == (ValidationFailed, "coupon_not_stackable", {"code": blamed})
    applied = redeem(db_run, user, seed.checkout(user), ["SHOPA1", "SHOPB1", "PLAT1", "shopa1"], drafts)
    assert [(x.code, x.shop_id, x.funded_by, x.amount) for x in applied] == [
        ("SHOPA1", a, "seller", 100), ("SHOPB1", b, "seller", 600),
        ("PLAT1", a, "platform", 50), ("PLAT1", b, "platform", 150)]


def test_same_code_in_two_shops_applies_to_each_order(seed: Seed, db_run: DbRun) -> None:
    a, b = seed.shop(), seed.shop()
    seed.coupon("WELCOME", shop_id=a, currency="USD")
    seed.coupon("WELCOME", shop_id=b, currency="USD", kind="amount", percent_bps=None, amount=250)
    applied = preview(db_run, seed.user(), ["welcome"], [OrderDraft(a, "USD", 1000), OrderDraft(b, "USD", 1000)])
    assert sorted((x.shop_id, x.amount) for x in applied) == sorted([(a, 100), (b, 250)])


# --- limits and release ----------------------------------------------------------------------------


def test_per_user_limit(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    coupon = seed.coupon("TWICE", shop_id=shop, currency="USD", per_user_limit=2)
    user, other = seed.users(2)
    drafts = [OrderDraft(shop, "USD", 1000)]
    for _ in range(2):
        assert preview(db_run, user, ["TWICE"], drafts)
        redeem(db_run, user, seed.checkout(user), ["TWICE"], drafts)
    for fn, args in ((preview, ()), (redeem, (seed.checkout(user),))):
        error = failure(fn, db_run, user, *args, ["TWICE"], drafts)
        assert (type(error), error.status, error.code, error.details) == (
            Conflict, 409, "coupon_limit_reached", {"code": "TWICE"})
    redeem(db_run, other, seed.checkout(other), ["TWICE"], drafts)
    assert seed.facts(coupon) == (3, 3)


def test_total_limit(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    coupon = seed.coupon("ONCE", shop_id=shop, currency="USD", total_limit=1)
    first, second = seed.users(2)
    drafts = [OrderDraft(shop, "USD", 1000)]
    redeem(db_run, first, seed.checkout(first), ["ONCE"], drafts)
    for fn, args in ((preview, ()), (redeem, (seed.checkout(second),))):
        error = failure(fn, db_run, second, *args, ["ONCE"], drafts)
        assert (type(error), error.code, error.details) == (Conflict, "coupon_exhausted", {"code": "ONCE"})
    assert seed.facts(coupon) == (1, 1)


def test_preview_redeems_nothing(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    coupon = seed.coupon("LOOK", shop_id=shop, currency="USD", total_limit=1, per_user_limit=1)
    platform = seed.coupon("PLOOK", total_limit=1)
    user = seed.user()
    for _ in range(3):
        assert len(preview(db_run, user, ["LOOK", "PLOOK"], [OrderDraft(shop, "USD", 1000)])) == 2
    assert seed.facts(coupon) == (0, 0) and seed.facts(platform) == (0, 0)


def test_a_refused_code_leaves_nothing_redeemed(seed: Seed, db_run: DbRun) -> None:
    a, b = seed.shop(), seed.shop()
    fine = seed.coupon("FINE", shop_id=a, currency="USD")
    gone = seed.coupon("GONE", shop_id=b, currency="USD", total_limit=1, redeemed_count=1)
    user = seed.user()
    error = failure(redeem, db_run, user, seed.checkout(user), ["FINE", "GONE"],
                    [OrderDraft(a, "USD", 1000), OrderDraft(b, "USD", 1000)])
    assert error.code == "coupon_exhausted"
    assert seed.facts(fine) == (0, 0) and seed.facts(gone) == (1, 0)

    async def inside_one_transaction(session: AsyncSession) -> tuple[int, int]:
        """Even a caller that catches the error keeps nothing of the refused coupon (savepoint)."""
        with pytest.raises(Conflict):
            await service.redeem_coupons(session, user_id=user, checkout_id=seed_checkout, codes=["GONE"],
                                         drafts=[OrderDraft(b, "USD", 1000)], now=NOW)
        count = (await session.execute(select(func.count()).select_from(CouponRedemption))).scalar_one()
        coupon = await session.get(Coupon, gone)
        assert coupon is not None
        await session.refresh(coupon)
        return int(count), coupon.redeemed_count

    seed_checkout = seed.checkout(user)
    assert db_run(inside_one_transaction) == (0, 1)


def test_a_deactivated_coupon_cannot_be_redeemed(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    coupon = seed.coupon("STOP", shop_id=shop, currency="USD")
    seed.set(coupon, active=False)
    user = seed.user()
    error = failure(redeem, db_run, user, seed.checkout(user), ["STOP"], [OrderDraft(shop, "USD", 1000)])
    assert error.code == "coupon_not_found"
    assert seed.facts(coupon) == (0, 0)


def test_release_checkout_restores_counts(seed: Seed, db_run: DbRun) -> None:
    a, b = seed.shop(), seed.shop()
    seller = seed.coupon("SELL1", shop_id=a, currency="USD", total_limit=1, per_user_limit=1)
    platform = seed.coupon("PLAT1", total_limit=10)
    user, other = seed.users(2)
    checkout = seed.checkout(user)
    drafts = [OrderDraft(a, "USD", 1000), OrderDraft(b, "USD", 500)]
    redeem(db_run, user, checkout, ["SELL1", "PLAT1"], drafts)
    assert seed.facts(seller) == (1, 1) and seed.facts(platform) == (1, 1)
    assert failure(redeem, db_run, other, seed.checkout(other), ["SELL1"], drafts).code == "coupon_exhausted"

    assert db_run(lambda s: service.release_checkout(s, checkout)) == 2
    assert seed.facts(seller) == (0, 0) and seed.facts(platform) == (0, 0)
    assert db_run(lambda s: service.release_checkout(s, checkout)) == 0  # idempotent
    assert seed.facts(seller) == (0, 0)
    redeem(db_run, other, seed.checkout(other), ["SELL1"], drafts)  # the use is available again
    assert seed.facts(seller) == (1, 1)


def test_a_released_use_in_the_middle_is_reused_and_the_limit_still_holds(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    coupon = seed.coupon("THRICE", shop_id=shop, currency="USD", per_user_limit=3)
    user = seed.user()
    drafts = [OrderDraft(shop, "USD", 1000)]
    checkouts = seed.checkouts(user, 5)
    for checkout in checkouts[:3]:
        redeem(db_run, user, checkout, ["THRICE"], drafts)
    assert db_run(lambda s: service.release_checkout(s, checkouts[1])) == 1
    redeem(db_run, user, checkouts[3], ["THRICE"], drafts)
    assert failure(redeem, db_run, user, checkouts[4], ["THRICE"], drafts).code == "coupon_limit_reached"

    async def numbers(session: AsyncSession) -> list[int]:
        return sorted((await session.execute(select(CouponRedemption.use_number))).scalars())

    assert db_run(numbers) == [1, 2, 3]
    assert seed.facts(coupon) == (3, 3)


def test_no_codes_apply_nothing(seed: Seed, db_run: DbRun) -> None:
    shop = seed.shop()
    user = seed.user()
    assert redeem(db_run, user, seed.checkout(user), ["", "  "], [OrderDraft(shop, "USD", 1000)]) == []
