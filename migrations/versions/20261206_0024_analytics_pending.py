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
ROLLUP_KEY = ('grain', 'bucket', 'kind', 'source', 'creator_id', 'video_id', 'live_id', 'product_id', 'shop_id',
              'age_band', 'region', 'currency')


def upgrade() -> None:
    op.create_table('analytics_pending',
    sa.Column('event_pk', BIG_ID, nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_pending'))
    )
    # Events recorded before this revision are in their minute rollups already: nothing to queue.


def downgrade() -> None:
    # Fold what is queued before the queue goes (the rollups hold it from then on).
    bind = op.get_bind()
    pending = bind.execute(sa.text('SELECT count(*) FROM analytics_pending')).scalar_one()
    if pending:
        raise RuntimeError(f'{pending} analytics events are not folded yet: run the analytics_fold job first')
    op.drop_table('analytics_pending')
