"""live room: room rules and counters, moderators, mutes, bans, reports

Revision ID: 0011_live_room
Revises: 0014_read_versions
Create Date: 2026-12-06 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_live_room'
down_revision: str | None = '0014_read_versions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _live_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['live_id'], ['lives.id'], name=op.f(f'fk_{table}_live_id_lives'), ondelete='CASCADE')


def upgrade() -> None:
    op.create_table('live_rooms',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('slow_mode_seconds', sa.Integer(), nullable=False),
    sa.Column('comments', sa.String(length=8), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('likes_total', sa.Integer(), nullable=False),
    sa.Column('shares_total', sa.Integer(), nullable=False),
    _live_fk('live_rooms'),
    sa.PrimaryKeyConstraint('live_id', name=op.f('pk_live_rooms'))
    )
    op.create_table('live_moderators',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _live_fk('live_moderators'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_moderators_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('live_id', 'user_id', name=op.f('pk_live_moderators'))
    )
    op.create_table('live_mutes',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', BIG_ID, nullable=True),
    _live_fk('live_mutes'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_mutes_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_live_mutes_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('live_id', 'user_id', name=op.f('pk_live_mutes'))
    )
    op.create_table('live_bans',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('by_id', BIG_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _live_fk('live_bans'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_bans_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_live_bans_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('live_id', 'user_id', name=op.f('pk_live_bans'))
    )
    op.create_table('live_reports',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('reporter_id', BIG_ID, nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    _live_fk('live_reports'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_live_reports_reporter_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_reports')),
    sa.UniqueConstraint('live_id', 'reporter_id', name=op.f('uq_live_reports_live_id'))
    )
    op.create_index(op.f('ix_live_reports_live_id'), 'live_reports', ['live_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_live_reports_live_id'), table_name='live_reports')
    op.drop_table('live_reports')
    op.drop_table('live_bans')
    op.drop_table('live_mutes')
    op.drop_table('live_moderators')
    op.drop_table('live_rooms')
