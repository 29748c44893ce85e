"""``tracker reminders`` (the plan and the delivery log) and ``tracker simulate``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.app import STATE, app, fail

# The store (SQLAlchemy) is imported inside the commands that use it, so that file-only
# commands such as `tracker validate` start without it.
from tracker.cli.files import parse_day, read_agreements
from tracker.domain.planner import simulate
from tracker.domain.reminder import ReminderStatus

ERROR_COLUMN_CHARS = 60
MAX_SIMULATE_DAYS = 3660  # ten years of days; longer is almost certainly a typo


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


@app.command("reminders")
def reminders_command(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            "-s",
            help=f"Only reminders with this status ({', '.join(s.value for s in ReminderStatus)}).",
        ),
    ] = None,
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="Only reminders of this agreement id.")
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
) -> None:
    """The reminder plan and delivery log: status, attempts, last error, disabled channels."""
    from tracker.cli.database import open_database
    from tracker.store import reminders as outbox

    if status is not None and status not in {s.value for s in ReminderStatus}:
        raise typer.BadParameter(
            f"{status!r} is not a status (one of {', '.join(s.value for s in ReminderStatus)})",
            param_hint="--status",
        )
    with open_database() as engine:
        rows = outbox.list_reminders(engine, status=status, agreement=agreement)
        disabled = outbox.disabled_channels(engine)
        attempts: dict[int, list[Any]] = {}
        if output == ListFormat.json:
            for attempt in outbox.list_attempts(engine):
                attempts.setdefault(attempt.reminder_id, []).append(attempt)
    if output == ListFormat.json:
        data = [
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
                "channel_disabled": disabled.get(r.channel),
                "webhook_id": r.webhook_id,
                "due_at": r.due_at.isoformat() if r.due_at else None,
                "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "last_status_code": r.last_status_code,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "acknowledged_by": r.acknowledged_by,
                "log": [
                    {
                        "attempt": a.attempt,
                        "started_at": a.started_at.isoformat(),
                        "duration_ms": round(a.duration_ms, 1),
                        "outcome": a.outcome,
                        "status_code": a.status_code,
                        "error": a.error,
                        "worker": a.worker,
                    }
                    for a in attempts.get(r.id or 0, [])
                ],
            }
            for r in rows
        ]
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for name, reason in sorted(disabled.items()):
        typer.echo(f"CHANNEL DISABLED: {name}: {_short(reason, 200)}")
    if not rows:
        typer.echo("no reminders" + (f" with status {status}" if status else ""))
        return
    table_rows = []
    for r in rows:
        channel = r.channel + (" (DISABLED)" if r.channel in disabled else "")
        note = r.last_error or (r.reason if r.status != "pending" else "")
        table_rows.append(
            [
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
        )
    typer.echo(
        _table(
            [
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
            ],
            table_rows,
        )
    )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    typer.echo("\n" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


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
    that day. Sends nothing and writes nothing."""
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if last < first:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    if (last - first).days > MAX_SIMULATE_DAYS:
        raise typer.BadParameter(f"at most {MAX_SIMULATE_DAYS} days", param_hint="--to")
    settings = STATE.settings()
    readable = read_agreements(agreements_paths)
    planned, failed = simulate(
        readable.agreements, settings.reminder_policy(), start=first, end=last
    )
    failed.update(readable.failed)
    for agreement_id, error in sorted(failed.items()):
        typer.echo(f"warning: {agreement_id}: {error}", err=True)
    if output == ListFormat.json:
        typer.echo(
            json.dumps(
                [
                    {
                        "day": s.day.isoformat(),
                        "due_at": s.due_at.isoformat(),
                        "agreement": s.key.agreement,
                        "deadline_kind": s.key.deadline_kind,
                        "deadline_date": s.key.deadline_date.isoformat(),
                        "party": s.key.party or None,
                        "offset": s.key.offset,
                        "channel": s.key.channel,
                        "days_left": (s.key.deadline_date - s.day).days,
                        "webhook_id": s.key.webhook_id(),
                    }
                    for s in planned
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not planned:
        typer.echo(f"no reminders from {first} to {last}")
        return
    typer.echo(
        _table(
            ["DAY", "DUE (UTC)", "AGREEMENT", "KIND", "DEADLINE", "PARTY", "OFFSET", "CHANNEL"],
            [
                [
                    s.day.isoformat(),
                    s.due_at.strftime("%Y-%m-%d %H:%M"),
                    s.key.agreement,
                    s.key.deadline_kind,
                    s.key.deadline_date.isoformat(),
                    s.key.party,
                    s.key.offset,
                    s.key.channel,
                ]
                for s in planned
            ],
        )
    )
    typer.echo(f"\n{len(planned)} reminder(s) from {first} to {last}; nothing was sent")
    if failed:
        raise fail(f"{len(failed)} agreement(s) could not be computed")


@app.command("enable-channel")
def enable_channel_command(
    name: Annotated[str, typer.Argument(help="Channel name, as in the configuration.")],
) -> None:
    """Re-enable a channel disabled by HTTP 410 (after the receiver was fixed). Reminders
    already marked dead stay dead; later ones are sent again."""
    from datetime import UTC, datetime

    from tracker.cli.database import open_database
    from tracker.store import reminders as outbox

    with open_database() as engine:
        was_disabled = outbox.enable_channel(engine, name)
    if not was_disabled:
        raise fail(f"channel {name!r} is not disabled")
    typer.echo(f"channel {name} enabled at {datetime.now(UTC).isoformat(timespec='seconds')}")
