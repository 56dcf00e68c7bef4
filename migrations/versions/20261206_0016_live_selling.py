"""live selling: price history, LIVE flash deals, LIVE coupons, watch time, giveaways; LIVE purchases

Revision ID: 0016_live_selling
Revises: 0009_live
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0016_live_selling'
down_revision: str | None = '0009_live'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
RUNNING = sa.text("phase IN ('announced', 'open')")


def upgrade() -> None:
    op.create_table('variant_prices',
    sa.Column('variant_id', BIG_ID, nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_variant_prices_variant_id_variants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variant_prices'))
    )
    op.create_index('ix_variant_prices_variant_recorded', 'variant_prices', ['variant_id', 'recorded_at'])
    # Every variant's current price starts its history (from now: older prices were never kept).
    now = datetime.now(UTC)
    op.get_bind().execute(sa.text("INSERT INTO variant_prices (variant_id, price, recorded_at) "
                                  "SELECT id, price, :now FROM variants"), {"now": now})

    op.create_table('live_flash_deals',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('variant_id', BIG_ID, nullable=False),
    sa.Column('product_id', BIG_ID, nullable=False),
    sa.Column('created_by', BIG_ID, nullable=True),
    sa.Column('deal_price', sa.BigInteger(), nullable=False),
    sa.Column('regular_price', sa.BigInteger(), nullable=False),
    sa.Column('lowest_price_30d', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_units', sa.Integer(), nullable=False),
    sa.Column('units_left', sa.Integer(), nullable=False),
    sa.Column('per_buyer_limit', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('units_left >= 0 AND units_left <= total_units',
                       name=op.f('ck_live_flash_deals_units_within_total')),
    sa.CheckConstraint('deal_price > 0', name=op.f('ck_live_flash_deals_deal_price_positive')),
    sa.ForeignKeyConstraint(['live_id'], ['lives.id'], name=op.f('fk_live_flash_deals_live_id_lives'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_live_flash_deals_variant_id_variants'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_live_flash_deals_product_id_products'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_live_flash_deals_created_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_flash_deals'))
    )
    op.create_index('uq_live_flash_deals_running', 'live_flash_deals', ['live_id'], unique=True,
                    sqlite_where=RUNNING, postgresql_where=RUNNING)
    op.create_index('ix_live_flash_deals_phase', 'live_flash_deals', ['phase', 'opens_at'])

    op.create_table('live_deal_buyers',
    sa.Column('deal_id', BIG_ID, nullable=False),
    sa.Column('buyer_id', BIG_ID, nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_live_deal_buyers_quantity_not_negative')),
    sa.ForeignKeyConstraint(['deal_id'], ['live_flash_deals.id'], name=op.f('fk_live_deal_buyers_deal_id_live_flash_deals'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_live_deal_buyers_buyer_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('deal_id', 'buyer_id', name=op.f('pk_live_deal_buyers'))
    )
    op.create_table('live_deal_holds',
    sa.Column('deal_id', BIG_ID, nullable=False),
    sa.Column('buyer_id', BIG_ID, nullable=False),
    sa.Column('checkout_id', BIG_ID, nullable=False),
    sa.Column('order_line_id', BIG_ID, nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['live_flash_deals.id'], name=op.f('fk_live_deal_holds_deal_id_live_flash_deals'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_live_deal_holds_buyer_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['checkout_id'], ['checkouts.id'], name=op.f('fk_live_deal_holds_checkout_id_checkouts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                            name=op.f('fk_live_deal_holds_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_deal_holds'))
    )
    op.create_index(op.f('ix_live_deal_holds_checkout_id'), 'live_deal_holds', ['checkout_id'])

    op.create_table('live_coupons',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('coupon_id', BIG_ID, nullable=False),
    sa.Column('watch_minutes', sa.Integer(), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['live_id'], ['lives.id'], name=op.f('fk_live_coupons_live_id_lives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_live_coupons_coupon_id_coupons'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_coupons'))
    )
    op.create_index('uq_live_coupons_live_coupon', 'live_coupons', ['live_id', 'coupon_id'], unique=True)
    op.create_table('live_coupon_claims',
    sa.Column('live_coupon_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['live_coupon_id'], ['live_coupons.id'],
                            name=op.f('fk_live_coupon_claims_live_coupon_id_live_coupons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_coupon_claims_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('live_coupon_id', 'user_id', name=op.f('pk_live_coupon_claims'))
    )
    op.create_table('live_watch_time',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('seconds', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['live_id'], ['lives.id'], name=op.f('fk_live_watch_time_live_id_lives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_watch_time_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('live_id', 'user_id', name=op.f('pk_live_watch_time'))
    )
    op.create_table('live_giveaways',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('created_by', BIG_ID, nullable=True),
    sa.Column('prize', sa.String(length=200), nullable=False),
    sa.Column('winners_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=True),
    sa.Column('eligible', sa.JSON(), nullable=False),
    sa.Column('winners', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['live_id'], ['lives.id'], name=op.f('fk_live_giveaways_live_id_lives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_live_giveaways_created_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_giveaways'))
    )
    op.create_index(op.f('ix_live_giveaways_live_id'), 'live_giveaways', ['live_id'])

    # LIVE purchases: where an order was placed (no foreign key: orders outlive any LIVE).
    op.add_column('orders', sa.Column('source', sa.String(length=10), nullable=False, server_default='direct'))
    op.add_column('orders', sa.Column('live_id', BIG_ID, nullable=True))
    op.create_index('ix_orders_live', 'orders', ['live_id'])


def downgrade() -> None:
    op.drop_index('ix_orders_live', table_name='orders')
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('live_id')
        batch_op.drop_column('source')
    op.drop_index(op.f('ix_live_giveaways_live_id'), table_name='live_giveaways')
    op.drop_table('live_giveaways')
    op.drop_table('live_watch_time')
    op.drop_table('live_coupon_claims')
    op.drop_index('uq_live_coupons_live_coupon', table_name='live_coupons')
    op.drop_table('live_coupons')
    op.drop_index(op.f('ix_live_deal_holds_checkout_id'), table_name='live_deal_holds')
    op.drop_table('live_deal_holds')
    op.drop_table('live_deal_buyers')
    op.drop_index('ix_live_flash_deals_phase', table_name='live_flash_deals')
    op.drop_index('uq_live_flash_deals_running', table_name='live_flash_deals')
    op.drop_table('live_flash_deals')
    op.drop_index('ix_variant_prices_variant_recorded', table_name='variant_prices')
    op.drop_table('variant_prices')
