"""Schema migrations (alembic), configured in code so no ``alembic.ini`` is needed.

``upgrade`` is what ``tracker serve`` and every database command run first. On PostgreSQL it
holds an advisory lock for the whole migration, so replicas that start together migrate
exactly once: the first applies the revisions, the others wait and then find nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from tracker.errors import TrackerError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number works; this one spells "tracker" in ASCII, to recognise it in
# pg_locks. It is distinct from the agreement-writer lock in tracker.store.repository.
MIGRATION_LOCK_KEY = 0x747261636B6572


class MigrationError(TrackerError):
    """A migration that cannot run as asked, e.g. to a revision that does not exist; the
    message is alembic's."""


@contextmanager
def _alembic_errors() -> Iterator[None]:
    try:
        yield
    except CommandError as exc:
        raise MigrationError(str(exc)) from exc


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config pointing at the packaged migrations, sharing ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _lock_for_migration(connection: Connection) -> None:
    # A transaction-level lock: released by the commit that also publishes the new schema
    # (PostgreSQL DDL is transactional), so a waiting replica sees the finished result.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; a no-op when the database is already there."""
    with _alembic_errors(), engine.begin() as connection:
        _lock_for_migration(connection)
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Revert migrations down to ``revision`` (``base``: no tables left)."""
    with _alembic_errors(), engine.begin() as connection:
        _lock_for_migration(connection)
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty (unmigrated) database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
