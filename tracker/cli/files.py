"""Commands that read agreements: ``validate``, ``deadlines``, ``explain``, ``schema``.

``deadlines`` and ``explain`` read agreement files with ``--agreements PATH`` and the database
otherwise. These commands are the only place here that reads the clock: "today" is the date in
the configured time zone, and only when ``--as-of`` is not given.

Exit codes (SPEC 3): 0 ok; 1 a failure the user can fix (invalid files, unknown agreement id,
empty database), with ``Error: ...`` or the file errors on stderr; 2 a usage error (a bad
date, a day outside 1900-01-01..2199-12-31 or a window over 18,300 days, as the API refuses
them, an unknown kind, ``--to`` with ``--within``).
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from tracker.app.deadlines import (
    Window,
    WindowError,
    WindowProblem,
    check_day,
    compute,
    resolve_window,
)
from tracker.cli.app import STATE, app, fail
from tracker.cli.progress import file_progress
from tracker.cli.render import (
    ExplainFormat,
    OutputFormat,
    csv_document,
    deadline_csv_rows,
    deadline_json_items,
    deadlines_csv,
    deadlines_ics,
    deadlines_json,
    explanation_dict,
    json_document,
    make_console,
    print_deadlines_table,
    print_explanation,
)
from tracker.domain.agreement import Agreement
from tracker.domain.deadline import Deadline, DeadlineKind
from tracker.errors import DatabaseError, ValidationFailed
from tracker.feed import Alarms
from tracker.loader import agreement_json_schema

EMPTY_DATABASE_HINT = (
    "the database {database} is empty; run `tracker import seeds` or pass --agreements seeds"
)

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
_NoCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Parse every agreement file; neither read nor write the parse cache.",
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


def known_channels() -> frozenset[str]:
    """The channel names of the configuration in force: an agreement may name only these."""
    return frozenset(STATE.settings().channel_names())


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


def read_agreements(paths: Sequence[Path] | None, *, use_cache: bool = True) -> Readable:
    """Agreements from ``paths`` (all valid, or exit 1 listing every error) or the database,
    where a stored agreement that no longer validates is reported, not fatal.

    Files are read through the parse cache (``use_cache``; see tracker.files.cache), with a
    progress bar on a terminal when there are many."""
    if paths:
        from tracker.files.read import read_agreements as read_files

        try:
            with file_progress("Reading") as progress:
                return Readable(
                    read_files(
                        paths,
                        use_cache=use_cache,
                        progress=progress,
                        known_channels=known_channels(),
                    )
                )
        except ValidationFailed as exc:
            raise print_file_errors(exc) from None
    return _database_agreements()


def _database_agreements() -> Readable:
    # Imported here: the database stack is only needed without --agreements.
    from tracker.app.agreements import stored
    from tracker.app.status import database_label

    settings = STATE.settings()
    database = database_label(settings.database_url)
    try:
        found = stored(settings)
    except DatabaseError as exc:
        raise fail(f"cannot read the database {database}: {exc.kind}: {exc.message}") from None
    if found is None:
        raise fail(EMPTY_DATABASE_HINT.format(database=database))
    return Readable(*found)


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
    """Check agreement files: exit 0 when all are valid, 1 with every error on stderr.

    Channel names in the files are checked against the configuration in force (--config).
    """
    from tracker.files.read import read_agreements as read_files

    try:
        # Every file is parsed (no cache): this is the command that checks them.
        with file_progress("Validating") as progress:
            loaded = read_files(
                paths, use_cache=False, progress=progress, known_channels=known_channels()
            )
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
    no_cache: _NoCacheOption = False,
) -> None:
    """List deadlines sorted by date (window: --from, default as-of, to --to, default 1 year).

    Without --agreements the agreements are read from the database.
    """
    # Check every option before touching files or the database; the clock is read only for
    # the default as-of day.
    kinds = parse_kinds(kind or [])
    window = window_of(as_of=as_of, start=from_, end=to, within=within)
    if agreements and not agreement and output in MERGEABLE:
        answered = answer_in_workers(
            agreements,
            window=window,
            kinds=kinds,
            tags=tag or [],
            output=output,
            use_cache=not no_cache,
        )
        if answered:
            return
    readable = read_agreements(agreements, use_cache=not no_cache)
    # The agreements live until the process ends: out of the collector's way, the engine's
    # allocations do not make it scan them again and again (a third of the engine's time at
    # 100,000 agreements).
    gc.freeze()
    chosen = select_agreements(readable, agreement or [], tag or [])
    found, failed = compute(chosen, window)
    failed.update(unreadable_in_scope(readable, agreement or []))
    warn_failed(failed)
    alarms = None
    if output is OutputFormat.ICS:
        from tracker.app.calendar import alarms as calendar_alarms

        alarms = calendar_alarms(STATE.settings(), {a.id: a.reminders for a in chosen})
    print_deadlines([d for d in found if not kinds or d.kind.value in kinds], output, alarms)
    if failed:
        raise could_not_compute(failed)


#: The formats whose rows worker processes can format each on their own, with the function
#: that formats the rows and the one that joins them (a table sizes its columns from every row;
#: a calendar needs the configuration's alarms: both are made in one process).
MERGEABLE = {
    OutputFormat.CSV: (deadline_csv_rows, csv_document),
    OutputFormat.JSON: (deadline_json_items, json_document),
}


def answer_in_workers(
    paths: Sequence[Path],
    *,
    window: Window,
    kinds: set[str],
    tags: Sequence[str],
    output: OutputFormat,
    use_cache: bool,
) -> bool:
    """Answer ``deadlines --agreements`` for a large folder with the worker processes that
    read it computing and formatting the deadlines too (tracker.files.answer); False when that
    path steps aside (few files, one core, a missing path), and the command goes the ordinary
    way. The output, warnings, file errors and exit code are the same."""
    from tracker.files.answer import Question, answer

    rows, document = MERGEABLE[output]
    question = Question(
        compute=partial(compute, window=window),
        format=rows,
        kinds=frozenset(kinds),
        tags=frozenset(tags),
        channels=known_channels(),
        use_cache=use_cache,
    )
    try:
        with file_progress("Reading") as progress:
            answered = answer(paths, question, progress)
    except ValidationFailed as exc:
        raise print_file_errors(exc) from None
    if answered is None:
        return False
    warn_failed(answered.failed)
    write_document(document(answered.items), output)
    if answered.failed:
        raise could_not_compute(answered.failed)
    return True


def could_not_compute(failed: dict[str, str]) -> typer.Exit:
    noun = "agreement" if len(failed) == 1 else "agreements"
    return fail(f"{len(failed)} {noun} could not be computed (see the warnings above)")


#: The command's option for each field of a window (see tracker.app.deadlines).
OPTIONS = {"as_of": "--as-of", "from": "--from", "to": "--to", "within": "--within"}


def usage_error(exc: WindowError) -> typer.BadParameter:
    """A window the tracker does not answer for, as a usage error naming the option."""
    if exc.problem is WindowProblem.TO_AND_WITHIN:
        return typer.BadParameter("give --to or --within, not both", param_hint="--to/--within")
    hint = OPTIONS[exc.field] if exc.field else "--from/--to"
    return typer.BadParameter(exc.message, param_hint=hint)


def window_of(
    *, as_of: str | None, start: str | None, end: str | None, within: str | None
) -> Window:
    """The inclusive window the options ask for, resolved as the API resolves it."""
    as_of_day = parse_day(as_of, "--as-of") if as_of is not None else None
    first = parse_day(start, "--from") if start is not None else None
    last = parse_day(end, "--to") if end is not None else None
    try:
        return resolve_window(
            as_of=as_of_day if as_of_day is not None else today(),
            start=first,
            end=last,
            within=within,
        )
    except WindowError as exc:
        raise usage_error(exc) from None


def day_option(value: str, field: str) -> date:
    """A ``YYYY-MM-DD`` option value on a day the tracker answers for (else exit 2)."""
    day = parse_day(value, OPTIONS[field])
    try:
        check_day(day, field)
    except WindowError as exc:
        raise usage_error(exc) from None
    return day


def parse_kinds(kinds: Sequence[str]) -> set[str]:
    """The ``--kind`` values, each a deadline kind (a usage error names the first that is not)."""
    unknown = sorted(set(kinds) - {k.value for k in DeadlineKind})
    if unknown:
        raise typer.BadParameter(
            f"unknown kind {unknown[0]!r} (one of: {', '.join(k.value for k in DeadlineKind)})",
            param_hint="--kind",
        )
    return set(kinds)


def unreadable_in_scope(readable: Readable, ids: Sequence[str]) -> dict[str, str]:
    """The stored agreements that cannot be read, among ``ids`` (all when empty)."""
    return {i: detail for i, detail in readable.failed.items() if not ids or i in ids}


def print_deadlines(
    found: Sequence[Deadline], output: OutputFormat, alarms: Alarms | None = None
) -> None:
    if output is OutputFormat.JSON:
        write_document(deadlines_json(found), output)
    elif output is OutputFormat.CSV:
        write_document(deadlines_csv(found), output)
    elif output is OutputFormat.ICS:
        sys.stdout.flush()
        sys.stdout.buffer.write(deadlines_ics(found, alarms=alarms))
        sys.stdout.buffer.flush()
    else:
        print_deadlines_table(found, console=make_console())


def write_document(text: str, output: OutputFormat) -> None:
    """A JSON or CSV document on stdout (JSON with a final line break, CSV as it is)."""
    if output is OutputFormat.JSON:
        typer.echo(text)
    else:
        sys.stdout.write(text)


@app.command()
def explain(
    agreement_id: Annotated[str, typer.Argument(metavar="ID", help="The agreement's id.")],
    as_of: _AsOfOption = None,
    agreements: _AgreementsOption = None,
    output: Annotated[
        ExplainFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ExplainFormat.TEXT,
    no_cache: _NoCacheOption = False,
) -> None:
    """Show an agreement: rules with sources, events, status, and how each date is derived."""
    as_of_day = day_option(as_of, "as_of") if as_of is not None else None
    (chosen,) = select_agreements(
        read_agreements(agreements, use_cache=not no_cache), [agreement_id], []
    )
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
