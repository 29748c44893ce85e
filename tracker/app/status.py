"""How the service is doing: health (database reachable, scheduler running, last runs) and
the figures a metrics scrape reads from the database."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.app.channels import ChannelState
from tracker.errors import DatabaseError, ValidationFailed
from tracker.logs import fields
from tracker.store.engine import display_url, ping
from tracker.store.metrics import Counts, read_counts

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.app.context import Context
    from tracker.settings import Settings

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


def database_label(url: str) -> str:
    """The database as a message names it: credentials and query values masked (see
    :func:`tracker.store.engine.display_url`), a relative SQLite path made absolute
    (``sqlite:////srv/tracker/tracker.db``) so that it says which file was used."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        path, sep, query = url[len(prefix) :].partition("?")
        if path and path != ":memory:" and not os.path.isabs(path):
            url = prefix + os.path.abspath(path) + sep + query
    return display_url(url)


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
        shown = database_label(context.settings.database_url)
        return f"cannot connect to the database {shown}: {exc.reason}"
    return None


def counts(context: Context, *, now: datetime, upcoming: int) -> Counts | None:
    """Reminders by status, attempts by channel and the ``upcoming`` nearest deadlines from
    today (UTC), or None when the database cannot be read."""
    try:
        return read_counts(context.engine, from_day=now.astimezone(UTC).date(), limit=upcoming)
    except DatabaseError:
        return None


#: How long ``tracker status`` waits for the running service to answer ``/healthz``.
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class FolderState:
    """The agreements folder: how many agreement files, and the invalid ones (file ->
    errors), as a sync would find them now."""

    path: str
    files: int
    invalid: dict[str, list[str]]
    problem: str | None = None


@dataclass(frozen=True)
class ServiceProbe:
    """What the running service said at ``url`` (``/healthz``), or why it did not answer."""

    url: str
    answer: dict[str, Any] | None
    problem: str | None = None


@dataclass(frozen=True)
class StatusReport:
    """Everything ``tracker status`` shows: the database, the folder, the service's scheduler
    and last tick, and the channels."""

    database: str
    database_problem: str | None
    revision: str | None
    head: str | None
    agreements: int | None
    folder: FolderState | None
    service: ServiceProbe
    channels: list[ChannelState]

    @property
    def problems(self) -> list[str]:
        """Each thing that is not well, in one line."""
        found: list[str] = []
        if self.database_problem:
            found.append(self.database_problem)
        if self.folder is not None:
            if self.folder.problem:
                found.append(self.folder.problem)
            for file in self.folder.invalid:
                found.append(f"invalid agreement file {file}")
        if self.service.problem:
            found.append(self.service.problem)
        elif self.service.answer is not None and self.service.answer.get("status") != "ok":
            found.append(f"the service says {self.service.answer.get('status')}")
        for channel in self.channels:
            if channel.problem:
                found.append(f"channel {channel.name}: {channel.problem}")
            if not channel.enabled:
                found.append(f"channel {channel.name} is disabled: {channel.disabled_reason}")
        return found


def folder_state(directory: Path) -> FolderState:
    """The folder's agreement files validated now, as the service's sync reads them."""
    from tracker.store.sync import folder_paths, load_valid

    if not directory.is_dir():
        return FolderState(str(directory), 0, {}, f"the agreements folder {directory} is missing")
    try:
        _, errors = load_valid(directory)
    except ValidationFailed as exc:
        return FolderState(str(directory), 0, {}, str(exc))
    invalid: dict[str, list[str]] = {}
    for error in errors:
        invalid.setdefault(error.file or str(directory), []).append(str(error))
    return FolderState(str(directory), len(folder_paths(directory)), invalid)


def service_url(settings: Settings) -> str:
    """Where the service of these settings listens (a wildcard address asked on loopback)."""
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


async def probe_service(url: str) -> ServiceProbe:
    """Ask the service at ``url`` for ``/healthz`` (through the tracker's HTTP client)."""
    import httpx

    from tracker.notify.http import make_http_client

    target = url.rstrip("/") + "/healthz"
    client = make_http_client(timeout_s=PROBE_TIMEOUT_S)
    try:
        response = await client.get(target)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return ServiceProbe(url, None, f"no service answers at {target} ({type(exc).__name__})")
    finally:
        await client.aclose()
    if not isinstance(answer, dict):
        return ServiceProbe(url, None, f"{target} did not answer with a health report")
    return ServiceProbe(url, answer)


def status_report(context: Context, *, service: ServiceProbe) -> StatusReport:
    """The database (reachable, schema revision, agreements), the agreements folder, the
    service's answer and the channels; a part that cannot be read says why."""
    from tracker.app import agreements, channels, database

    settings = context.settings
    problem = database_problem(context)
    revision = agreements_count = None
    states: list[ChannelState] = []
    if problem is None:
        try:
            revision = database.current_revision(context)
            agreements_count = agreements.count(context) if revision is not None else 0
            states = channels.list_channels(context) if revision is not None else []
        except DatabaseError as exc:
            problem = f"cannot read the database {database_label(settings.database_url)}: {exc}"
    if not states:
        states = channels.list_channels(context, with_activity=False)
    directory = settings.agreements_dir
    return StatusReport(
        database=database_label(settings.database_url),
        database_problem=problem,
        revision=revision,
        head=database.head_revision(),
        agreements=agreements_count,
        folder=folder_state(directory) if directory is not None else None,
        service=service,
        channels=states,
    )
