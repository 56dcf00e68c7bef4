"""Tables of the connections domain.

- ``store_connections``: a shop's link to one store on a platform. ``access_token`` and
  ``signing_secret`` are credentials: the API and pages never return them (only a hint of the
  token's last characters). ``cursor`` is where an interrupted pull resumes.
- ``connection_links``: one row per linked variant (external product and variant ids ↔ Mercato
  product and variant). ``product_version`` / ``stock_version`` are the platform's version (or
  ``updated_at`` in epoch milliseconds) of the state last applied, so an older delivery that
  arrives late never overwrites a newer state. The store owns the stock of a linked variant.
- ``connection_webhooks``: every accepted delivery, unique by the platform's delivery id.
- ``connection_syncs``: pulls and reconciliations (the Connections page's history).
- ``connection_order_pushes``: an order sent to the store, with its idempotency key, attempts
  and back-off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.kit.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow
from mercato.kit.secrets import SealedText


class StoreConnection(IdMixin, TimestampMixin, Base):
    __tablename__ = "store_connections"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))  # shopify | square | ecwid | wix
    store_ref: Mapped[str] = mapped_column(String(255))  # shop domain, location id, store id, site id
    access_token: Mapped[str] = mapped_column(SealedText)  # sealed at rest (kit/secrets.py)
    signing_secret: Mapped[str] = mapped_column(SealedText)
    api_base: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | error | disconnected
    cursor: Mapped[str | None] = mapped_column(String(1000))
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("shop_id", "platform", name="uq_store_connections_shop_platform"),)


class ConnectionLink(IdMixin, Base):
    __tablename__ = "connection_links"

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("store_connections.id", ondelete="CASCADE"))
    external_product_id: Mapped[str] = mapped_column(String(120))
    external_variant_id: Mapped[str] = mapped_column(String(120))
    inventory_ref: Mapped[str | None] = mapped_column(String(120))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    product_version: Mapped[int] = mapped_column(BigInteger, default=0)
    stock_version: Mapped[int] = mapped_column(BigInteger, default=0)
    stock_owner: Mapped[str] = mapped_column(String(12), default="store")

    __table_args__ = (
        UniqueConstraint("connection_id", "external_product_id", "external_variant_id",
                         name="uq_connection_links_variant"),
        Index("ix_connection_links_external_variant", "connection_id", "external_variant_id"),
        Index("ix_connection_links_variant_id", "variant_id"),
    )


class WebhookDelivery(IdMixin, Base):
    __tablename__ = "connection_webhooks"

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("store_connections.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(120))
    object_version: Mapped[int] = mapped_column(BigInteger, default=0)
    outcome: Mapped[str] = mapped_column(String(12))  # applied | stale | ignored | failed
    detail: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("connection_id", "delivery_id", name="uq_connection_webhooks_delivery"),
        Index("ix_connection_webhooks_recent", "connection_id", "id"),
    )


class SyncRun(IdMixin, Base):
    __tablename__ = "connection_syncs"

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("store_connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # pull | reconcile
    outcome: Mapped[str] = mapped_column(String(12))  # done | partial | failed
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_connection_syncs_recent", "connection_id", "id"),)


class OrderPush(IdMixin, TimestampMixin, Base):
    __tablename__ = "connection_order_pushes"

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("store_connections.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | pushed | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_order_id: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(String(500))
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("connection_id", "order_id", name="uq_connection_order_pushes_order"),
        Index("ix_connection_order_pushes_due", "status", "next_attempt_at"),
        Index("ix_connection_order_pushes_external", "connection_id", "external_order_id"),
    )
