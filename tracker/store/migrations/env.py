"""Alembic environment. :mod:`tracker.store.migrate` hands over an open connection in
``config.attributes["connection"]``; nothing here reads files or the environment."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import tracker.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through tracker.store.migrate (tracker db upgrade)")
    run_migrations(connection)


main()
