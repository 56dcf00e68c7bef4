"""Accounts, transactions and entries (append-only; the database refuses updates and deletes),
payout methods and payouts.

Entry amounts are signed minor units: debits positive, credits negative. Every
transaction sums to zero per currency; balances are sums of entries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class LedgerAccount(IdMixin, Base):
    __tablename__ = "ledger_accounts"

    code: Mapped[str] = mapped_column(String(120), unique=True)  # e.g. "shop:3:pending:USD"
    kind: Mapped[str] = mapped_column(String(10))  # asset | liability | revenue | expense
    currency: Mapped[str] = mapped_column(String(3))
    owner_type: Mapped[str] = mapped_column(String(20))  # platform | shop | buyer | creator
    owner_id: Mapped[int | None] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerTransaction(IdMixin, Base):
    __tablename__ = "ledger_transactions"

    kind: Mapped[str] = mapped_column(String(40))  # payment | refund | settlement | payout | …
    reference: Mapped[str] = mapped_column(String(120))  # unique per kind: posting twice is impossible
    memo: Mapped[str] = mapped_column(Text, default="")
    order_id: Mapped[int | None] = mapped_column(BigId, index=True)  # the order a posting concerns, if any
    shop_id: Mapped[int | None] = mapped_column(BigId, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "reference", name="uq_ledger_transactions_kind_reference"),)


class LedgerEntry(IdMixin, Base):
    __tablename__ = "ledger_entries"

    transaction_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_ledger_entries_account", "account_id", "id"),)


#: A payout method or payout belongs to exactly one payee: a shop or a creator (a user).
_ONE_PAYEE = "(shop_id IS NULL) <> (creator_id IS NULL)"


class PayoutMethod(IdMixin, Base):
    __tablename__ = "payout_methods"

    shop_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), unique=True)
    creator_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="bank_account")
    label: Mapped[str] = mapped_column(String(120))  # masked, e.g. "Bank ····6789"
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint(_ONE_PAYEE, name="one_payee"),)


class Payout(IdMixin, Base):
    __tablename__ = "payouts"

    shop_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    creator_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | held | sent | failed
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    requested_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_ONE_PAYEE, name="one_payee"),)
