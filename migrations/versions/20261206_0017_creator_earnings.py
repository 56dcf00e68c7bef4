"""creator earnings: a payout method and a payout belong to a shop or to a creator (a user)

Existing rows are shops' and stay as they are (``shop_id`` set, ``creator_id`` NULL); a CHECK
keeps exactly one payee per row.

Revision ID: 0017_creator_earnings
Revises: 0010_live_core
Create Date: 2026-12-06 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017_creator_earnings'
down_revision: str | None = '0010_live_core'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_ONE_PAYEE = '(shop_id IS NULL) <> (creator_id IS NULL)'


def upgrade() -> None:
    with op.batch_alter_table('payout_methods', schema=None) as batch_op:
        batch_op.alter_column('shop_id', existing_type=_ID, nullable=True)
        batch_op.add_column(sa.Column('creator_id', _ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payout_methods_creator_id_users'), 'users', ['creator_id'],
                                    ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint(batch_op.f('uq_payout_methods_creator_id'), ['creator_id'])
        batch_op.create_check_constraint('one_payee', _ONE_PAYEE)
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.alter_column('shop_id', existing_type=_ID, nullable=True)
        batch_op.add_column(sa.Column('creator_id', _ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payouts_creator_id_users'), 'users', ['creator_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_payouts_creator_id'), ['creator_id'], unique=False)
        batch_op.create_check_constraint('one_payee', _ONE_PAYEE)


def downgrade() -> None:
    op.execute('DELETE FROM payouts WHERE creator_id IS NOT NULL')
    op.execute('DELETE FROM payout_methods WHERE creator_id IS NOT NULL')
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payouts_one_payee'), type_='check')
        batch_op.drop_index(batch_op.f('ix_payouts_creator_id'))
        batch_op.drop_constraint(batch_op.f('fk_payouts_creator_id_users'), type_='foreignkey')
        batch_op.drop_column('creator_id')
        batch_op.alter_column('shop_id', existing_type=_ID, nullable=False)
    with op.batch_alter_table('payout_methods', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payout_methods_one_payee'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_payout_methods_creator_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_payout_methods_creator_id_users'), type_='foreignkey')
        batch_op.drop_column('creator_id')
        batch_op.alter_column('shop_id', existing_type=_ID, nullable=False)
