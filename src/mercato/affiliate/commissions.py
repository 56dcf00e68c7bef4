"""Commissions: what an attributed order line earns its creator, and its money life in the ledger
(docs/affiliate.md, "Commissions").

- **Paid** (``orders/hooks`` ``paid``): each line is attributed (``attribution.py``); a credited
  line with terms earns ``min(apply_rate_bps(base, rate), base)`` or ``min(flat_fee × quantity,
  base)``, where ``base`` is what the buyer paid for the line after every discount, before tax
  and shipping. Posted Dr ``shop:S:pending`` / Cr ``creator:C:pending`` with the order's
  ``order_id``/``shop_id``, so the seller's settlement moves only the net (the referral fee was
  taken on the seller's whole share at payment and is not changed by the commission).
- **Refunded**: the commission left follows the order's refunds pro rata, cumulatively
  (``reversed = amount × refunded ÷ total``, floored, exactly ``amount`` once the whole order is
  refunded), reversed from ``pending``, or from ``available`` once released (a clawback that
  can take ``available`` below 0; the next payout nets it).
- **Settled**: what is left moves pending → available through ``ledger.earnings.release``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.affiliate import attribution, touchpoints
from mercato.affiliate import money_repository as repository
from mercato.affiliate.attribution import Terms, TermsFor
from mercato.affiliate.money_models import Commission
from mercato.config import Settings
from mercato.kit.money import apply_rate_bps
from mercato.ledger import earnings
from mercato.ledger.service import Posting, creator_account, post, shop_account
from mercato.orders.hooks import OrderMoneyEvent

RELEASE_KIND = "commission_release"


def commission_amount(base: int, quantity: int, terms: Terms, currency: str) -> tuple[int, int | None, int | None]:
    """``(amount, rate_bps, flat_fee)`` for a line of ``base`` paid; never more than ``base``."""
    if terms.rate_bps is not None:
        return min(max(apply_rate_bps(base, terms.rate_bps), 0), base), terms.rate_bps, None
    if terms.flat_fee is not None and (terms.currency or currency).upper() == currency.upper():
        return min(terms.flat_fee * quantity, base), None, terms.flat_fee
    return 0, None, None


def reversed_target(amount: int, refunded: int, total: int) -> int:
    """The commission reversed once ``refunded`` of the order's ``total`` went back (cumulative,
    so any sequence of partial refunds ending in a full refund reverses exactly ``amount``)."""
    if total <= 0 or refunded >= total:
        return amount
    return amount * refunded // total


async def on_paid(db: AsyncSession, settings: Settings, terms_for: TermsFor, event: OrderMoneyEvent) -> None:
    """Attribute the lines of a paid order and post their commissions. Most orders have no
    touchpoint at all: bought outside a LIVE by a buyer with no touchpoint in the window, the
    order costs one indexed lookup and stores nothing (its lines are "no touchpoint" by absence)."""
    lookback = _lookback(event.at, settings)
    if event.live_id is None and not await repository.buyer_has_touchpoints(db, event.buyer_id, lookback, event.at):
        return
    order = await repository.order_facts(db, event.order_id)
    if order is None or await repository.attributions_of_order(db, event.order_id):
        return  # unknown, or decided already (a retried step)
    lines = await repository.order_lines(db, event.order_id)
    if not lines:
        return
    # order_lines.total is what the buyer paid for the line: checkout spread the order's seller and
    # platform discounts on the lines already; tax and shipping are not in it.
    bases = [max(int(line["total"]), 0) for line in lines]
    buyer_id = int(order["buyer_id"])
    product_ids = sorted({int(line["product_id"]) for line in lines})
    found = await repository.touchpoints_of_buyer(db, buyer_id, product_ids, lookback, event.at)
    host: int | None = None
    host_is_seller = False
    if order["source"] == "live" and order["live_id"] is not None:
        host = await repository.live_host(db, int(order["live_id"]))
        if host is not None:
            host_is_seller = await repository.is_shop_member(db, int(order["shop_id"]), host)
    for line, base in zip(lines, bases, strict=True):
        product_id = int(line["product_id"])
        live_tp = None
        if host is not None and host != buyer_id:
            live_tp = await touchpoints.record(db, settings, kind="live", creator_id=host, product_id=product_id,
                                               at=event.at, user_id=buyer_id, live_id=int(order["live_id"]))
        decision = await attribution.decide_line(db, settings, terms_for, product_id=product_id, touchpoints=found,
                                                 paid_at=event.at, live_host=host, host_is_seller=host_is_seller,
                                                 live_touchpoint=live_tp)
        await attribution.store(db, order_id=event.order_id, order_line_id=int(line["id"]), product_id=product_id,
                                decision=decision, at=event.at)
        if not decision.commission or decision.terms is None or decision.creator_id is None:
            continue
        amount, rate_bps, flat_fee = commission_amount(base, int(line["quantity"]), decision.terms, event.currency)
        tp = decision.touchpoint
        commission = Commission(order_id=event.order_id, order_line_id=int(line["id"]), shop_id=event.shop_id,
                                creator_id=decision.creator_id, product_id=product_id,
                                plan_id=decision.terms.plan_id, touchpoint_id=tp.id if tp else None,
                                video_id=tp.video_id if tp else None, live_id=tp.live_id if tp else None,
                                currency=event.currency, base=base, rate_bps=rate_bps, flat_fee=flat_fee,
                                amount=amount, reversed=0, status="pending" if amount > 0 else "reversed",
                                created_at=event.at)
        await repository.add(db, commission)
        if amount > 0:
            await post(db, kind="commission", reference=f"commission:{commission.id}", currency=event.currency,
                       postings=[Posting(shop_account(event.shop_id, "pending", event.currency), amount),
                                 Posting(creator_account(commission.creator_id, "pending", event.currency), -amount)],
                       memo=f"Commission on order #{event.order_id}", order_id=event.order_id,
                       shop_id=event.shop_id)


def _lookback(at: datetime, settings: Settings) -> datetime:
    """Touchpoints read for a decision: twice the click window, so expired clicks are shown too."""
    return at - timedelta(days=2 * settings.affiliate_click_window_days)


async def on_refunded(db: AsyncSession, event: OrderMoneyEvent) -> None:
    order = await repository.order_facts(db, event.order_id)
    if order is None:
        return
    total = int(order["total"])
    refunded = event.refunded_before + event.amount
    for commission in await repository.commissions_of_order(db, event.order_id):
        target = reversed_target(commission.amount, refunded, total)
        delta = target - commission.reversed
        if delta <= 0:
            continue
        side = "available" if commission.released_at is not None else "pending"
        reference = f"commission:{commission.id}:refund:{event.refund_id}"
        txn = await post(db, kind="commission_reversal", reference=reference, currency=commission.currency,
                         postings=[Posting(creator_account(commission.creator_id, side, commission.currency), delta),
                                   Posting(shop_account(commission.shop_id, side, commission.currency), -delta)],
                         memo=f"Refund on order #{event.order_id}: commission reversed", order_id=event.order_id,
                         shop_id=commission.shop_id)
        if txn is None:
            continue
        commission.reversed = target
        if commission.reversed >= commission.amount:
            commission.status = "reversed"
    await db.flush()


async def on_settled(db: AsyncSession, event: OrderMoneyEvent) -> None:
    for commission in await repository.commissions_of_order(db, event.order_id):
        if commission.status != "pending":
            continue
        left = commission.amount - commission.reversed
        await earnings.release(db, creator_id=commission.creator_id, currency=commission.currency, amount=left,
                               kind=RELEASE_KIND, reference=f"commission:{commission.id}",
                               memo=f"Commission on order #{event.order_id} payable", order_id=event.order_id,
                               shop_id=commission.shop_id)
        commission.status = "available"
        commission.released_at = event.at
    await db.flush()


async def status_of(db: AsyncSession, commission: Commission) -> str:
    """``paid`` when released and the creator's sent payouts cover every earning that became
    payable up to this commission's release (payouts pay the oldest earnings first)."""
    if commission.status != "available":
        return commission.status
    through = await repository.earned_available_through(db, commission.creator_id, commission.currency,
                                                        RELEASE_KIND, f"commission:{commission.id}")
    if through is None:
        return commission.status
    paid_out = await repository.creator_paid_out(db, commission.creator_id, commission.currency)
    return "paid" if paid_out >= through else "available"
