"""Coin wallets, coin purchases (each one a lot: its coins and the money behind them), the gift
catalog, gifts sent and the coin history of a user (docs/gifts.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class CoinWallet(Base):
    """A user's coin balance; only guarded updates change it, so it never goes below 0. It always
    equals the sum of ``coins_left`` over the user's paid purchases."""

    __tablename__ = "coin_wallets"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    coins: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("coins >= 0", name="coins_not_negative"),)


class CoinPurchase(IdMixin, Base):
    """One coin pack bought: ``pending`` until its payment succeeds, then ``paid`` (a lot that
    gifts spend FIFO: ``amount_left`` = ⌊coins_left × amount / coins⌋), ``refunded`` once its
    unspent coins went back to the card."""

    __tablename__ = "coin_purchases"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    pack: Mapped[str] = mapped_column(String(40))
    coins: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | paid | refunded
    intent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payment_intents.id"), unique=True)
    coins_left: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_left: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_coins: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_coin_purchases_lots", "user_id", "status", "paid_at", "id"),)


class Gift(IdMixin, Base):
    """A gift of the operator's catalog, priced in coins."""

    __tablename__ = "gifts"

    name: Mapped[str] = mapped_column(String(40), unique=True)
    coins: Mapped[int] = mapped_column(Integer)
    animation: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joins_fan_club: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GiftSend(IdMixin, Base):
    """One send (``quantity`` identical gifts) in a LIVE: coins spent, their value, the host's share
    and where it went (``route``: diamonds | credits | commission)."""

    __tablename__ = "gift_sends"

    live_id: Mapped[int] = mapped_column(BigId, ForeignKey("lives.id", ondelete="CASCADE"))
    host_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    gift_id: Mapped[int] = mapped_column(BigId, ForeignKey("gifts.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    coins: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    host_share: Mapped[int] = mapped_column(BigInteger)
    route: Mapped[str] = mapped_column(String(12))
    combo: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A ``commission`` share is pending until the settlement period passed (``tasks.py`` releases it).
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_gift_sends_live_sender", "live_id", "sender_id"),
        Index("ix_gift_sends_host_sender", "host_id", "sender_id"),
        Index("ix_gift_sends_sender_id", "sender_id", "id"),
    )


class CoinEntry(IdMixin, Base):
    """A line of a user's coin history: ``purchase`` (+), ``gift`` (−) or ``refund`` (−)."""

    __tablename__ = "coin_entries"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    coins: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    purchase_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("coin_purchases.id", ondelete="SET NULL"))
    gift_send_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("gift_sends.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_coin_entries_user_id", "user_id", "id"),)
