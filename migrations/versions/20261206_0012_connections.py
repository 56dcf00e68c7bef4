"""connections: store connections, product links, webhook deliveries, syncs, order pushes

Revision ID: 0012_connections
Revises: 0013_feed_models
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_connections'
down_revision: str | None = '0013_feed_models'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('store_connections',
    sa.Column('shop_id', BIG_ID, nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('store_ref', sa.String(length=255), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('signing_secret', sa.Text(), nullable=False),
    sa.Column('api_base', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('cursor', sa.String(length=1000), nullable=True),
    sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_store_connections_shop_id_shops'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_connections')),
    sa.UniqueConstraint('shop_id', 'platform', name='uq_store_connections_shop_platform')
    )
    op.create_table('connection_links',
    sa.Column('connection_id', BIG_ID, nullable=False),
    sa.Column('external_product_id', sa.String(length=120), nullable=False),
    sa.Column('external_variant_id', sa.String(length=120), nullable=False),
    sa.Column('inventory_ref', sa.String(length=120), nullable=True),
    sa.Column('product_id', BIG_ID, nullable=False),
    sa.Column('variant_id', BIG_ID, nullable=False),
    sa.Column('product_version', sa.BigInteger(), nullable=False),
    sa.Column('stock_version', sa.BigInteger(), nullable=False),
    sa.Column('stock_owner', sa.String(length=12), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'],
                            name=op.f('fk_connection_links_connection_id_store_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_connection_links_product_id_products'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_connection_links_variant_id_variants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_links')),
    sa.UniqueConstraint('connection_id', 'external_product_id', 'external_variant_id',
                        name='uq_connection_links_variant')
    )
    op.create_index('ix_connection_links_external_variant', 'connection_links',
                    ['connection_id', 'external_variant_id'], unique=False)
    op.create_index('ix_connection_links_variant_id', 'connection_links', ['variant_id'], unique=False)
    op.create_table('connection_webhooks',
    sa.Column('connection_id', BIG_ID, nullable=False),
    sa.Column('delivery_id', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=80), nullable=False),
    sa.Column('object_id', sa.String(length=120), nullable=True),
    sa.Column('object_version', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'],
                            name=op.f('fk_connection_webhooks_connection_id_store_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_webhooks')),
    sa.UniqueConstraint('connection_id', 'delivery_id', name='uq_connection_webhooks_delivery')
    )
    op.create_index('ix_connection_webhooks_recent', 'connection_webhooks', ['connection_id', 'id'], unique=False)
    op.create_table('connection_syncs',
    sa.Column('connection_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'],
                            name=op.f('fk_connection_syncs_connection_id_store_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_syncs'))
    )
    op.create_index('ix_connection_syncs_recent', 'connection_syncs', ['connection_id', 'id'], unique=False)
    op.create_table('connection_order_pushes',
    sa.Column('connection_id', BIG_ID, nullable=False),
    sa.Column('order_id', BIG_ID, nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('external_order_id', sa.String(length=120), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'],
                            name=op.f('fk_connection_order_pushes_connection_id_store_connections'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_connection_order_pushes_order_id_orders'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_order_pushes')),
    sa.UniqueConstraint('connection_id', 'order_id', name='uq_connection_order_pushes_order')
    )
    op.create_index('ix_connection_order_pushes_due', 'connection_order_pushes', ['status', 'next_attempt_at'],
                    unique=False)
    op.create_index('ix_connection_order_pushes_external', 'connection_order_pushes',
                    ['connection_id', 'external_order_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_connection_order_pushes_external', table_name='connection_order_pushes')
    op.drop_index('ix_connection_order_pushes_due', table_name='connection_order_pushes')
    op.drop_table('connection_order_pushes')
    op.drop_index('ix_connection_syncs_recent', table_name='connection_syncs')
    op.drop_table('connection_syncs')
    op.drop_index('ix_connection_webhooks_recent', table_name='connection_webhooks')
    op.drop_table('connection_webhooks')
    op.drop_index('ix_connection_links_variant_id', table_name='connection_links')
    op.drop_index('ix_connection_links_external_variant', table_name='connection_links')
    op.drop_table('connection_links')
    op.drop_table('store_connections')
