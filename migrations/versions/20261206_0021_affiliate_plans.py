"""affiliate plans: plans, their products and rate history, memberships, sample requests, showcases;
each shop's ``open_to_creators`` products become an open plan at 10 %

Revision ID: 0021_affiliate_plans
Revises: 0010_live_core
Create Date: 2026-12-06 04:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0021_affiliate_plans'
down_revision: str | None = '0010_live_core'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# The rate of the open plans made from ``open_to_creators`` (the default of MERCATO_AFFILIATE_DEFAULT_RATE_BPS).
MIGRATED_RATE_BPS = 1000


def upgrade() -> None:
    op.create_table('affiliate_plans',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('shop_id', ID, nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('rate_bps', sa.Integer(), nullable=True),
    sa.Column('flat_fee', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('requires_approval', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(rate_bps IS NULL) <> (flat_fee IS NULL)', name=op.f('ck_affiliate_plans_one_commission')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_affiliate_plans_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_plans'))
    )
    op.create_index('ix_affiliate_plans_shop', 'affiliate_plans', ['shop_id', 'status'])
    op.create_index('ix_affiliate_plans_status', 'affiliate_plans', ['status', 'kind', 'id'])

    op.create_table('affiliate_plan_products',
    sa.Column('plan_id', ID, nullable=False),
    sa.Column('product_id', ID, nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['affiliate_plans.id'], name=op.f('fk_affiliate_plan_products_plan_id_affiliate_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_affiliate_plan_products_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'product_id', name=op.f('pk_affiliate_plan_products'))
    )
    op.create_index('ix_affiliate_plan_products_product', 'affiliate_plan_products', ['product_id'])

    op.create_table('affiliate_rate_changes',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('plan_id', ID, nullable=False),
    sa.Column('rate_bps', sa.Integer(), nullable=True),
    sa.Column('flat_fee', sa.BigInteger(), nullable=True),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['affiliate_plans.id'], name=op.f('fk_affiliate_rate_changes_plan_id_affiliate_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_rate_changes'))
    )
    op.create_index('ix_affiliate_rate_changes_plan', 'affiliate_rate_changes', ['plan_id', 'effective_at', 'id'])

    op.create_table('affiliate_memberships',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('plan_id', ID, nullable=False),
    sa.Column('creator_id', ID, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['affiliate_plans.id'], name=op.f('fk_affiliate_memberships_plan_id_affiliate_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_affiliate_memberships_creator_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_memberships')),
    sa.UniqueConstraint('plan_id', 'creator_id', name='uq_affiliate_memberships_plan_creator')
    )
    op.create_index('ix_affiliate_memberships_creator', 'affiliate_memberships', ['creator_id', 'status'])
    op.create_index('ix_affiliate_memberships_plan', 'affiliate_memberships', ['plan_id', 'status', 'id'])

    op.create_table('affiliate_sample_requests',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('plan_id', ID, nullable=False),
    sa.Column('shop_id', ID, nullable=False),
    sa.Column('product_id', ID, nullable=False),
    sa.Column('variant_id', ID, nullable=False),
    sa.Column('creator_id', ID, nullable=False),
    sa.Column('address_id', ID, nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_id', ID, nullable=True),
    sa.Column('post_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['affiliate_plans.id'], name=op.f('fk_affiliate_sample_requests_plan_id_affiliate_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_affiliate_sample_requests_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_affiliate_sample_requests_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_affiliate_sample_requests_variant_id_variants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_affiliate_sample_requests_creator_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_sample_requests'))
    )
    op.create_index('ix_affiliate_samples_shop', 'affiliate_sample_requests', ['shop_id', 'status', 'id'])
    op.create_index('ix_affiliate_samples_creator', 'affiliate_sample_requests', ['creator_id', 'id'])
    op.create_index('ix_affiliate_samples_remind', 'affiliate_sample_requests', ['status', 'reminded_at', 'post_by'])

    op.create_table('affiliate_showcase_items',
    sa.Column('creator_id', ID, nullable=False),
    sa.Column('product_id', ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_affiliate_showcase_items_creator_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_affiliate_showcase_items_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('creator_id', 'product_id', name=op.f('pk_affiliate_showcase_items'))
    )
    op.create_index('ix_affiliate_showcase_order', 'affiliate_showcase_items', ['creator_id', 'position', 'product_id'])

    _migrate_open_to_creators()


def _migrate_open_to_creators() -> None:
    """Plans replace ``products.open_to_creators`` (kept, no longer read): a shop with such products
    gets one open plan over them, and every creator whose video already anchors one of them (not a
    member of the shop) joins it, so existing videos stay within the rules."""
    now = datetime.now(UTC)
    params = {"now": now, "yes": True, "no": False, "rate": MIGRATED_RATE_BPS}
    op.execute(sa.text(
        "INSERT INTO affiliate_plans (shop_id, name, kind, scope, rate_bps, currency, requires_approval, status,"
        " description, created_at, updated_at)"
        " SELECT s.id, 'Open to creators', 'open', 'products', :rate, s.currency, :no, 'active', '', :now, :now"
        " FROM shops s WHERE EXISTS (SELECT 1 FROM products p WHERE p.shop_id = s.id AND p.open_to_creators = :yes)"
    ).bindparams(**params))
    op.execute(sa.text(
        "INSERT INTO affiliate_plan_products (plan_id, product_id, added_at)"
        " SELECT pl.id, p.id, :now FROM products p JOIN affiliate_plans pl ON pl.shop_id = p.shop_id"
        " WHERE p.open_to_creators = :yes"
    ).bindparams(now=now, yes=True))
    op.execute(sa.text(
        "INSERT INTO affiliate_rate_changes (plan_id, rate_bps, effective_at)"
        " SELECT id, rate_bps, :now FROM affiliate_plans"
    ).bindparams(now=now))
    op.execute(sa.text(
        "INSERT INTO affiliate_memberships (plan_id, creator_id, status, message, created_at, decided_at, joined_at)"
        " SELECT DISTINCT pp.plan_id, v.creator_id, 'active', '', :now, :now, :now"
        " FROM video_products vp JOIN videos v ON v.id = vp.video_id"
        " JOIN affiliate_plan_products pp ON pp.product_id = vp.product_id"
        " JOIN products p ON p.id = vp.product_id"
        " WHERE NOT EXISTS (SELECT 1 FROM shop_members m WHERE m.shop_id = p.shop_id AND m.user_id = v.creator_id)"
    ).bindparams(now=now))


def downgrade() -> None:
    op.drop_table('affiliate_showcase_items')
    op.drop_table('affiliate_sample_requests')
    op.drop_table('affiliate_memberships')
    op.drop_table('affiliate_rate_changes')
    op.drop_table('affiliate_plan_products')
    op.drop_table('affiliate_plans')
