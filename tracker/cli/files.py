"""Commands that read agreements: ``validate``, ``deadlines``, ``explain``, ``schema``.

``deadlines`` and ``explain`` read agreement files with ``--agreements PATH`` and the database
otherwise. These commands are the only place here that reads the clock: "today" is the date in
the configured time zone, and only when ``--as-of`` is not given.

Exit codes (SPEC 3): 0 ok; 1 a failure the user can fix (invalid files, unknown agreement id,
empty database), with ``Error: ...`` or the file errors on stderr; 2 a usage error (a bad
date, an unknown kind, ``--to`` with ``--within``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.app import STATE, app, fail
from tracker.cli.render import (
    ExplainFormat,
    OutputFormat,
    deadlines_csv,
    deadlines_ics,
    deadlines_json,
    explanation_dict,
    make_console,
    print_deadlines_table,
    print_explanation,
)
from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, DeadlineKind
from tracker.domain.durations import DurationParseError, add_months, parse_duration, shift
from tracker.errors import ValidationFailed, failure_detail
from tracker.loader import agreement_json_schema, load_paths

EMPTY_DATABASE_HINT = "the database is empty; run `tracker import seeds` or pass --agreements seeds"

_AgreementsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--agreements",
        "-a",
        metavar="PATH",
        help="Agreement file or folder (repeatable); without it the database is read.",
        show_default=False,
    ),
]
_AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DAY",
        help="Compute as if today were DAY (YYYY-MM-DD); later events are ignored.",
        show_default="today",
    ),
]


def parse_day(value: str, option: str) -> date:
    """A ``YYYY-MM-DD`` option value; anything else is a usage error (exit 2)."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (expected YYYY-MM-DD, e.g. 2020-08-07)",
            param_hint=option,
        ) from None


def today() -> date:
    """Today in the configured time zone (the clock is read here and nowhere else)."""
    settings = STATE.settings()
    return settings.today(datetime.now(UTC))


def print_file_errors(exc: ValidationFailed) -> typer.Exit:
    """Every error on stderr, one per line; the exit to raise (code 1)."""
    for error in exc.errors:
        typer.echo(str(error), err=True)
    return typer.Exit(code=1)


@dataclass
class Readable:
    """The agreements a command can use, and those stored ones it cannot (id -> why)."""

    agreements: list[Agreement]
    failed: dict[str, str] = field(default_factory=dict)


def read_agreements(paths: Sequence[Path] | None) -> Readable:
    """Agreements from ``paths`` (all valid, or exit 1 listing every error) or the database,
    where a stored agreement that no longer validates is reported, not fatal."""
    if paths:
        try:
            return Readable([loaded.agreement for loaded in load_paths(paths)])
        except ValidationFailed as exc:
            raise print_file_errors(exc) from None
    return _database_agreements()


def _database_agreements() -> Readable:
    # Imported here: the database stack is only needed without --agreements.
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from tracker.store.engine import make_engine
    from tracker.store.repository import readable_agreements

    settings = STATE.settings()
    url = make_url(settings.database_url)
    # Connecting would create an empty SQLite file; a missing file is an empty database.
    is_sqlite_file = url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    )
    if is_sqlite_file and not Path(str(url.database)).exists():
        raise fail(EMPTY_DATABASE_HINT)
    engine = make_engine(settings.database_url)
    try:
        if not inspect(engine).has_table("agreements"):
            raise fail(EMPTY_DATABASE_HINT)
        agreements, failed = readable_agreements(engine)
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        raise fail(f"cannot read the database: {type(exc).__name__}: {detail}") from None
    finally:
        engine.dispose()
    if not agreements and not failed:
        raise fail(EMPTY_DATABASE_HINT)
    return Readable(agreements, failed)


def compute_each(
    agreements: Sequence[Agreement], *, as_of: date, start: date, end: date
) -> tuple[list[Deadline], dict[str, str]]:
    """The deadlines of every agreement, sorted as ``compute_all`` sorts them; one whose
    rules fail is reported (id -> why) and left out, never hiding the others'."""
    from tracker.domain.rules import compute_all

    found: list[Deadline] = []
    failed: dict[str, str] = {}
    for agreement in agreements:
        try:
            found.extend(compute_all([agreement], as_of=as_of, start=start, end=end))
        except Exception as exc:
            failed[agreement.id] = failure_detail(exc)
    found.sort(key=lambda d: (d.date, d.agreement, d.kind.value, d.party or ""))
    return found, failed


def warn_failed(failed: dict[str, str]) -> None:
    """One ``warning:`` line per agreement left out, on stderr, before the output."""
    for agreement_id, detail in sorted(failed.items()):
        typer.echo(f"warning: {agreement_id}: {detail}", err=True)


def select_agreements(
    readable: Readable, ids: Sequence[str], tags: Sequence[str]
) -> list[Agreement]:
    """Those with one of ``ids`` (all when empty) and one of ``tags`` (all when empty).

    An id that is not there is an error the user can fix (exit 1), listing the known ids;
    so is asking for exactly one agreement that cannot be read.
    """
    agreements = readable.agreements
    known = {a.id for a in agreements} | set(readable.failed)
    missing = [i for i in ids if i not in known]
    if missing:
        raise fail(f"no agreement {missing[0]!r} (known: {', '.join(sorted(known)) or 'none'})")
    if len(ids) == 1 and ids[0] in readable.failed:
        raise fail(f"agreement '{ids[0]}': {readable.failed[ids[0]]}")
    chosen = [a for a in agreements if not ids or a.id in ids]
    if tags:
        chosen = [a for a in chosen if set(a.tags) & set(tags)]
    return chosen


