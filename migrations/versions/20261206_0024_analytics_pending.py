"""analytics: the events recorded and not yet folded into the rollups

Revision ID: 0024_analytics_pending
Revises: 0022_affiliate_money
Create Date: 2026-12-06 08:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024_analytics_pending'
down_revision: str | None = '0022_affiliate_money'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('analytics_pending',
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
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
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('watch_ms', sa.BigInteger(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_pending'))
    )
    # Events recorded before this revision are in their minute rollups already: nothing to queue.
    if op.get_bind().dialect.name == 'postgresql':
        # The fold updates the same minute rows again and again: room on each page lets PostgreSQL
        # keep a row's new version on its page and skip every index (a HOT update).
        op.execute('ALTER TABLE analytics_rollups SET (fillfactor = 70)')


def downgrade() -> None:
    # Fold what is queued before the queue goes (the rollups hold it from then on).
    bind = op.get_bind()
    pending = bind.execute(sa.text('SELECT count(*) FROM analytics_pending')).scalar_one()
    if pending:
        raise RuntimeError(f'{pending} analytics events are not folded yet: run the analytics_fold job first')
    op.drop_table('analytics_pending')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE analytics_rollups RESET (fillfactor)')
