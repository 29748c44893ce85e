"""The database's schema: migrate it up or down, and say where it stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.store import migrate

if TYPE_CHECKING:
    from tracker.app.context import Context


def upgrade(context: Context, revision: str = "head") -> str | None:
    """Apply migrations up to ``revision``; the revision the database is at afterwards."""
    migrate.upgrade(context.engine, revision)
    return migrate.current_revision(context.engine)


def downgrade(context: Context, revision: str = "base") -> str | None:
    """Revert migrations down to ``revision``; the revision the database is at afterwards."""
    migrate.downgrade(context.engine, revision)
    return migrate.current_revision(context.engine)


def current_revision(context: Context) -> str | None:
    """The revision the database is at, or None for an empty (unmigrated) database."""
    return migrate.current_revision(context.engine)


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return migrate.head_revision()
