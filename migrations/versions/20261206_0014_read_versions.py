"""read versions: ``products.version``, bumped by the database on every change a product body shows

The catalog's shared body caches (``catalog/read_cache.py``) key a product's JSON by this number,
so it must change with everything the body shows, whoever writes it (the catalog's services, the
buying path's guarded stock updates, reviews, imports, plain SQL): triggers, not application
code. A product row's update bumps it (price, stock, counts, ratings, status, texts); a variant
or an image added, changed or removed bumps its product; a shop's name, slug or colour, a
category's or a brand's name, slug or path changing bumps every product showing it.

Revision ID: 0014_read_versions
Revises: 0012_connections
Create Date: 2026-12-06 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_read_versions'
down_revision: str | None = '0012_connections'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column of ``products`` that points at it, the columns a product body shows)
_SHOWN_BY = (
    ("shops", "shop_id", ("name", "slug", "color")),
    ("categories", "category_id", ("name", "slug", "path")),
    ("brands", "brand_id", ("name", "slug")),
)
_CHILDREN = ("variants", "product_images")

_SQLITE_DROP = ["products_version_au"] + [
    f"{table}_version_{op_}" for table in _CHILDREN for op_ in ("ai", "au", "ad")
] + [f"{table}_version_au" for table, _, _ in _SHOWN_BY]


def upgrade() -> None:
    op.add_column("products", sa.Column("version", sa.BigInteger(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def _sqlite_triggers() -> None:
    # The WHEN clause stops the trigger's own update from firing it again; the update sets only
    # ``version``, so the FTS triggers (UPDATE OF title, search_text) stay quiet.
    op.execute(
        "CREATE TRIGGER products_version_au AFTER UPDATE ON products WHEN NEW.version = OLD.version "
        "BEGIN UPDATE products SET version = OLD.version + 1 WHERE id = NEW.id; END"
    )
    for table in _CHILDREN:
        for op_, event, row in (("ai", "INSERT", "NEW"), ("au", "UPDATE", "NEW"), ("ad", "DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_version_{op_} AFTER {event} ON {table} "
                f"BEGIN UPDATE products SET version = version + 1 WHERE id = {row}.product_id; END"
            )
        # A variant or image moved to another product (never done, but cheap to get right).
        op.execute(
            f"CREATE TRIGGER {table}_version_moved AFTER UPDATE OF product_id ON {table} "
            "WHEN NEW.product_id IS NOT OLD.product_id "
            "BEGIN UPDATE products SET version = version + 1 WHERE id = OLD.product_id; END"
        )
    for table, column, shown in _SHOWN_BY:
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in shown)
        op.execute(
            f"CREATE TRIGGER {table}_version_au AFTER UPDATE OF {', '.join(shown)} ON {table} WHEN {changed} "
            f"BEGIN UPDATE products SET version = version + 1 WHERE {column} = NEW.id; END"
        )


def _postgresql_triggers() -> None:
    op.execute(
        """CREATE FUNCTION products_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.version = OLD.version THEN
                NEW.version := OLD.version + 1;
            END IF;
            RETURN NEW;
        END $$"""
    )
    op.execute("CREATE TRIGGER products_version_bu BEFORE UPDATE ON products "
               "FOR EACH ROW EXECUTE FUNCTION products_version_bump()")
    op.execute(
        """CREATE FUNCTION products_version_of_child() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE products SET version = version + 1 WHERE id = OLD.product_id;
            END IF;
            IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.product_id IS DISTINCT FROM OLD.product_id) THEN
                UPDATE products SET version = version + 1 WHERE id = NEW.product_id;
            END IF;
            RETURN NULL;
        END $$"""
    )
    for table in _CHILDREN:
        op.execute(f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION products_version_of_child()")
    op.execute(
        """CREATE FUNCTION products_version_of_shown() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE format('UPDATE products SET version = version + 1 WHERE %I = $1', TG_ARGV[0]) USING NEW.id;
            RETURN NULL;
        END $$"""
    )
    for table, column, shown in _SHOWN_BY:
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in shown)
        op.execute(f"CREATE TRIGGER {table}_version AFTER UPDATE OF {', '.join(shown)} ON {table} "
                   f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION products_version_of_shown('{column}')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in [*_SQLITE_DROP, *(f"{table}_version_moved" for table in _CHILDREN)]:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS products_version_bu ON products")
        for table in _CHILDREN:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        for table, _, _ in _SHOWN_BY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        for function in ("products_version_bump", "products_version_of_child", "products_version_of_shown"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_column("products", "version")  # SQLite ≥ 3.35 drops it in place (the FTS triggers stay)
