"""The command line's output formats: CSV cells as a spreadsheet will read them (OWASP "CSV
injection"), and every format at the end of the calendar."""

from __future__ import annotations

import io
import json
from datetime import date

import icalendar
import pytest
from rich.console import Console

from tracker.cli.render import (
    deadlines_csv,
    deadlines_ics,
    deadlines_json,
    print_deadlines_table,
    spreadsheet_safe,
)
from tracker.domain.deadline import Deadline
from tracker.domain.rules import compute_all
from tracker.loader import load_text


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturned", "'\rReturned"),
        ("plain = text", "plain = text"),
        ("", ""),
        (None, ""),
        (-6, -6),  # a number: a spreadsheet reads -6, never a formula; it stays a number
        (17, 17),
    ],
)
def test_text_cells_starting_a_formula_get_a_leading_quote_and_numbers_stay(
    cell: object, written: object
) -> None:
    assert spreadsheet_safe(cell) == written


# The command line answers for 1900..2199 only, but the renderers must not depend on that:
# the engine computes up to 9999-12-31, and a deadline on that day has no day after it.
EDGE = """\
version: 1
id: edge
title: Edge
parties: [KR, JP]
rules:
  - {kind: auto_renewal, first_expiry: 9990-12-31, renewal_term: 1 year, notice: 1 day}
  - {kind: recurring, label: report, first: 0001-01-31, every: 1 month}
"""


def deadlines_on_the_last_days() -> list[Deadline]:
    agreement = load_text(EDGE, name="edge.yaml", content_type="application/yaml").agreement
    last = date(9999, 12, 31)
    return compute_all([agreement], as_of=last, start=date(9999, 12, 30), end=last)


def test_deadlines_on_the_last_day_of_the_calendar_render_in_every_format() -> None:
    found = deadlines_on_the_last_days()
    table = io.StringIO()
    print_deadlines_table(found, console=Console(file=table, width=200))
    rows = [(d["kind"], d["date"], d["days_left"]) for d in json.loads(deadlines_json(found))]
    assert rows == [
        ("notice_deadline", "9999-12-30", -1),
        ("expiry", "9999-12-31", 0),
        ("recurring", "9999-12-31", 0),
    ]
    assert [line.split(",")[2:4] for line in deadlines_csv(found).splitlines()[1:]] == [
        ["notice_deadline", "9999-12-30"],
        ["expiry", "9999-12-31"],
        ["recurring", "9999-12-31"],
    ]
    assert [line.split()[:3] for line in table.getvalue().splitlines()[2:]] == [
        ["9999-12-30", "Thu", "-1"],
        ["9999-12-31", "Fri", "0"],
        ["9999-12-31", "Fri", "0"],
    ]
    events = icalendar.Calendar.from_ical(deadlines_ics(found)).walk("VEVENT")
    ends = [e["dtend"].dt if "dtend" in e else None for e in events]
    assert [
        (str(e["summary"]), e["dtstart"].dt, end) for e, end in zip(events, ends, strict=True)
    ] == [
        (
            "Last day to give notice: Edge (expiry 9999-12-31)",
            date(9999, 12, 30),
            date(9999, 12, 31),
        ),
        # RFC 5545: an all-day event without DTEND lasts its day; there is no 10000-01-01
        ("Edge renews for 1 year", date(9999, 12, 31), None),
        ("Report: Edge", date(9999, 12, 31), None),
    ]
