"""Request and response bodies of the payments API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ConfirmIn(BaseModel):
    """Card details for one confirmation. Only the brand and last four digits are kept."""

    model_config = ConfigDict(extra="ignore")

    card_number: str = Field(min_length=1, max_length=40)
    exp_month: int = Field(strict=True, ge=1, le=12)
    exp_year: int = Field(strict=True, ge=2000, le=2200)
    cvc: str = Field(min_length=1, max_length=8)
    name: str = Field(default="", max_length=120)


class PaymentIntentOut(BaseModel):
    id: int
    checkout_id: int | None  # none for a coin purchase
    status: str  # requires_payment_method | processing | requires_action | succeeded | failed | cancelled
    amount: int
    currency: str
    refunded: int
    provider: str
    attempts: int
    card_brand: str | None
    card_last4: str | None
    next_action: dict[str, Any] | None
    last_error_code: str | None
    last_error_message: str | None


class WebhookReceipt(BaseModel):
    received: bool = True
    duplicate: bool
