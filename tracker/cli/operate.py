"""Commands for operators: ``tracker status`` and ``tracker test-channel NAME``.

``status`` reads the database, validates the agreements folder as the service would sync it,
asks the running service (``/healthz`` at the configured host and port, or ``--url``) for its
scheduler and last tick, and lists the channels with their state. It exits 1 when anything
is not well, so a script or a monitoring check can call it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.cli.app import STATE, app, fail

if TYPE_CHECKING:
    from tracker.app.channels import ChannelState
    from tracker.app.status import StatusReport


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@app.command("test-channel")
def test_channel_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Channel name, as configured.")],
) -> None:
    """Send a test message through a channel now and print what the receiver answered
    (exit 1 when it was not accepted). Changes no state."""
    from tracker.app.channels import test_channel
    from tracker.logs import configure_logging

    settings = STATE.settings()
    # The log channel's test line goes where the service's would (stderr).
    configure_logging(settings.log_level, json_lines=settings.log_format == "json")
    result = asyncio.run(test_channel(settings, name, now=datetime.now(UTC)))
    status = f" ({result.status})" if result.status is not None else ""
    if not result.ok:
        raise fail(
            f"channel {name} ({result.type}) did not accept the test{status}: {result.detail}"
        )
    typer.echo(f"channel {name} ({result.type}) accepted the test message{status}: {result.detail}")


@app.command("status")
def status_command(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="Where the running service answers (default: http://HOST:PORT from the "
            "configuration).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show how the tracker is doing: database, agreements folder (invalid files), the
    running service's scheduler and last tick, and the channels. Exit 1 if anything is not
    well."""
    from tracker.app.context import Context
    from tracker.app.status import probe_service, service_url, status_report

    settings = STATE.settings()
    probe = asyncio.run(probe_service(url or service_url(settings)))
    context = Context.connect(settings)
    try:
        report = status_report(context, service=probe)
    finally:
        context.close()
    if as_json:
        typer.echo(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        print_report(report)
    if report.problems:
        raise typer.Exit(code=1)


def _channel_line(channel: ChannelState) -> str:
    state = "enabled" if channel.enabled else f"DISABLED since {_when(channel.disabled_at)}"
    line = (
        f"  {channel.name} ({channel.type}): {state}; last success {_when(channel.last_success_at)}"
        f"; last error {_when(channel.last_error_at)}"
    )
    if channel.last_error:
        line += f": {' '.join(channel.last_error.split())[:200]}"
    if channel.problem:
        line += f"\n    cannot deliver: {channel.problem}"
    if not channel.enabled and channel.disabled_reason:
        line += f"\n    disabled because: {channel.disabled_reason}"
    return line


def print_report(report: StatusReport) -> None:
    if report.database_problem:
        typer.echo(f"database:  {report.database}: {report.database_problem}")
    else:
        revision = report.revision or "none (empty database)"
        head = " (head)" if report.revision and report.revision == report.head else ""
        typer.echo(
            f"database:  {report.database}: reachable, schema revision {revision}{head}, "
            f"{report.agreements} agreement(s)"
        )
    folder = report.folder
    if folder is None:
        typer.echo("folder:    none (agreements_dir is not set)")
    elif folder.problem:
        typer.echo(f"folder:    {folder.path}: {folder.problem}")
    else:
        typer.echo(
            f"folder:    {folder.path}: {folder.files} file(s), {len(folder.invalid)} invalid"
        )
        for file, errors in folder.invalid.items():
            typer.echo(f"  invalid: {file}")
            for error in errors:
                typer.echo(f"    {error}")
    service = report.service
    if service.answer is None:
        typer.echo(f"service:   {service.problem}")
    else:
        answer = service.answer
        scheduler = {True: "running", False: "STOPPED", None: "none"}[answer.get("scheduler")]
        typer.echo(
            f"service:   {service.url}: {answer.get('status')}; scheduler {scheduler}; "
            f"last tick {answer.get('last_tick_at') or 'never'}; worker {answer.get('worker')}"
        )
    typer.echo("channels:")
    for channel in report.channels:
        typer.echo(_channel_line(channel))
    if report.problems:
        typer.echo(f"\n{len(report.problems)} problem(s):")
        for problem in report.problems:
            typer.echo(f"  - {problem}")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def report_json(report: StatusReport) -> dict[str, Any]:
    folder = report.folder
    return {
        "database": {
            "url": report.database,
            "problem": report.database_problem,
            "revision": report.revision,
            "head": report.head,
            "agreements": report.agreements,
        },
        "folder": None
        if folder is None
        else {
            "path": folder.path,
            "files": folder.files,
            "problem": folder.problem,
            "invalid_files": [{"file": f, "errors": e} for f, e in folder.invalid.items()],
        },
        "service": {
            "url": report.service.url,
            "problem": report.service.problem,
            "health": report.service.answer,
        },
        "channels": [
            {
                "name": c.name,
                "type": c.type,
                "enabled": c.enabled,
                "problem": c.problem,
                "disabled_at": _iso(c.disabled_at),
                "disabled_reason": c.disabled_reason,
                "last_success_at": _iso(c.last_success_at),
                "last_error_at": _iso(c.last_error_at),
                "last_error": c.last_error,
            }
            for c in report.channels
        ],
        "problems": report.problems,
    }
