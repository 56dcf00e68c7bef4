"""community: Fan Club members and point counters, the room's fans-only mode, community events,
missions, progress and counted actions

Revision ID: 0019_community
Revises: 0018_gifts
Create Date: 2026-12-06 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019_community'
down_revision: str | None = '0018_gifts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('live_rooms') as batch_op:
        batch_op.add_column(sa.Column('fans_only', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('fan_club_members',
    sa.Column('host_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('joined_at', WHEN, nullable=False),
    sa.Column('last_points_at', WHEN, nullable=False),
    sa.Column('lapsed_at', WHEN, nullable=True),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_fan_club_members_host_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_fan_club_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('host_id', 'user_id', name=op.f('pk_fan_club_members'))
    )
    op.create_index('ix_fan_club_members_host_status_points', 'fan_club_members', ['host_id', 'status', 'points'])
    op.create_table('fan_point_counters',
    sa.Column('host_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('bucket', sa.String(length=40), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_fan_point_counters_host_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_fan_point_counters_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('host_id', 'user_id', 'bucket', name=op.f('pk_fan_point_counters'))
    )
    op.create_table('community_events',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('starts_at', WHEN, nullable=False),
    sa.Column('ends_at', WHEN, nullable=False),
    sa.Column('gift_conversion', sa.String(length=12), nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_events')),
    sa.UniqueConstraint('slug', name=op.f('uq_community_events_slug'))
    )
    op.create_index('ix_community_events_window', 'community_events', ['starts_at', 'ends_at'])
    op.create_table('community_missions',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('event_id', BIG_ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('reward_kind', sa.String(length=8), nullable=False),
    sa.Column('reward_badge', sa.String(length=60), nullable=True),
    sa.Column('reward_amount', sa.Integer(), nullable=True),
    sa.Column('reward_percent_bps', sa.Integer(), nullable=True),
    sa.Column('reward_currency', sa.String(length=3), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['community_events.id'], name=op.f('fk_community_missions_event_id_community_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_missions'))
    )
    op.create_index(op.f('ix_community_missions_event_id'), 'community_missions', ['event_id'])
    op.create_table('community_progress',
    sa.Column('mission_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('event_id', BIG_ID, nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('completed_at', WHEN, nullable=True),
    sa.Column('reward_reference', sa.String(length=80), nullable=True),
    sa.Column('reward_code', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['community_events.id'], name=op.f('fk_community_progress_event_id_community_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mission_id'], ['community_missions.id'], name=op.f('fk_community_progress_mission_id_community_missions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_progress_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mission_id', 'user_id', name=op.f('pk_community_progress'))
    )
    op.create_index('ix_community_progress_user_event', 'community_progress', ['user_id', 'event_id'])
    op.create_table('community_actions',
    sa.Column('mission_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('action_key', sa.String(length=80), nullable=False),
    sa.Column('at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['mission_id'], ['community_missions.id'], name=op.f('fk_community_actions_mission_id_community_missions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_community_actions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mission_id', 'user_id', 'action_key', name=op.f('pk_community_actions'))
    )


def downgrade() -> None:
    op.drop_table('community_actions')
    op.drop_index('ix_community_progress_user_event', table_name='community_progress')
    op.drop_table('community_progress')
    op.drop_index(op.f('ix_community_missions_event_id'), table_name='community_missions')
    op.drop_table('community_missions')
    op.drop_index('ix_community_events_window', table_name='community_events')
    op.drop_table('community_events')
    op.drop_table('fan_point_counters')
    op.drop_index('ix_fan_club_members_host_status_points', table_name='fan_club_members')
    op.drop_table('fan_club_members')
    with op.batch_alter_table('live_rooms') as batch_op:
        batch_op.drop_column('fans_only')