@app.command()
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...", help="Agreement files or folders (searched recursively)."
        ),
    ],
) -> None:
    """Check agreement files: exit 0 when all are valid, 1 with every error on stderr."""
    try:
        loaded = load_paths(paths)
    except ValidationFailed as exc:
        raise print_file_errors(exc) from None
    if not loaded:
        raise fail(f"no agreement files (*.yaml, *.yml) in {', '.join(str(p) for p in paths)}")
    noun = "agreement" if len(loaded) == 1 else "agreements"
    typer.echo(f"{len(loaded)} {noun} valid")


@app.command()
def deadlines(
    agreements: _AgreementsOption = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="DAY", help="First day (inclusive).", show_default="as-of"),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="DAY", help="Last day (inclusive).", show_default=False),
    ] = None,
    within: Annotated[
        str | None,
        typer.Option(
            "--within",
            metavar="DURATION",
            help="Window length from --from, e.g. 120d, '90 days', P6M (instead of --to).",
            show_default="1 year",
        ),
    ] = None,
    as_of: _AsOfOption = None,
    agreement: Annotated[
        list[str] | None,
        typer.Option("--agreement", metavar="ID", help="Only this agreement (repeatable)."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            metavar="KIND",
            help="Only this deadline kind (repeatable): "
            + ", ".join(k.value for k in DeadlineKind),
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", metavar="TAG", help="Only agreements with this tag (repeatable)."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
) -> None:
    """List deadlines sorted by date (window: --from, default as-of, to --to, default 1 year).

    Without --agreements the agreements are read from the database.
    """
    # Check every option before touching files, the database or the clock.
    if to is not None and within is not None:
        raise typer.BadParameter("give --to or --within, not both", param_hint="--to/--within")
    as_of_day = parse_day(as_of, "--as-of") if as_of is not None else None
    start = parse_day(from_, "--from") if from_ is not None else None
    end = parse_day(to, "--to") if to is not None else None
    span = None
    if within is not None:
        try:
            span = parse_duration(within)
        except DurationParseError as exc:
            raise typer.BadParameter(str(exc), param_hint="--within") from None
    kinds = set(kind or [])
    unknown = sorted(kinds - {k.value for k in DeadlineKind})
    if unknown:
        raise typer.BadParameter(
            f"unknown kind {unknown[0]!r} (one of: {', '.join(k.value for k in DeadlineKind)})",
            param_hint="--kind",
        )

    readable = read_agreements(agreements)
    chosen = select_agreements(readable, agreement or [], tag or [])
    if as_of_day is None:
        as_of_day = today()
    if start is None:
        start = as_of_day
    if end is None:
        end = shift(start, span) if span is not None else add_months(start, 12)
    if end < start:
        raise typer.BadParameter(
            f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            param_hint="--from/--to",
        )

    found, failed = compute_each(chosen, as_of=as_of_day, start=start, end=end)
    failed.update(
        (agreement_id, detail)
        for agreement_id, detail in readable.failed.items()
        if not agreement or agreement_id in agreement
    )
    warn_failed(failed)
    if kinds:
        found = [d for d in found if d.kind.value in kinds]

    if output is OutputFormat.JSON:
        typer.echo(deadlines_json(found))
    elif output is OutputFormat.CSV:
        sys.stdout.write(deadlines_csv(found))
    elif output is OutputFormat.ICS:
        sys.stdout.flush()
        sys.stdout.buffer.write(deadlines_ics(found))
        sys.stdout.buffer.flush()
    else:
        print_deadlines_table(found, console=make_console())
    if failed:
        noun = "agreement" if len(failed) == 1 else "agreements"
        raise fail(f"{len(failed)} {noun} could not be computed (see the warnings above)")


@app.command()
def explain(
    agreement_id: Annotated[str, typer.Argument(metavar="ID", help="The agreement's id.")],
    as_of: _AsOfOption = None,
    agreements: _AgreementsOption = None,
    output: Annotated[
        ExplainFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ExplainFormat.TEXT,
) -> None:
    """Show an agreement: rules with sources, events, status, and how each date is derived."""
    as_of_day = parse_day(as_of, "--as-of") if as_of is not None else None
    (chosen,) = select_agreements(read_agreements(agreements), [agreement_id], [])
    if as_of_day is None:
        as_of_day = today()

    from tracker.domain.explain import explain_or_fail

    result = explain_or_fail(chosen, as_of=as_of_day)
    if output is ExplainFormat.JSON:
        typer.echo(json.dumps(explanation_dict(result), indent=2, ensure_ascii=False))
    else:
        print_explanation(result, console=make_console())


@app.command()
def schema() -> None:
    """Print the JSON Schema of agreement files (point your editor's YAML plugin at it)."""
    typer.echo(json.dumps(agreement_json_schema(), indent=2, ensure_ascii=False))
