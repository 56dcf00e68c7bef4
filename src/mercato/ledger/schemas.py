"""Request and response bodies of the ledger's JSON API (amounts in integer minor units)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class BalanceOut(BaseModel):
    currency: str
    pending: int = Field(description="Earnings before settlement")
    available: int = Field(description="Settled and payable; below 0 is a clawback netted from the next payout")
    in_transit: int = Field(description="Requested or held payouts not sent yet")
    paid_out: int = Field(description="Sum of sent payouts")


class PayoutMethodOut(BaseModel):
    kind: str
    label: str  # masked: "Jane Doe ····1234"
    changed_at: datetime
    hold_until: datetime  # payouts requested before this are held


class PayoutOut(BaseModel):
    id: int
    currency: str
    amount: int
    status: str  # held | sent
    hold_reason: str | None
    release_at: datetime | None
    provider_ref: str | None
    created_at: datetime
    sent_at: datetime | None


class FinanceOut(BaseModel):
    shop: str
    currency: str
    balances: list[BalanceOut]
    payout_method: PayoutMethodOut | None
    recent_payouts: list[PayoutOut]


class StatementLineOut(BaseModel):
    id: int
    created_at: datetime
    account: str  # pending | available | in_transit
    currency: str
    amount: int  # from the shop's side: > 0 adds to the balance
    kind: str
    reference: str
    memo: str
    order_id: int | None


class PayoutMethodIn(BaseModel):
    account_holder: str = Field(min_length=2, max_length=80)
    account_number: str = Field(min_length=4, max_length=64, description="Account number or IBAN; stored masked")


class PayoutRequestIn(BaseModel):
    currency: str | None = Field(default=None, min_length=3, max_length=3,
                                 description="Defaults to the shop's currency")


class CreatorBalanceOut(BalanceOut):
    payout_blocked: str | None = Field(
        description="Why the Earnings page offers no payout of this currency now (nothing available, below the "
                    "minimum, no payout method, a payout of it on hold); null when it does")
    payout_held_until: datetime | None = Field(
        description="A payout requested now is held until then (the payout method changed recently); null: sent "
                    "at once")


class EarningsSectionOut(BaseModel):
    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]


class CreatorEarningsOut(BaseModel):
    balances: list[CreatorBalanceOut]
    payout_minimum: int = Field(description="Smallest creator payout, in minor units of the payout's currency")
    payout_method: PayoutMethodOut | None
    recent_payouts: list[PayoutOut]
    sections: list[EarningsSectionOut]


class CreatorPayoutIn(BaseModel):
    currency: str = Field(min_length=3, max_length=3, description="The currency whose available balance to pay out")


class TrialBalanceOut(BaseModel):
    currency: str
    sum: int
    balanced: bool


class RevenueOut(BaseModel):
    currency: str
    fees: int
    promotions: int
    tax_payable: int
    cash: int


class LiabilityOut(BaseModel):
    currency: str
    owner: str  # shop | creator | user: whom the platform owes
    account: str  # pending | available | payouts_in_transit | coins | credits
    amount: int  # owed, summed over every owner of that type


class LedgerCheckOut(BaseModel):
    balanced: bool
    trial_balance: list[TrialBalanceOut]
    unbalanced_transactions: list[int]
    revenue: list[RevenueOut]
    liabilities: list[LiabilityOut]
    transactions: int
    entries: int
    accounts: int
