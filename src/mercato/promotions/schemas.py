"""Request and response bodies of the promotions API. Amounts are integer minor units, rates
basis points (``percent_bps`` 1000 = 10 %)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt, field_validator

from mercato.accounts.schemas import StrictBody
from mercato.kit.fields import BodyId, IsoDateTime
from mercato.kit.money import is_supported

MAX_AMOUNT = 10**12
MIN_PERCENT_BPS = 100  # 1 %
MAX_PERCENT_BPS = 9_000  # 90 %
CODE_RE = re.compile(r"^[A-Z0-9_-]{3,40}$")
CODE_RULE = "3–40 characters: letters A–Z, digits, '-' and '_'"
Kind = Literal["percent", "amount"]


def normalize_code(code: str) -> str:
    """Codes are case-insensitive and trimmed: stored and compared upper-case."""
    return code.strip().upper()


def _aware(value: datetime | None) -> datetime | None:
    """Times without a zone are taken as UTC (the database stores UTC only)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date out of range") from exc


def _currency(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().upper()
    if not is_supported(value):
        raise ValueError("unsupported currency")
    return value


class CouponIn(StrictBody):
    """A new coupon. Cross-field rules (percent needs ``percent_bps``, the window, the currency
    of the shop) are checked by the service so that each error names its field."""

    code: str = Field(min_length=1, max_length=60)
    kind: Kind
    percent_bps: int | None = Field(strict=True, default=None, ge=MIN_PERCENT_BPS, le=MAX_PERCENT_BPS,
                                    description="Percent off in basis points: 100 (1 %) to 9000 (90 %)")
    amount: int | None = Field(strict=True, default=None, ge=1, le=MAX_AMOUNT, description="Amount off, minor units")
    currency: str | None = Field(default=None, description="Seller coupons: the shop's currency (default)")
    min_spend: int = Field(strict=True, default=0, ge=0, le=MAX_AMOUNT)
    starts_at: IsoDateTime | None = None
    ends_at: IsoDateTime | None = None
    per_user_limit: int | None = Field(strict=True, default=None, ge=1, le=1_000_000)
    total_limit: int | None = Field(strict=True, default=None, ge=1, le=1_000_000_000)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = normalize_code(value)
        if not CODE_RE.match(value):
            raise ValueError(CODE_RULE)
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> object:
        return _currency(value) if isinstance(value, str) else value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class CouponUpdate(StrictBody):
    """Fields to change; an explicit ``null`` clears ``ends_at`` or a limit (no end / unlimited)."""

    active: bool | None = Field(default=None, strict=True)
    ends_at: IsoDateTime | None = None
    per_user_limit: int | None = Field(strict=True, default=None, ge=1, le=1_000_000)
    total_limit: int | None = Field(strict=True, default=None, ge=1, le=1_000_000_000)

    @field_validator("ends_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class CouponOut(BaseModel):
    id: int
    code: str
    scope: str
    shop_id: int | None
    funded_by: str
    kind: str
    percent_bps: int | None
    amount: int | None
    currency: str | None
    min_spend: int
    starts_at: datetime | None
    ends_at: datetime | None
    per_user_limit: int | None
    total_limit: int | None
    redeemed_count: int
    active: bool
    status: str = Field(description="active | scheduled | ended | used_up | inactive")
    discount_display: str
    min_spend_display: str | None
    created_at: datetime


class OrderDraftIn(StrictBody):
    shop_id: BodyId
    currency: str = Field(min_length=3, max_length=3)
    subtotal: int = Field(strict=True, ge=0, le=MAX_AMOUNT)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        checked = _currency(value)
        if checked is None:
            raise ValueError("unsupported currency")
        return checked


class PreviewIn(StrictBody):
    codes: list[str] = Field(max_length=10)
    orders: list[OrderDraftIn] = Field(min_length=1, max_length=50)

    @field_validator("codes")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        if any(len(code) > 60 for code in value):
            raise ValueError("a code is too long")
        return value

    @field_validator("orders")
    @classmethod
    def _one_order_per_shop(cls, value: list[OrderDraftIn]) -> list[OrderDraftIn]:
        if len({o.shop_id for o in value}) != len(value):
            raise ValueError("one order per shop")
        return value


class AppliedCouponOut(BaseModel):
    coupon_id: int
    code: str
    funded_by: str
    shop_id: int
    amount: int
    currency: str
    amount_display: str


# --- shopping credits ----------------------------------------------------------------------------


class CreditBalanceOut(BaseModel):
    currency: str
    amount: int
    amount_display: str


class CreditLineOut(BaseModel):
    """One movement of the user's credits: ``amount`` > 0 adds to the balance."""

    id: int
    created_at: datetime
    currency: str
    amount: int
    amount_display: str
    kind: str  # credit_grant | credit_hold (spent at checkout) | credit_release | refund
    description: str
    order_id: int | None


class CreditsOut(BaseModel):
    balances: list[CreditBalanceOut]
    history: list[CreditLineOut]
    next_cursor: str | None


class CreditGrantIn(StrictBody):
    user: str = Field(min_length=1, max_length=254, description="The user's id, e-mail or handle")
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="Minor units of the currency")
    currency: str = Field(min_length=3, max_length=3)
    reason: str = Field(min_length=1, max_length=160, description="Kept in the ledger memo (the audit trail)")
    reference: str | None = Field(default=None, min_length=1, max_length=80,
                                  description="Granting again with the same reference writes nothing")


class CreditGrantOut(BaseModel):
    user_id: int
    amount: int
    currency: str
    granted: bool = Field(description="False: this reference was granted before; nothing was written")
    reference: str
    balance: int
    balance_display: str
