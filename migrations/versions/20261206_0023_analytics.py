"""analytics: the raw event stream, its minute/hour/day rollups and how far hours and days are rolled

Revision ID: 0023_analytics
Revises: 0020_credits
Create Date: 2026-12-06 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023_analytics'
down_revision: str | None = '0020_credits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
DIMENSIONS = ('creator_id', 'video_id', 'live_id', 'product_id', 'shop_id', 'age_band', 'region', 'currency')


def upgrade() -> None:
    op.create_table('analytics_events',
    sa.Column('event_id', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('creator_id', BIG_ID, nullable=True),
    sa.Column('video_id', BIG_ID, nullable=True),
    sa.Column('live_id', BIG_ID, nullable=True),
    sa.Column('product_id', BIG_ID, nullable=True),
    sa.Column('shop_id', BIG_ID, nullable=True),
    sa.Column('viewer_id', BIG_ID, nullable=True),
    sa.Column('age_band', sa.String(length=8), nullable=True),
    sa.Column('region', sa.String(length=8), nullable=True),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('watch_ms', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_events')),
    sa.UniqueConstraint('event_id', name='uq_analytics_events_event_id')
    )
    op.create_index('ix_analytics_events_occurred_at', 'analytics_events', ['occurred_at'])
    op.create_index('ix_analytics_events_clicks', 'analytics_events', ['viewer_id', 'product_id', 'occurred_at'],
                    sqlite_where=sa.text("kind = 'product_card_click'"),
                    postgresql_where=sa.text("kind = 'product_card_click'"))

    op.create_table('analytics_rollups',
    sa.Column('grain', sa.String(length=6), nullable=False),
    sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('creator_id', BIG_ID, nullable=False),
    sa.Column('video_id', BIG_ID, nullable=False),
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('product_id', BIG_ID, nullable=False),
    sa.Column('shop_id', BIG_ID, nullable=False),
    sa.Column('age_band', sa.String(length=8), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('value_sum', sa.BigInteger(), nullable=False),
    sa.Column('quantity_sum', sa.BigInteger(), nullable=False),
    sa.Column('watch_ms', sa.BigInteger(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_rollups')),
    sa.UniqueConstraint('grain', 'bucket', 'kind', 'source', *DIMENSIONS, name='uq_analytics_rollups_key')
    )
    op.create_index('ix_analytics_rollups_shop', 'analytics_rollups', ['shop_id', 'grain', 'bucket'])
    op.create_index('ix_analytics_rollups_creator', 'analytics_rollups', ['creator_id', 'grain', 'bucket'])
    op.create_index('ix_analytics_rollups_live', 'analytics_rollups', ['live_id', 'grain', 'bucket'])

    op.create_table('analytics_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rolled_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_rollup_state'))
    )


def downgrade() -> None:
    op.drop_table('analytics_rollup_state')
    op.drop_table('analytics_rollups')
    op.drop_table('analytics_events')
