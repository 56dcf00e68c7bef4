"""INSERT and UPDATE text for plain statements, built from the models' tables.

A plain statement (:class:`~mercato.kit.sql.transaction.InTransaction`) skips the ORM, so
nothing would keep a hand-typed column list in step with the model: a column added, renamed
or quoted (``"key"``, ``"to"``) would silently be missed. These helpers read the column names
from ``Model.__table__`` (quoted) and name each ``:parameter`` after the model's attribute,
so the parameters are the model's own keyword arguments. The text is built once per
distinct call and cached (the hot paths call them per statement).

How to write a statement with them (every domain's repository)::

    _ADD_EVENT_SQL = insert_sql(PaymentEvent, ("intent_id", "type", "data", "created_at"))
    await InTransaction.of(db).execute(_ADD_EVENT_SQL, {"intent_id": 1, "type": "created", ...})

    # insert-if-absent, the new id or None
    insert_sql(Key, ("scope", "key", "status"), on_conflict=("scope", "key"), returning="id")
    # upsert: the SET clause is SQL, ``excluded.<column>`` is the row that was refused
    insert_sql(Seen, ("user_id", "video_id", "seen_at"), on_conflict=("user_id", "video_id"),
               on_conflict_set={"seen_at": 'excluded."seen_at"'})

    update_sql(PaymentIntent, ("status", "updated_at"))  # ... WHERE "id" = :id
    # a guarded update: the WHERE clause is SQL; name a parameter apart from the SET ones
    update_sql(PaymentIntent, ("attempts", "status"), where="id = :id AND attempts = :attempts_before")

Columns are given by attribute name (as the model spells them); ``None`` means every column
but an autoincrement primary key. Literal values (``'done'``, ``0``) are passed as parameters
like any other. Only the SQL that is specific to one statement (a guard, an upsert's
arithmetic) stays typed by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy import inspect as sa_inspect


def _hashable(model: type[Any]) -> Any:
    """A model class as the caches' key (classes hash by identity; typed ``Any`` for the cache)."""
    return model


def quoted(name: str) -> str:
    """A column or table name as an identifier both databases accept whatever the word."""
    return '"' + name.replace('"', '""') + '"'


@functools.lru_cache(maxsize=256)
def _column_names(model: Any) -> dict[str, str]:
    """Attribute name → column name of every column of ``model``'s table (in table order)."""
    mapper = sa_inspect(model)
    table: Table = model.__table__
    return {mapper.get_property_by_column(column).key: column.name for column in table.columns}


def column_name(model: type[Any], attribute: str) -> str:
    """The column behind ``model.attribute``; a ``KeyError`` naming the model for a typo."""
    try:
        return _column_names(_hashable(model))[attribute]
    except KeyError:
        raise KeyError(f"{model.__name__} has no column attribute {attribute!r}") from None


def _default_columns(model: Any) -> tuple[str, ...]:
    table: Table = model.__table__
    names = _column_names(model)
    skipped = {column.name for column in table.primary_key.columns
               if column.autoincrement is True or column.autoincrement == "auto"}
    return tuple(attribute for attribute, name in names.items() if name not in skipped)


def _names(model: Any, attributes: tuple[str, ...]) -> str:
    return ", ".join(quoted(column_name(model, attribute)) for attribute in attributes)


def insert_sql(model: type[Any], columns: tuple[str, ...] | None = None, *,
               returning: str | tuple[str, ...] | None = None,
               on_conflict: tuple[str, ...] | None = None,
               on_conflict_set: Mapping[str, str] | None = None) -> str:
    """``INSERT INTO "table" ("a", "b") VALUES (:a, :b)`` for ``model``.

    - ``columns``: attribute names (None: every column but an autoincrement primary key);
    - ``on_conflict``: the conflict target (attribute names): ``ON CONFLICT (…) DO NOTHING``,
      or ``DO UPDATE SET`` with ``on_conflict_set`` (attribute name → SQL expression);
    - ``returning``: attribute name(s) of the inserted row to return.
    """
    set_items = tuple(on_conflict_set.items()) if on_conflict_set else None
    if isinstance(returning, str):
        returning = (returning,)
    return _insert_sql(_hashable(model), columns, returning, on_conflict, set_items)


@functools.lru_cache(maxsize=512)
def _insert_sql(model: Any, columns: tuple[str, ...] | None, returning: tuple[str, ...] | None,
                on_conflict: tuple[str, ...] | None, set_items: tuple[tuple[str, str], ...] | None) -> str:
    attributes = columns if columns is not None else _default_columns(model)
    if not attributes:
        raise ValueError("an INSERT needs at least one column")
    placeholders = ", ".join(":" + attribute for attribute in attributes)
    sql = f"INSERT INTO {quoted(model.__table__.name)} ({_names(model, attributes)}) VALUES ({placeholders})"  # noqa: S608
    if set_items and not on_conflict:
        raise ValueError("on_conflict_set needs the conflict target (on_conflict)")
    if on_conflict:
        sql += f" ON CONFLICT ({_names(model, on_conflict)}) "
        if set_items:
            sql += "DO UPDATE SET " + ", ".join(f"{quoted(column_name(model, attribute))} = {expression}"
                                                for attribute, expression in set_items)
        else:
            sql += "DO NOTHING"
    if returning:
        sql += f" RETURNING {_names(model, returning)}"
    return sql


def update_sql(model: type[Any], columns: tuple[str, ...], *, where: str | tuple[str, ...] = ("id",),
               returning: tuple[str, ...] | None = None) -> str:
    """``UPDATE "table" SET "a" = :a, "b" = :b WHERE …`` for ``model``'s attributes ``columns``.

    ``where``: attribute names compared for equality with the parameter of the same name
    (default: the ``id``), or SQL text (a guard: name its parameters apart from ``columns``)."""
    return _update_sql(_hashable(model), columns, where, returning)


@functools.lru_cache(maxsize=512)
def _update_sql(model: Any, columns: tuple[str, ...], where: str | tuple[str, ...],
                returning: tuple[str, ...] | None) -> str:
    if not columns:
        raise ValueError("an UPDATE needs at least one column")
    assignments = ", ".join(f"{quoted(column_name(model, attribute))} = :{attribute}" for attribute in columns)
    if isinstance(where, str):
        condition = where
    else:
        condition = " AND ".join(f"{quoted(column_name(model, attribute))} = :{attribute}" for attribute in where)
    sql = f"UPDATE {quoted(model.__table__.name)} SET {assignments} WHERE {condition}"  # noqa: S608
    if returning:
        sql += f" RETURNING {_names(model, returning)}"
    return sql
