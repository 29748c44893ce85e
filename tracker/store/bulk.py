"""Many rows into one table, fast, on either database.

PostgreSQL: ``COPY`` into a temporary table shaped like the target (``CREATE TEMP TABLE ...
AS SELECT <columns> FROM <table> WITH NO DATA``), then one ``INSERT ... SELECT`` (with
``ON CONFLICT DO NOTHING`` when asked). ``COPY`` streams the rows without a statement or a
round trip per row; an ``executemany`` of 94,550 reminders took most of the 14 s that
planning 10,000 agreements did, and this takes a fraction of it.

SQLite (and anything else): the driver's ``executemany`` of one statement compiled once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

_TEMP_NAMES = itertools.count()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def bulk_insert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_existing: bool = False,
) -> int:
    """Insert ``rows`` (dicts with the same keys, column names) into ``table`` in the
    connection's transaction; with ``skip_existing`` a row whose unique key exists already
    is left out. Returns the number of rows inserted."""
    if not rows:
        return 0
    columns = list(rows[0])
    if connection.dialect.name == "postgresql":
        return _copy_insert(connection, table, columns, rows, skip_existing)
    statement: Any = insert(table)
    if connection.dialect.name == "sqlite":
        statement = sqlite.insert(table)
        if skip_existing:
            statement = statement.on_conflict_do_nothing()
    return int(connection.execute(statement, list(rows)).rowcount)


def _copy_insert(
    connection: Connection,
    table: Table,
    columns: list[str],
    rows: Sequence[dict[str, Any]],
    skip_existing: bool,
) -> int:
    names = ", ".join(_quoted(c) for c in columns)
    temp = f"bulk_{table.name}_{next(_TEMP_NAMES)}"
    target = _quoted(table.name)
    # Statements go through SQLAlchemy, so that they run in (and begin, if need be) its
    # transaction; only the COPY itself uses the driver's cursor, inside that transaction.
    # The temporary table has the target's column types and no constraints (the ids come
    # from the target's own default on the INSERT below).
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE {_quoted(temp)} ON COMMIT DROP AS "
        f"SELECT {names} FROM {target} WITH NO DATA"
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    copy_sql = f"COPY {_quoted(temp)} ({names}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
    conflict = " ON CONFLICT DO NOTHING" if skip_existing else ""
    result = connection.exec_driver_sql(
        f"INSERT INTO {target} ({names}) SELECT {names} FROM {_quoted(temp)}{conflict}"
    )
    inserted = result.rowcount
    connection.exec_driver_sql(f"DROP TABLE {_quoted(temp)}")
    return int(inserted)
