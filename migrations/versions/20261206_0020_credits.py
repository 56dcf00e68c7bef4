"""shopping credits: the part of an order paid with the buyer's credits

Revision ID: 0020_credits
Revises: 0019_community
Create Date: 2026-12-06 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020_credits'
down_revision: str | None = '0019_community'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The balance itself is the ledger's (user:U:credits:CUR); an order only keeps how much of its
    # total the buyer's credits paid (the card was charged the rest).
    op.add_column('orders', sa.Column('credits', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('credits')
