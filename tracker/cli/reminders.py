"""``tracker reminders`` (the plan and the delivery log) and ``tracker simulate``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.cli.app import STATE, app, fail

# The application layer (and with it the database) is imported inside the commands that use
# it, so that file-only commands such as `tracker validate` start without it.
from tracker.cli.files import day_option, read_agreements
from tracker.domain.reminder import ReminderStatus

if TYPE_CHECKING:
    from tracker.app.reminders import Attempt, Reminder, ReminderLog
    from tracker.domain.agreement import Agreement
    from tracker.domain.planner import Simulated
    from tracker.settings import Settings

ERROR_COLUMN_CHARS = 60
MAX_SIMULATE_DAYS = 3660  # ten years of days; longer is almost certainly a typo
STATUSES = tuple(s.value for s in ReminderStatus)
LOG_HEADERS = [
    "ID",
    "STATUS",
    "DUE (UTC)",
    "AGREEMENT",
    "KIND",
    "DEADLINE",
    "PARTY",
    "OFFSET",
    "CHANNEL",
    "TRIES",
    "LAST ERROR / REASON",
]
SIMULATE_HEADERS = [
    "DAY",
    "DUE (UTC)",
    "AGREEMENT",
    "KIND",
    "DEADLINE",
    "PARTY",
    "OFFSET",
    "CHANNEL",
    "ROUTED BY",
]


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def _short(text: str | None, limit: int = ERROR_COLUMN_CHARS) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@app.command("reminders")
def reminders_command(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            "-s",
            help=f"Only reminders with this status ({', '.join(STATUSES)}).",
        ),
    ] = None,
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="Only reminders of this agreement id.")
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """The reminder plan and delivery log: status, attempts, last error, disabled channels."""
    from tracker.app.reminders import reminder_log
    from tracker.app.status import database_label
    from tracker.cli.database import open_database

    if status is not None and status not in STATUSES:
        raise typer.BadParameter(
            f"{status!r} is not a status (one of {', '.join(STATUSES)})", param_hint="--status"
        )
    with open_database() as context:
        log = reminder_log(
            context,
            status=status,
            agreement=agreement,
            with_attempts=output == ListFormat.json,
        )
    if output == ListFormat.json:
        typer.echo(json.dumps(log_json(log), indent=2, ensure_ascii=False))
    else:
        print_log_table(log, status=status, database=database_label(STATE.settings().database_url))


def log_json(log: ReminderLog) -> list[dict[str, Any]]:
    """``tracker reminders --format json``: each reminder with its delivery attempts."""
    return [
        {
            "id": r.id,
            "status": r.status,
            "reason": r.reason,
            "agreement": r.agreement_id,
            "deadline_kind": r.deadline_kind,
            "deadline_date": r.deadline_date.isoformat(),
            "party": r.party or None,
            "offset": r.offset,
            "channel": r.channel,
            "purpose": r.purpose,
            "channel_disabled": log.disabled.get(r.channel),
            "webhook_id": r.webhook_id,
            "due_at": _iso(r.due_at),
            "next_attempt_at": _iso(r.next_attempt_at),
            "attempts": r.attempts,
            "last_error": r.last_error,
            "last_status_code": r.last_status_code,
            "sent_at": _iso(r.sent_at),
            "acknowledged_by": r.acknowledged_by,
            "log": [attempt_json(a) for a in log.attempts.get(r.id or 0, [])],
        }
        for r in log.reminders
    ]


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "started_at": _iso(attempt.started_at),
        "duration_ms": round(attempt.duration_ms, 1),
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "worker": attempt.worker,
    }


def print_log_table(log: ReminderLog, *, status: str | None, database: str) -> None:
    """The disabled channels, one row per reminder, and the count by status."""
    for name, reason in sorted(log.disabled.items()):
        typer.echo(f"CHANNEL DISABLED: {name}: {_short(reason, 200)}")
    if not log.reminders:
        with_status = f" with status {status}" if status else ""
        typer.echo(f"no reminders{with_status} in the database {database}")
        return
    typer.echo(_table(LOG_HEADERS, [log_row(r, log.disabled) for r in log.reminders]))
    counts: dict[str, int] = {}
    for r in log.reminders:
        counts[r.status] = counts.get(r.status, 0) + 1
    typer.echo("\n" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def log_row(r: Reminder, disabled: dict[str, str]) -> list[str]:
    channel = r.channel + (" (DISABLED)" if r.channel in disabled else "")
    note = r.last_error or (r.reason if r.status != "pending" else "")
    return [
        str(r.id),
        r.status,
        r.due_at.strftime("%Y-%m-%d %H:%M") if r.due_at else "",
        r.agreement_id,
        r.deadline_kind,
        r.deadline_date.isoformat(),
        r.party,
        r.offset,
        channel,
        str(r.attempts),
        _short(note),
    ]


@app.command("simulate")
def simulate_command(
    start: Annotated[str, typer.Option("--from", metavar="DAY", help="First day (inclusive).")],
    end: Annotated[str, typer.Option("--to", metavar="DAY", help="Last day (inclusive).")],
    agreements_paths: Annotated[
        list[Path] | None,
        typer.Option("--agreements", "-a", help="Agreement file or folder; default: database."),
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """Every reminder that would be sent between two days, deciding each day with what is known
    that day, and the channels they would go through. Sends nothing and writes nothing.

    Channel names that the configuration does not define are reported (exit 1)."""
    from tracker.app.simulation import simulated

    first, last = day_option(start, "from"), day_option(end, "to")
    if last < first:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    if (last - first).days > MAX_SIMULATE_DAYS:
        raise typer.BadParameter(f"at most {MAX_SIMULATE_DAYS} days", param_hint="--to")
    settings = STATE.settings()
    readable = read_agreements(agreements_paths)
    planned, failed = simulated(settings, readable.agreements, start=first, end=last)
    failed.update(readable.failed)
    for agreement_id, error in sorted(failed.items()):
        typer.echo(f"warning: {agreement_id}: {error}", err=True)
    unknown = unknown_channel_names(settings, readable.agreements)
    for agreement_id, names in unknown.items():
        listed = ", ".join(repr(n) for n in names)
        typer.echo(
            f"warning: {agreement_id}: channel {listed} not configured "
            f"(known: {', '.join(settings.channel_names())}); its reminders there are not "
            "simulated",
            err=True,
        )
    if output == ListFormat.json:
        typer.echo(json.dumps([simulated_json(s) for s in planned], indent=2, ensure_ascii=False))
    elif not planned:
        typer.echo(f"no reminders from {first} to {last}")
    else:
        typer.echo(_table(SIMULATE_HEADERS, [simulated_row(s) for s in planned]))
        typer.echo(f"\n{len(planned)} reminder(s) from {first} to {last}; nothing was sent")
        typer.echo(f"channels used: {channels_used(planned)}")
    problems = []
    if failed:
        problems.append(f"{len(failed)} agreement(s) could not be computed")
    if unknown:
        problems.append(f"{len(unknown)} agreement(s) name channels that are not configured")
    if problems:
        raise fail("; ".join(problems))


def unknown_channel_names(
    settings: Settings, agreements: Sequence[Agreement]
) -> dict[str, list[str]]:
    """Agreement id -> the channel names it gives that the configuration does not define."""
    known = set(settings.channel_names())
    found: dict[str, list[str]] = {}
    for agreement in agreements:
        bad = [name for name in agreement.channels or [] if name not in known]
        if bad:
            found[agreement.id] = bad
    return found


def channels_used(planned: Sequence[Simulated]) -> str:
    """``desk-email (12), log (3)``: each channel the simulated reminders go through."""
    counts: dict[str, int] = {}
    for s in planned:
        counts[s.key.channel] = counts.get(s.key.channel, 0) + 1
    return ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))


def simulated_json(s: Simulated) -> dict[str, Any]:
    return {
        "day": s.day.isoformat(),
        "due_at": s.due_at.isoformat(),
        "agreement": s.key.agreement,
        "deadline_kind": s.key.deadline_kind,
        "deadline_date": s.key.deadline_date.isoformat(),
        "party": s.key.party or None,
        "offset": s.key.offset,
        "channel": s.key.channel,
        "purpose": s.key.purpose,
        "routed_by": s.via,
        "days_left": (s.key.deadline_date - s.day).days,
        "webhook_id": s.key.webhook_id(),
    }


def simulated_row(s: Simulated) -> list[str]:
    return [
        s.day.isoformat(),
        s.due_at.strftime("%Y-%m-%d %H:%M"),
        s.key.agreement,
        s.key.deadline_kind,
        s.key.deadline_date.isoformat(),
        s.key.party,
        s.key.offset if s.key.purpose == "reminder" else f"{s.key.offset} ({s.key.purpose})",
        s.key.channel,
        s.via,
    ]


@app.command("enable-channel")
def enable_channel_command(
    name: Annotated[str, typer.Argument(help="Channel name, as in the configuration.")],
) -> None:
    """Re-enable a channel disabled by HTTP 410 (after the receiver was fixed). Reminders
    already marked dead stay dead; later ones are sent again."""
    from tracker.app import channels
    from tracker.cli.database import open_database

    with open_database() as context:
        was_disabled = channels.enable(context, name)
    if not was_disabled:
        raise fail(f"channel {name!r} is not disabled")
    typer.echo(f"channel {name} enabled at {datetime.now(UTC).isoformat(timespec='seconds')}")
