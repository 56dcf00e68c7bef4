"""blocks looked up by the blocked user (the feed hides creators who blocked the viewer)

Revision ID: 0006_blocks_by_blocked
Revises: 0005_product_fts_triggers
Create Date: 2026-11-30 23:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006_blocks_by_blocked'
down_revision: str | None = '0005_product_fts_triggers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_blocks_blocked', 'blocks', ['blocked_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_blocks_blocked', table_name='blocks')
