"""Output formats of the file-facing commands: a rich table, JSON, CSV, iCalendar, and the
``explain`` report.

Renderers take the values to show and a :class:`rich.console.Console` (or return text), never
read the clock or the database. Colour is rich's business: it is dropped automatically when
stdout is not a terminal (or ``NO_COLOR`` is set), so piped output stays plain text.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tracker.domain.agreement import Agreement, Source
from tracker.domain.deadline import Deadline
from tracker.domain.explain import Explanation
from tracker.feed import Alarms, build_calendar

#: Width used when stdout is not a terminal and ``COLUMNS`` is unset, so that piped tables
#: keep one row per line instead of rich's 80-column default.
PIPE_WIDTH_CHARS = 200

#: Narrower terminals get one line per deadline instead of a table.
TABLE_MIN_WIDTH_CHARS = 110

#: The fields of a deadline object (SPEC 2.4), in the order of :meth:`Deadline.to_dict`; the
#: CSV header.
DEADLINE_FIELDS = (
    "agreement",
    "title",
    "kind",
    "date",
    "party",
    "label",
    "days_left",
    "explanation",
    "source",
    "action",
    "outcome",
    "weekday_note",
)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    ICS = "ics"


class ExplainFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def make_console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr) that is wide enough when piped."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=PIPE_WIDTH_CHARS)
    return console


@contextmanager
def _trimmed(console: Console) -> Iterator[None]:
    """When piped, drop the spaces rich pads each line with, so the text diffs and greps well."""
    if console.is_terminal:
        yield
        return
    with console.capture() as captured:
        yield
    lines = captured.get().splitlines()
    console.file.write("".join(line.rstrip() + "\n" for line in lines))


def days_left_text(days_left: int) -> Text:
    """``17``, styled: overdue red, within 7 days bold, within 30 days yellow."""
    style = ""
    if days_left < 0:
        style = "red"
    elif days_left <= 7:
        style = "bold"
    elif days_left <= 30:
        style = "yellow"
    return Text(str(days_left), style=style)


def deadlines_table(deadlines: Sequence[Deadline], *, title: str | None = None) -> Table:
    """One row per deadline: date, weekday, days left, kind, agreement, party, label, note."""
    table = Table(
        title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False
    )
    table.add_column("Date", no_wrap=True)
    table.add_column("Day", no_wrap=True)
    table.add_column("Days left", justify="right", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Agreement", no_wrap=True)
    table.add_column("Party")
    table.add_column("Label")
    table.add_column("Note")
    for d in deadlines:
        table.add_row(
            d.date.isoformat(),
            d.date.strftime("%a"),
            days_left_text(d.days_left),
            d.kind.value,
            d.agreement,
            d.party or "",
            Text(d.label or ""),
            Text(d.weekday_note or ""),
        )
    return table


def deadlines_list(deadlines: Sequence[Deadline]) -> list[RenderableType]:
    """The narrow-terminal layout: one line per deadline, its label and note indented below.

    A table needs about 110 columns before the label and note get any room; below that rich
    would squeeze them to "La…" or one word per line.
    """
    kind_width = max(len(d.kind.value) for d in deadlines)
    lines: list[RenderableType] = []
    for d in deadlines:
        line = Text(f"{d.date.isoformat()} {d.date.strftime('%a')} ")
        line.append(" " * max(0, 5 - len(str(d.days_left))))
        line.append_text(days_left_text(d.days_left))
        line.append(f" days  {d.kind.value:<{kind_width}}  {d.agreement}")
        if d.party:
            line.append(f" ({d.party})")
        lines.append(line)
        details = " · ".join(x for x in (d.label, d.weekday_note) if x)
        if details:
            lines.append(Padding(Text(details, style="dim"), (0, 0, 0, 27), expand=False))
    return lines


def print_deadlines_table(deadlines: Sequence[Deadline], *, console: Console) -> None:
    """The table (a list in terminals narrower than :data:`TABLE_MIN_WIDTH_CHARS`); when
    piped, without the padding rich adds to the right of each row."""
    if not deadlines:
        console.print("No deadlines in this window.")
        return
    with _trimmed(console):
        if console.width >= TABLE_MIN_WIDTH_CHARS:
            console.print(deadlines_table(deadlines))
        else:
            for renderable in deadlines_list(deadlines):
                console.print(renderable)


def deadlines_json(deadlines: Sequence[Deadline]) -> str:
    """A JSON array of deadline objects (SPEC 2.4), indented, non-ASCII kept as is."""
    return json_document(deadline_json_items(deadlines))


def deadline_json_items(deadlines: Sequence[Deadline]) -> list[str]:
    """Each deadline as it appears inside :func:`deadlines_json`'s array (indented one level,
    no separator): formatted one by one, so that worker processes can format their own and
    the parent only joins them (:mod:`tracker.files.answer`)."""
    # json.dumps(list, indent=2) writes each item as dumps(item, indent=2) with every line
    # indented two more spaces; a string never holds a raw line break (JSON escapes it).
    return [
        "  " + json.dumps(d.to_dict(), indent=2, ensure_ascii=False).replace("\n", "\n  ")
        for d in deadlines
    ]


def json_document(items: Iterable[str]) -> str:
    """The array of :func:`deadline_json_items`, byte for byte what ``json.dumps(list,
    indent=2)`` gives (``[]`` when empty)."""
    body = ",\n".join(items)
    return f"[\n{body}\n]" if body else "[]"


#: A text cell starting with one of these is read as a formula by spreadsheet programs
#: (OWASP "CSV injection"): ``=``, ``+``, ``-``, ``@``, tab and carriage return.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that a spreadsheet shows as written: text starting with a formula trigger
    gets a leading ``'`` (OWASP's advice). Numbers stay numbers: ``days_left`` -5 is the
    number -5 to a spreadsheet, not a formula, and quoting it would turn it into text."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def deadlines_csv(deadlines: Sequence[Deadline]) -> str:
    """CSV with a header row of :data:`DEADLINE_FIELDS`; empty cells for missing values, and
    text that a spreadsheet would run as a formula neutralised (:func:`spreadsheet_safe`)."""
    return csv_document(deadline_csv_rows(deadlines))


class _Lines:
    """A file for :func:`csv.writer` that keeps each row it writes as one string (the writer
    calls ``write`` once per row, the row's line terminator included)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append


def _csv_lines(rows: Iterable[Iterable[object]]) -> list[str]:
    sink = _Lines()
    csv.writer(sink, lineterminator="\n").writerows(rows)
    return sink.lines


def deadline_csv_rows(deadlines: Sequence[Deadline]) -> list[str]:
    """Each deadline's CSV row, line terminator included (a quoted cell may hold a line break,
    so rows are kept apart rather than split afterwards): formatted one by one, so that worker
    processes can format their own and the parent only joins them."""
    # A list per row, not a DictWriter: the same bytes, a third less time at 180,000 rows.
    return _csv_lines(map(_csv_cells, deadlines))


def _csv_cells(d: Deadline) -> list[object]:
    """The cells of :data:`DEADLINE_FIELDS` for one deadline: :meth:`Deadline.to_dict`'s values
    through :func:`spreadsheet_safe`, read from the fields directly (building the dict was a
    quarter of the formatting; tests compare the two on every seed's deadlines). The kind,
    date, action and outcome are never text a spreadsheet would run."""
    safe = spreadsheet_safe
    return [
        safe(d.agreement),
        safe(d.title),
        d.kind.value,
        d.date.isoformat(),
        safe(d.party),
        safe(d.label),
        d.days_left,
        safe(d.explanation),
        safe(d.source),
        d.action.value,
        "" if d.outcome is None else d.outcome.value,
        safe(d.weekday_note),
    ]


#: The CSV header row, as the writer writes it.
CSV_HEADER = _csv_lines([DEADLINE_FIELDS])[0]


def csv_document(rows: Iterable[str]) -> str:
    """The header row and :func:`deadline_csv_rows`' rows."""
    return CSV_HEADER + "".join(rows)


def deadlines_ics(deadlines: Sequence[Deadline], *, alarms: Alarms | None = None) -> bytes:
    """An iCalendar feed with one all-day event per deadline (with ``alarms``' VALARMs)."""
    return build_calendar(deadlines, alarms=alarms)


# --- explain ------------------------------------------------------------------------------


def _source(agreement: Agreement, cite: str | None) -> Source | None:
    return next((s for s in agreement.sources if s.cite == cite), None)


def _dates_line(agreement: Agreement) -> str:
    parts = [f"Parties: {', '.join(agreement.parties)}"]
    if agreement.signed:
        parts.append(f"signed {agreement.signed.isoformat()}")
    if agreement.in_force:
        parts.append(f"in force since {agreement.in_force.isoformat()}")
    parts.append(f"time zone {agreement.timezone or 'default'}")
    return " · ".join(parts)


def _detail(console: Console, text: str, style: str = "") -> None:
    """A detail line under an item, indented so that wrapped lines keep the indent."""
    console.print(Padding(Text(text, style=style), (0, 0, 0, 6), expand=False))


def _weekday(day: date) -> str:
    return day.strftime("%a")


def print_explanation(explanation: Explanation, *, console: Console) -> None:
    """The ``explain`` report: the agreement, its rules with sources, its events and what
    each did, its status, and every upcoming date with its arithmetic, note and source."""
    with _trimmed(console):
        _print_explanation(explanation, console)


def _print_explanation(explanation: Explanation, console: Console) -> None:
    _print_heading(explanation, console)
    _print_rules(explanation, console)
    if explanation.events:
        _print_events(explanation, console)
    _print_upcoming(explanation, console)


def _print_heading(explanation: Explanation, console: Console) -> None:
    a = explanation.agreement
    heading = Text(a.title, style="bold")
    heading.append(f"  ({a.id})", style="dim")
    console.print(heading)
    console.print(Text(_dates_line(a)))
    if a.tags:
        console.print(Text(f"Tags: {', '.join(a.tags)}"))
    console.print(
        Text(f"Status as of {explanation.as_of.isoformat()}: ").append(
            explanation.status, style="bold"
        )
    )


def _print_rules(explanation: Explanation, console: Console) -> None:
    console.print()
    console.print(Text("Rules", style="bold underline"))
    for rule in explanation.rules:
        line = Text(f"  [{rule.index}] {rule.kind}")
        if rule.label:
            line.append(f" “{rule.label}”")
        console.print(line)
        _detail(console, rule.text)
        source = _source(explanation.agreement, rule.cite)
        if rule.cite:
            url = f" <{source.url}>" if source and source.url else ""
            _detail(console, f"Source: {rule.cite}{url}", "dim")
        if source and source.quote:
            _detail(console, f"“{source.quote}”", "italic")


def _print_events(explanation: Explanation, console: Console) -> None:
    console.print()
    console.print(Text("Events", style="bold underline"))
    for finding in explanation.events:
        event = finding.event
        line = Text(f"  {event.date.isoformat()} {event.type.value}")
        if event.party:
            line.append(f" ({event.party})")
        if event.until:
            line.append(f" until {event.until.isoformat()}")
        line.append(": ")
        line.append(finding.finding, style="" if finding.counted else "dim")
        console.print(line)
        if event.note:
            _detail(console, event.note, "dim")


def _print_upcoming(explanation: Explanation, console: Console) -> None:
    console.print()
    console.print(Text("Upcoming dates", style="bold underline"))
    if not explanation.deadlines:
        console.print("  none in the explained window")
    for d in explanation.deadlines:
        line = Text(f"  {d.date.isoformat()} {_weekday(d.date)}  ")
        line.append_text(days_left_text(d.days_left))
        line.append(f" days  {d.kind.value}")
        if d.party:
            line.append(f" ({d.party})")
        if d.label:
            line.append(f" “{d.label}”")
        console.print(line)
        _detail(console, d.explanation)
        if d.weekday_note:
            _detail(console, f"Note: {d.weekday_note}", "yellow")
        if d.source:
            _detail(console, f"Source: {d.source}", "dim")
        for note in d.notes:
            _detail(console, note, "dim")


def explanation_dict(explanation: Explanation) -> dict[str, Any]:
    """The ``explain`` report as JSON-ready values (``explain --format json``)."""
    return {
        "agreement": explanation.agreement.model_dump(mode="json", exclude_none=True),
        "as_of": explanation.as_of.isoformat(),
        "status": explanation.status,
        "rules": [
            {
                "index": r.index,
                "kind": r.kind,
                "label": r.label,
                "cite": r.cite,
                "text": r.text,
            }
            for r in explanation.rules
        ],
        "events": [
            {
                "index": f.index,
                "event": f.event.model_dump(mode="json", exclude_none=True),
                "counted": f.counted,
                "finding": f.finding,
            }
            for f in explanation.events
        ],
        "deadlines": [d.to_dict() for d in explanation.deadlines],
    }
