"""The money movements of an order, each one balanced ledger transaction (docs/ledger.md, "Postings").

Splits are exact in minor units for every currency exponent: the parts of a payment add up
to the money that came in, and the parts of several partial refunds add up to the parts of
the payment once the whole paid amount has been refunded. Rounding goes through
:func:`mercato.kit.money.allocate` and :func:`~mercato.kit.money.apply_rate_bps` only.

The orders service calls, in this order of life: :func:`split_payment` +
:func:`post_order_payment` when an order is paid; :func:`split_refund` +
:func:`post_refund` per refund; :func:`post_settlement` when the settlement period after
delivery has passed. Each is idempotent by its reference, so retries are safe. Callers
hold the order row locked (``SELECT … FOR UPDATE``) while they post, so a refund and the
settlement of the same order never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.errors import ValidationFailed
from mercato.kit.money import allocate, apply_rate_bps
from mercato.ledger import repository
from mercato.ledger.errors import LedgerError
from mercato.ledger.models import LedgerTransaction
from mercato.ledger.service import Posting, find_transaction, platform_account, post, shop_account, user_account


@dataclass
class PaymentSplit:
    """Where an order's money goes: ``paid + platform_discount == tax + fee + seller_share``.

    ``credits`` (≤ ``paid``) is the part the buyer paid with shopping credits instead of the
    card: it comes from ``platform:credits_held`` instead of ``platform:cash`` and changes
    nothing else — the seller is paid as if the buyer paid it all (the platform funded the
    credits when it granted them).
    """

    paid: int  # what the buyer paid: the card's charge plus ``credits``
    tax: int
    platform_discount: int  # funded by the platform, owed to the seller on top of ``paid``
    fee: int  # the platform's referral fee
    seller_share: int
    credits: int = 0


@dataclass
class RefundSplit:
    """The parts of one refund: ``tax + fee + seller − platform_discount`` is the money returned.

    A part of an intermediate partial refund may be −1 minor unit (largest-remainder rounding
    is not monotone); cumulative parts always stay within 0 and the original part.
    """

    tax: int
    fee: int
    seller: int
    platform_discount: int
    credits: int = 0  # the part of :attr:`amount` given back as shopping credits, not to the card

    @property
    def amount(self) -> int:
        return self.tax + self.fee + self.seller - self.platform_discount

    @property
    def card(self) -> int:
        """What goes back to the card."""
        return self.amount - self.credits


def _invalid(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


def split_payment(paid: int, tax: int, platform_discount: int, fee_bps: int, credits: int = 0) -> PaymentSplit:
    """The fee is ``fee_bps`` of (paid + platform discount − tax), rounded half-even; the seller
    gets the rest of that base. ``credits`` of ``paid`` came from shopping credits."""
    if min(paid, tax, platform_discount, credits) < 0 or not 0 <= fee_bps <= 10_000:
        raise _invalid("Amounts and the fee rate must not be negative.", LedgerError.INVALID_SPLIT)
    if credits > paid:
        raise _invalid("Credits cannot pay more than the order.", LedgerError.INVALID_SPLIT)
    base = paid + platform_discount - tax
    if base < 0:
        raise _invalid("Tax cannot exceed what was paid plus the platform discount.", LedgerError.INVALID_SPLIT)
    fee = min(max(apply_rate_bps(base, fee_bps), 0), base)
    return PaymentSplit(paid=paid, tax=tax, platform_discount=platform_discount, fee=fee, seller_share=base - fee,
                        credits=credits)


def credits_refunded(paid: int, credits: int, refunded: int) -> int:
    """The credits given back once ``refunded`` of ``paid`` went back: pro rata, rounded down
    (the card's part is never below its own pro rata share), all of them at a full refund."""
    if refunded == 0 or credits == 0:
        return 0
    return credits if refunded == paid else credits * refunded // paid


def _cumulative_refund(split: PaymentSplit, refunded: int) -> tuple[int, int, int, int, int]:
    """(tax, fee, seller, platform_discount, credits) returned once ``refunded`` of ``paid`` went back."""
    if refunded == 0:
        return 0, 0, 0, 0, 0
    discount = split.platform_discount if refunded == split.paid else split.platform_discount * refunded // split.paid
    tax, fee, seller = allocate(refunded + discount, [split.tax, split.fee, split.seller_share])
    return tax, fee, seller, discount, credits_refunded(split.paid, split.credits, refunded)


def split_refund(split: PaymentSplit, refunded_before: int, amount: int) -> RefundSplit:
    """The parts of refunding ``amount`` after ``refunded_before`` was already refunded.

    Cumulative: each refund is target(after) − target(before), so any sequence of partial
    refunds that ends with the whole paid amount returns exactly the original parts.
    """
    if amount <= 0:
        raise _invalid("A refund must be more than 0.", LedgerError.INVALID_REFUND_AMOUNT)
    if refunded_before < 0 or refunded_before + amount > split.paid:
        raise _invalid("A refund cannot exceed what is left of the paid amount.", LedgerError.REFUND_EXCEEDS_PAID)
    before = _cumulative_refund(split, refunded_before)
    after = _cumulative_refund(split, refunded_before + amount)
    tax, fee, seller, discount, credits = (a - b for a, b in zip(after, before, strict=True))
    return RefundSplit(tax=tax, fee=fee, seller=seller, platform_discount=discount, credits=credits)


def _lines(*pairs: tuple[str, int]) -> list[Posting]:
    return [Posting(account, amount) for account, amount in pairs if amount != 0]


def payment_postings(shop_id: int, currency: str, split: PaymentSplit) -> list[Posting]:
    """Dr cash, Dr credits held, Dr promotions; Cr tax payable, Cr fees, Cr shop pending (zero
    lines omitted)."""
    return _lines(
        (platform_account("cash", currency), split.paid - split.credits),
        (platform_account("credits_held", currency), split.credits),
        (platform_account("promotions", currency), split.platform_discount),
        (platform_account("tax_payable", currency), -split.tax),
        (platform_account("fees", currency), -split.fee),
        (shop_account(shop_id, "pending", currency), -split.seller_share),
    )


def refund_postings(shop_id: int, currency: str, parts: RefundSplit, *, settled: bool,
                    buyer_id: int | None = None) -> list[Posting]:
    """The payment's lines reversed for this refund's parts; after settlement the seller's part
    comes out of ``available`` (which may go below 0: a clawback netted from the next payout).
    The credits part goes back to the buyer's credits (``buyer_id``), the rest to the card."""
    if parts.credits and buyer_id is None:
        raise _invalid("A refund that gives credits back needs the buyer.", LedgerError.INVALID_SPLIT)
    return _lines(
        (platform_account("cash", currency), -parts.card),
        (user_account(buyer_id or 0, "credits", currency), -parts.credits),
        (platform_account("promotions", currency), -parts.platform_discount),
        (platform_account("tax_payable", currency), parts.tax),
        (platform_account("fees", currency), parts.fee),
        (shop_account(shop_id, "available" if settled else "pending", currency), parts.seller),
    )


async def post_order_payment(db: AsyncSession, *, order_id: int, shop_id: int, currency: str,
                             split: PaymentSplit) -> LedgerTransaction | None:
    """Record the money of a paid order; ``None`` if already recorded (or nothing moved: a free order)."""
    if split.paid + split.platform_discount != split.tax + split.fee + split.seller_share:
        raise ValidationFailed("The payment split does not add up.", code=LedgerError.UNBALANCED_TRANSACTION)
    lines = payment_postings(shop_id, currency, split)
    if not lines:
        return None
    return await post(db, kind="order_payment", reference=f"order:{order_id}", currency=currency, postings=lines,
                      memo=f"Payment of order #{order_id}", order_id=order_id, shop_id=shop_id)


async def order_settled(db: AsyncSession, order_id: int) -> bool:
    return await find_transaction(db, "settlement", f"order:{order_id}") is not None


async def post_refund(db: AsyncSession, *, refund_id: int, order_id: int, shop_id: int, currency: str,
                      parts: RefundSplit, settled: bool | None = None,
                      buyer_id: int | None = None) -> LedgerTransaction | None:
    """Record one refund; ``settled=None`` asks the ledger whether the order was settled already."""
    if parts.amount <= 0:
        raise ValidationFailed("A refund must return more than 0.", code=LedgerError.INVALID_REFUND_AMOUNT)
    if settled is None:
        settled = await order_settled(db, order_id)
    return await post(db, kind="refund", reference=f"refund:{refund_id}", currency=currency,
                      postings=refund_postings(shop_id, currency, parts, settled=settled, buyer_id=buyer_id),
                      memo=f"Refund {refund_id} of order #{order_id}", order_id=order_id, shop_id=shop_id)


async def pending_of_order(db: AsyncSession, *, order_id: int, shop_id: int, currency: str) -> int:
    """What the order still has on the shop's pending account (credit-normal, > 0 = owed)."""
    return -await repository.pending_sum_of_order(db, shop_account(shop_id, "pending", currency), order_id)


async def post_settlement(db: AsyncSession, *, order_id: int, shop_id: int, currency: str) -> int:
    """Move what the order left on pending to available; returns the amount moved (0: nothing
    posted, also when the order was settled before)."""
    reference = f"order:{order_id}"
    if await find_transaction(db, "settlement", reference) is not None:
        return 0
    amount = await pending_of_order(db, order_id=order_id, shop_id=shop_id, currency=currency)
    if amount == 0:
        return 0
    txn = await post(db, kind="settlement", reference=reference, currency=currency, postings=[
        Posting(shop_account(shop_id, "pending", currency), amount),
        Posting(shop_account(shop_id, "available", currency), -amount),
    ], memo=f"Settlement of order #{order_id}", order_id=order_id, shop_id=shop_id)
    return amount if txn is not None else 0
