"""feed refresh indexes: the For You index reads rows changed since its last refresh

Revision ID: 0004_feed_refresh_indexes
Revises: 0003_videos_feed
Create Date: 2026-11-30 23:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004_feed_refresh_indexes'
down_revision: str | None = '0003_videos_feed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('video_scores', schema=None) as batch_op:
        batch_op.create_index('ix_video_scores_updated', ['updated_at'], unique=False)
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index('ix_videos_updated', ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.drop_index('ix_videos_updated')
    with op.batch_alter_table('video_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_video_scores_updated')
