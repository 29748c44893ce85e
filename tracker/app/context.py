"""What every use case works with: the settings, the database, and what a write sets in
motion.

Each entry point builds one :class:`Context`: ``create_app`` for the API (its writes also
forget the API's remembered answers and let the service re-plan), ``Service`` for the
scheduler, and every database command of the CLI through :func:`opened`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from tracker.domain.durations import shift
from tracker.settings import Settings
from tracker.store.deadlines import Horizon
from tracker.store.engine import database_errors, make_engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class WriteHook(Protocol):
    """What an agreement write sets in motion once it is stored (e.g. re-planning)."""

    def __call__(self, *, now: datetime) -> None: ...


@dataclass(frozen=True)
class Context:
    """The configuration, the database, and ``after_write``: called after every agreement
    write with the moment of the write."""

    settings: Settings
    engine: Engine
    after_write: WriteHook | None = None

    @classmethod
    def connect(cls, settings: Settings, *, after_write: WriteHook | None = None) -> Context:
        """A context on a new engine for ``settings.database_url`` (:meth:`close` it)."""
        return cls(settings, make_engine(settings.database_url), after_write)

    def close(self) -> None:
        self.engine.dispose()

    def today(self, now: datetime) -> date:
        """The day ``now`` falls on in the configured time zone: the default as-of day."""
        return self.settings.today(now)

    def horizon(self, now: datetime) -> Horizon:
        """What a write materialises in its own transaction: the deadlines from today (in the
        configured zone) over the planning horizon, as the service does."""
        today = self.today(now)
        return Horizon(as_of=today, end=shift(today, self.settings.planning_horizon))

    def written(self, *, now: datetime) -> None:
        """Set in motion what follows an agreement write."""
        if self.after_write is not None:
            self.after_write(now=now)


@contextmanager
def opened(settings: Settings, *, migrate: bool = True) -> Iterator[Context]:
    """The configured database for one command, migrated to the newest schema unless
    ``migrate`` is False, closed afterwards. Any database failure inside is raised as
    :class:`tracker.errors.DatabaseError`, so a command reports it in one line."""
    from tracker.store.migrate import upgrade

    context = Context.connect(settings)
    try:
        with database_errors():
            if migrate:
                upgrade(context.engine)
            yield context
    finally:
        context.close()
