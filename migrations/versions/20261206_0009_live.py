"""live: LIVEs and the hosts' stream keys

Revision ID: 0009_live
Revises: 0008_feed_counts
Create Date: 2026-12-06 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_live'
down_revision: str | None = '0008_feed_counts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('lives',
    sa.Column('host_id', BIG_ID, nullable=False),
    sa.Column('shop_id', BIG_ID, nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('cover_path', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('publisher_left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_reason', sa.String(length=40), nullable=True),
    sa.Column('replay_path', sa.String(length=255), nullable=True),
    sa.Column('pinned_product_id', BIG_ID, nullable=True),
    sa.Column('peak_viewers', sa.Integer(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_lives_host_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_lives_shop_id_shops'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pinned_product_id'], ['products.id'], name=op.f('fk_lives_pinned_product_id_products'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lives'))
    )
    op.create_index('ix_lives_status_started', 'lives', ['status', 'started_at'], unique=False)
    op.create_index('ix_lives_host_status', 'lives', ['host_id', 'status'], unique=False)
    op.create_table('live_stream_keys',
    sa.Column('host_id', BIG_ID, nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('key_hint', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_live_stream_keys_host_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('host_id', name=op.f('pk_live_stream_keys')),
    sa.UniqueConstraint('key_digest', name=op.f('uq_live_stream_keys_key_digest'))
    )


def downgrade() -> None:
    op.drop_table('live_stream_keys')
    op.drop_index('ix_lives_host_status', table_name='lives')
    op.drop_index('ix_lives_status_started', table_name='lives')
    op.drop_table('lives')
