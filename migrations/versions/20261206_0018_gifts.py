"""gifts: coin wallets, coin purchases (lots), the gift catalog, gifts sent, coin history; a payment
intent may pay a coin purchase instead of a checkout

Revision ID: 0018_gifts
Revises: 0017_creator_earnings
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_gifts'
down_revision: str | None = '0017_creator_earnings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ['users.id'], name=op.f(f'fk_{table}_{column}_users'), ondelete='CASCADE')


def upgrade() -> None:
    with op.batch_alter_table('payment_intents') as batch:
        batch.alter_column('checkout_id', existing_type=BIG_ID, nullable=True)
    op.create_table('coin_wallets',
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('coins', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    _user_fk('coin_wallets', 'user_id'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_coin_wallets')),
    sa.CheckConstraint('coins >= 0', name=op.f('ck_coin_wallets_coins_not_negative')),
    )
    op.create_table('coin_purchases',
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('pack', sa.String(length=40), nullable=False),
    sa.Column('coins', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('intent_id', BIG_ID, nullable=True),
    sa.Column('coins_left', sa.BigInteger(), nullable=False),
    sa.Column('amount_left', sa.BigInteger(), nullable=False),
    sa.Column('refunded_coins', sa.BigInteger(), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('paid_at', WHEN, nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    _user_fk('coin_purchases', 'user_id'),
    sa.ForeignKeyConstraint(['intent_id'], ['payment_intents.id'],
                            name=op.f('fk_coin_purchases_intent_id_payment_intents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coin_purchases')),
    sa.UniqueConstraint('intent_id', name=op.f('uq_coin_purchases_intent_id')),
    )
    op.create_index(op.f('ix_coin_purchases_user_id'), 'coin_purchases', ['user_id'], unique=False)
    op.create_index('ix_coin_purchases_lots', 'coin_purchases', ['user_id', 'status', 'paid_at', 'id'], unique=False)
    op.create_table('gifts',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('coins', sa.Integer(), nullable=False),
    sa.Column('animation', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('joins_fan_club', sa.Boolean(), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gifts')),
    sa.UniqueConstraint('name', name=op.f('uq_gifts_name')),
    )
    op.create_table('gift_sends',
    sa.Column('live_id', BIG_ID, nullable=False),
    sa.Column('host_id', BIG_ID, nullable=False),
    sa.Column('sender_id', BIG_ID, nullable=False),
    sa.Column('gift_id', BIG_ID, nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('coins', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('host_share', sa.BigInteger(), nullable=False),
    sa.Column('route', sa.String(length=12), nullable=False),
    sa.Column('combo', sa.Integer(), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('released_at', WHEN, nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['live_id'], ['lives.id'], name=op.f('fk_gift_sends_live_id_lives'), ondelete='CASCADE'),
    _user_fk('gift_sends', 'host_id'),
    _user_fk('gift_sends', 'sender_id'),
    sa.ForeignKeyConstraint(['gift_id'], ['gifts.id'], name=op.f('fk_gift_sends_gift_id_gifts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_sends')),
    )
    op.create_index('ix_gift_sends_live_sender', 'gift_sends', ['live_id', 'sender_id'], unique=False)
    op.create_index('ix_gift_sends_host_sender', 'gift_sends', ['host_id', 'sender_id'], unique=False)
    op.create_index('ix_gift_sends_sender_id', 'gift_sends', ['sender_id', 'id'], unique=False)
    op.create_table('coin_entries',
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('coins', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('purchase_id', BIG_ID, nullable=True),
    sa.Column('gift_send_id', BIG_ID, nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    _user_fk('coin_entries', 'user_id'),
    sa.ForeignKeyConstraint(['purchase_id'], ['coin_purchases.id'],
                            name=op.f('fk_coin_entries_purchase_id_coin_purchases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['gift_send_id'], ['gift_sends.id'],
                            name=op.f('fk_coin_entries_gift_send_id_gift_sends'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coin_entries')),
    )
    op.create_index('ix_coin_entries_user_id', 'coin_entries', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('coin_entries')
    op.drop_table('gift_sends')
    op.drop_table('gifts')
    op.drop_table('coin_purchases')
    op.drop_table('coin_wallets')
    with op.batch_alter_table('payment_intents') as batch:
        batch.alter_column('checkout_id', existing_type=BIG_ID, nullable=False)
