"""The installed ``tracker`` command answers for the same days as the API: 1900-01-01 to
2199-12-31, windows of at most 18,300 days. A day outside is a usage error naming the option
(exit 2), never an OverflowError from the ends of the calendar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_cli_files import GOOD, run  # noqa: F401  (the fixture)

OUTSIDE = "is outside 1900-01-01..2199-12-31"
TOO_LONG = "a window may be at most 18300 days long"
#: Deadlines on the first and the last days of the calendar: a recurring rule from year 1 and
#: a renewal series that ends in 9999.
EDGE = """\
version: 1
id: edge
title: Edge
parties: [KR, JP]
rules:
  - {kind: auto_renewal, first_expiry: 9990-12-31, renewal_term: 1 year, notice: 1 day}
  - {kind: recurring, label: report, first: 0001-01-31, every: 1 month}
"""


def outside(option: str, day: str) -> str:
    return f"Invalid value for {option}: {day} {OUTSIDE}"


def too_long(option: str) -> str:
    return f"Invalid value for {option}: {TOO_LONG}"


def complaint(stderr: str) -> str:
    """The text of the usage error (``Error: ...``, plain since the help is plain), on one
    line."""
    lines = stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("Error: "))
    return " ".join(" ".join(lines[first:]).removeprefix("Error: ").split())


@pytest.fixture
def edge(tmp_path: Path) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(EDGE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # No --to: the default year after 9999-12-01 used to end in year 10000.
        (["--from", "9999-12-01"], outside("--from", "9999-12-01")),
        (["--from", "9999-01-01", "--within", "2 years"], outside("--from", "9999-01-01")),
        (["--from", "2199-06-01", "--within", "1 year"], outside("--within", "2200-06-01")),
        (["--within", "60 years"], too_long("--within")),
        (["--from", "2000-01-01", "--to", "2080-01-01"], too_long("--from/--to")),
        (["--as-of", "0001-01-01"], outside("--as-of", "0001-01-01")),
        (["--as-of", "9999-12-31"], outside("--as-of", "9999-12-31")),
        (["--from", "1899-12-31", "--to", "1900-01-31"], outside("--from", "1899-12-31")),
        (["--to", "2200-01-01"], outside("--to", "2200-01-01")),
    ],
)  # fmt: skip
def test_deadlines_refuses_days_the_api_refuses_as_a_usage_error_naming_the_option(
    run,  # type: ignore[no-untyped-def]  # noqa: F811
    edge: Path,
    args: list[str],
    expected: str,
) -> None:
    result = run("deadlines", "-a", edge, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == "Usage: tracker deadlines [OPTIONS]"
    assert complaint(result.stderr) == expected


def test_deadlines_on_the_first_and_last_days_it_answers_for_are_listed(
    run,  # type: ignore[no-untyped-def]  # noqa: F811
    edge: Path,
) -> None:
    first = run("deadlines", "-a", edge, "--as-of", "1900-01-01", "--within", "1 day", "-f", "csv")
    last = run("deadlines", "-a", edge, "--as-of", "2199-12-31", "--within", "0 days", "-f", "csv")
    assert (first.returncode, first.stderr, last.returncode, last.stderr) == (0, "", 0, "")
    assert [line.split(",")[3] for line in first.stdout.splitlines()[1:]] == []
    assert [line.split(",")[3] for line in last.stdout.splitlines()[1:]] == ["2199-12-31"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--as-of", "0001-01-01"], outside("--as-of", "0001-01-01")),
        (["--as-of", "9999-12-31"], outside("--as-of", "9999-12-31")),
    ],
)
def test_explain_refuses_an_as_of_day_the_api_refuses(
    run,  # type: ignore[no-untyped-def]  # noqa: F811
    edge: Path,
    args: list[str],
    expected: str,
) -> None:
    result = run("explain", "edge", "-a", edge, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert complaint(result.stderr) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Stepping day by day used to run past 9999-12-31, and a reminder 90 days before a
        # deadline in January of year 1 fell before the calendar began.
        (["--from", "9999-12-20", "--to", "9999-12-31"], outside("--from", "9999-12-20")),
        (["--from", "0001-01-01", "--to", "0001-03-01"], outside("--from", "0001-01-01")),
        (["--from", "2199-12-01", "--to", "2200-01-31"], outside("--to", "2200-01-31")),
    ],
)  # fmt: skip
def test_simulate_refuses_days_outside_the_range_as_a_usage_error(
    run,  # type: ignore[no-untyped-def]  # noqa: F811
    edge: Path,
    args: list[str],
    expected: str,
) -> None:
    result = run("simulate", "-a", edge, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == "Usage: tracker simulate [OPTIONS]"
    assert complaint(result.stderr) == expected


def test_simulate_on_the_last_day_it_answers_for_plans_the_reminders_due_that_day(
    run,  # type: ignore[no-untyped-def]  # noqa: F811
    edge: Path,
) -> None:
    result = run("simulate", "-a", edge, "--from", "2199-12-31", "--to", "2199-12-31", "-f", "json")
    assert (result.returncode, result.stderr) == (0, "")
    # The default offsets (90, 30, 7, 1, 0 days) before monthly reports: the day's own report,
    # and the one 90 days later, whose deadline lies past the window.
    assert [
        (r["day"], r["due_at"], r["deadline_date"], r["offset"], r["days_left"])
        for r in json.loads(result.stdout)
    ] == [
        ("2199-12-31", "2199-12-31T09:00:00+00:00", "2199-12-31", "0 days", 0),
        ("2199-12-31", "2199-12-31T09:00:00+00:00", "2200-03-31", "90 days", 90),
    ]


def test_a_valid_window_of_the_gsomia_question_still_answers(
    run,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    result = run("deadlines", "-a", GOOD, "--as-of", "2020-08-07", "--within", "120d", "-f", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    assert [line.split(",")[2:4] for line in result.stdout.splitlines()[1:]] == [
        ["notice_deadline", "2020-08-24"],
        ["expiry", "2020-11-22"],
    ]
