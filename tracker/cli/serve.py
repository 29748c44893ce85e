"""``tracker serve``: the HTTP API, the web page and the scheduler in one process.

uvicorn owns the process: on SIGTERM or Ctrl-C it stops accepting requests, finishes the ones
in flight and runs the app's lifespan shutdown, which stops the service (the scheduler waits
for a tick in progress and releases this worker's claimed reminders).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.app import STATE, app, fail

if TYPE_CHECKING:
    from tracker.app.context import Context

#: How long uvicorn waits for open connections before shutting down anyway.
GRACEFUL_SHUTDOWN_S = 20


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Configuration file (YAML).")
    ] = None,
) -> None:
    """Run the API, the web page and the reminder scheduler (migrations applied first)."""
    import uvicorn

    from tracker.api.app import create_app
    from tracker.logs import configure_logging
    from tracker.service import Service

    if config is not None:
        STATE.config = config
    settings = STATE.settings(host=host, port=port)
    # Other commands work without a channel whose ${VAR} is unset; the service needs them all.
    settings.require_channels()
    configure_logging(settings.log_level, json_lines=settings.log_format == "json")
    service = Service(settings)
    check_database(service.context)
    application = create_app(settings, service=service)
    # uvicorn re-raises a captured SIGTERM after its graceful shutdown, with the handler that
    # was installed before it started. Installing one that exits 0 makes a requested stop a
    # clean exit (status 0 for systemd and Docker) instead of death by signal (143).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )


def check_database(context: Context) -> None:
    """Connect once before serving: an unreachable database is a one-line ``Error:`` and
    exit 1 (credentials redacted from the URL), not a traceback from the web server's
    start-up and its exit status 3."""
    from tracker.app.status import database_problem

    problem = database_problem(context)
    if problem is not None:
        context.close()
        raise fail(problem)


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)
