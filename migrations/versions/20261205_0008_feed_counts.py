"""feed counts: a viewer's client-reported events per video and kind in the current window (caps)

Revision ID: 0008_feed_counts
Revises: 0007_video_file_lookup
Create Date: 2026-12-05 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_feed_counts'
down_revision: str | None = '0007_video_file_lookup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feed_counts',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('video_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feed_counts_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_feed_counts_video_id_videos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'video_id', 'kind', name=op.f('pk_feed_counts'))
    )


def downgrade() -> None:
    op.drop_table('feed_counts')
