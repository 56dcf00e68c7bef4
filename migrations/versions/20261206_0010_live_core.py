"""live core: per-LIVE publish keys, reminders, in-app notifications

Revision ID: 0010_live_core
Revises: 0011_live_room
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_live_core'
down_revision: str | None = '0011_live_room'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('lives') as batch:
        batch.add_column(sa.Column('publish_key_digest', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f('uq_lives_publish_key_digest'), ['publish_key_digest'])
    op.create_table('live_reminders',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['live_id'], ['lives.id'], name=op.f('fk_live_reminders_live_id_lives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_reminders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('live_id', 'user_id', name=op.f('pk_live_reminders'))
    )
    op.create_index('ix_live_reminders_user', 'live_reminders', ['user_id'], unique=False)
    op.create_table('notifications',
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', BIG_ID, nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('url', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('user_id', 'kind', 'subject_id', name='uq_notifications_user_subject')
    )
    op.create_index('ix_notifications_user_id', 'notifications', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notifications_user_id', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index('ix_live_reminders_user', table_name='live_reminders')
    op.drop_table('live_reminders')
    with op.batch_alter_table('lives') as batch:
        batch.drop_constraint(op.f('uq_lives_publish_key_digest'), type_='unique')
        batch.drop_column('publish_key_digest')
