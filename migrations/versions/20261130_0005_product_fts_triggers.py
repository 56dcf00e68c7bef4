"""product search triggers again on SQLite

Migration 0003 added ``products.open_to_creators`` in a batch operation, which on SQLite
re-creates the ``products`` table and so drops the triggers that keep the FTS5 index
``product_fts`` in step (migration 0001). Re-create them and rebuild the index from the table
(products written since then were not indexed). PostgreSQL's generated column is unaffected.

Revision ID: 0005_product_fts_triggers
Revises: 0004_feed_refresh_indexes
Create Date: 2026-11-30 23:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005_product_fts_triggers'
down_revision: str | None = '0004_feed_refresh_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = [
    """CREATE TRIGGER products_fts_ai AFTER INSERT ON products BEGIN
        INSERT INTO product_fts(rowid, title, search_text) VALUES (new.id, new.title, new.search_text);
    END""",
    """CREATE TRIGGER products_fts_ad AFTER DELETE ON products BEGIN
        INSERT INTO product_fts(product_fts, rowid, title, search_text)
        VALUES ('delete', old.id, old.title, old.search_text);
    END""",
    """CREATE TRIGGER products_fts_au AFTER UPDATE OF title, search_text ON products BEGIN
        INSERT INTO product_fts(product_fts, rowid, title, search_text)
        VALUES ('delete', old.id, old.title, old.search_text);
        INSERT INTO product_fts(rowid, title, search_text) VALUES (new.id, new.title, new.search_text);
    END""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("products_fts_ai", "products_fts_ad", "products_fts_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in _TRIGGERS:
        op.execute(statement)
    op.execute("INSERT INTO product_fts(product_fts) VALUES ('rebuild')")


def downgrade() -> None:
    """Nothing to undo: the triggers belong to migration 0001."""
