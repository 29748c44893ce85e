"""How the service is doing: health (database reachable, scheduler running, last runs) and
the figures a metrics scrape reads from the database."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tracker.errors import DatabaseError
from tracker.logs import fields
from tracker.store.engine import display_url, ping
from tracker.store.metrics import Counts, read_counts

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.app.context import Context

__all__ = ["Counts", "Health", "counts", "database_problem", "database_reachable", "health"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """Liveness of one process. ``scheduler`` is None where no scheduler runs (an API
    without a service); the instants are aware UTC datetimes, None before the first run;
    ``invalid_files`` are the agreement folder's files that failed validation at the last
    sync (file -> error lines)."""

    database: bool
    scheduler: bool | None = None
    worker: str | None = None
    last_tick_at: datetime | None = None
    last_plan_at: datetime | None = None
    invalid_files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``unavailable`` without a database; ``degraded`` when the scheduler stopped or a
        file in the agreements folder is invalid; else ``ok``."""
        if not self.database:
            return "unavailable"
        return "degraded" if self.scheduler is False or self.invalid_files else "ok"


def database_reachable(engine: Engine) -> bool:
    """Whether the database answers; why not is logged."""
    try:
        ping(engine)
    except DatabaseError as exc:
        log.warning("health.database_unreachable", extra=fields(error=exc.kind))
        return False
    return True


def health(context: Context) -> Health:
    """The health of a process that runs no scheduler: the database alone."""
    return Health(database=database_reachable(context.engine))


def database_problem(context: Context) -> str | None:
    """None when the database answers; otherwise one line saying which database
    (credentials masked) cannot be reached and why."""
    try:
        ping(context.engine)
    except DatabaseError as exc:
        shown = display_url(context.settings.database_url)
        return f"cannot connect to the database {shown}: {exc.reason}"
    return None


def counts(context: Context, *, now: datetime, upcoming: int) -> Counts | None:
    """Reminders by status, attempts by channel and the ``upcoming`` nearest deadlines from
    today (UTC), or None when the database cannot be read."""
    try:
        return read_counts(context.engine, from_day=now.astimezone(UTC).date(), limit=upcoming)
    except DatabaseError:
        return None
