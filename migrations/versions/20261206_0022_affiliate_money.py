"""affiliate money: links, touchpoints, attributions, commissions

Revision ID: 0022_affiliate_money
Revises: 0021_affiliate_plans
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022_affiliate_money'
down_revision: str | None = '0021_affiliate_plans'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('affiliate_links',
    sa.Column('creator_id', BIG_ID, nullable=False),
    sa.Column('product_id', BIG_ID, nullable=True),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_affiliate_links_creator_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_affiliate_links_product_id_products'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_links')),
    sa.UniqueConstraint('code', name=op.f('uq_affiliate_links_code'))
    )
    op.create_index('ix_affiliate_links_creator_product', 'affiliate_links', ['creator_id', 'product_id'])

    op.create_table('affiliate_touchpoints',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('creator_id', BIG_ID, nullable=False),
    sa.Column('product_id', BIG_ID, nullable=True),
    sa.Column('user_id', BIG_ID, nullable=True),
    sa.Column('visitor_id', sa.String(length=32), nullable=True),
    sa.Column('link_id', BIG_ID, nullable=True),
    sa.Column('video_id', BIG_ID, nullable=True),
    sa.Column('live_id', BIG_ID, nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_affiliate_touchpoints_creator_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                            name=op.f('fk_affiliate_touchpoints_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_affiliate_touchpoints_user_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['affiliate_links.id'],
                            name=op.f('fk_affiliate_touchpoints_link_id_affiliate_links'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_touchpoints'))
    )
    op.create_index('ix_affiliate_touchpoints_user_at', 'affiliate_touchpoints', ['user_id', 'at'])
    op.create_index('ix_affiliate_touchpoints_visitor', 'affiliate_touchpoints', ['visitor_id'])
    op.create_index('ix_affiliate_touchpoints_creator_at', 'affiliate_touchpoints', ['creator_id', 'at'])

    op.create_table('affiliate_attributions',
    sa.Column('order_id', BIG_ID, nullable=False),
    sa.Column('order_line_id', BIG_ID, nullable=False),
    sa.Column('product_id', BIG_ID, nullable=False),
    sa.Column('creator_id', BIG_ID, nullable=True),
    sa.Column('touchpoint_id', BIG_ID, nullable=True),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_affiliate_attributions_order_id_orders'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                            name=op.f('fk_affiliate_attributions_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_affiliate_attributions_creator_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['touchpoint_id'], ['affiliate_touchpoints.id'],
                            name=op.f('fk_affiliate_attributions_touchpoint_id_affiliate_touchpoints'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_attributions')),
    sa.UniqueConstraint('order_line_id', name=op.f('uq_affiliate_attributions_order_line_id'))
    )
    op.create_index(op.f('ix_affiliate_attributions_order_id'), 'affiliate_attributions', ['order_id'])

    op.create_table('affiliate_commissions',
    sa.Column('order_id', BIG_ID, nullable=False),
    sa.Column('order_line_id', BIG_ID, nullable=False),
    sa.Column('shop_id', BIG_ID, nullable=False),
    sa.Column('creator_id', BIG_ID, nullable=False),
    sa.Column('product_id', BIG_ID, nullable=False),
    sa.Column('plan_id', BIG_ID, nullable=True),
    sa.Column('touchpoint_id', BIG_ID, nullable=True),
    sa.Column('video_id', BIG_ID, nullable=True),
    sa.Column('live_id', BIG_ID, nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('base', sa.BigInteger(), nullable=False),
    sa.Column('rate_bps', sa.Integer(), nullable=True),
    sa.Column('flat_fee', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reversed', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_affiliate_commissions_order_id_orders'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                            name=op.f('fk_affiliate_commissions_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_affiliate_commissions_creator_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['touchpoint_id'], ['affiliate_touchpoints.id'],
                            name=op.f('fk_affiliate_commissions_touchpoint_id_affiliate_touchpoints'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_commissions')),
    sa.UniqueConstraint('order_line_id', name=op.f('uq_affiliate_commissions_order_line_id'))
    )
    op.create_index(op.f('ix_affiliate_commissions_order_id'), 'affiliate_commissions', ['order_id'])
    op.create_index(op.f('ix_affiliate_commissions_shop_id'), 'affiliate_commissions', ['shop_id'])
    op.create_index('ix_affiliate_commissions_creator_created', 'affiliate_commissions', ['creator_id', 'created_at'])


def downgrade() -> None:
    op.drop_table('affiliate_commissions')
    op.drop_table('affiliate_attributions')
    op.drop_table('affiliate_touchpoints')
    op.drop_table('affiliate_links')
