"""feed models: the learned ranker's training log (feed_impressions) and its trained models

Revision ID: 0013_feed_models
Revises: 0016_live_selling
Create Date: 2026-12-06 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_feed_models'
down_revision: str | None = '0016_live_selling'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feed_impressions',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('video_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('served_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('slot', sa.String(length=12), nullable=False),
    sa.Column('propensity', sa.Float(), nullable=False),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feed_impressions_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_feed_impressions_video_id_videos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_impressions'))
    )
    op.create_index('ix_feed_impressions_served', 'feed_impressions', ['served_at'], unique=False)
    op.create_table('feed_models',
    sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('feature_names', sa.JSON(), nullable=False),
    sa.Column('coefficients', sa.JSON(), nullable=False),
    sa.Column('importances', sa.JSON(), nullable=False),
    sa.Column('train_examples', sa.Integer(), nullable=False),
    sa.Column('validation_examples', sa.Integer(), nullable=False),
    sa.Column('positives', sa.Integer(), nullable=False),
    sa.Column('val_ndcg', sa.Float(), nullable=True),
    sa.Column('hand_val_ndcg', sa.Float(), nullable=True),
    sa.Column('val_auc', sa.Float(), nullable=True),
    sa.Column('hand_val_auc', sa.Float(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_models'))
    )
    op.create_index('ix_feed_models_status', 'feed_models', ['status', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_feed_models_status', table_name='feed_models')
    op.drop_table('feed_models')
    op.drop_index('ix_feed_impressions_served', table_name='feed_impressions')
    op.drop_table('feed_impressions')
