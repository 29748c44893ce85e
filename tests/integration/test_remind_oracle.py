"""Cross-check the engine against Remind (Debian ``remind``), an independent C implementation.

Where Remind can ask the same question, both must agree:

* "N days before date D": ``REM <D> -N MSG tag`` (Remind's "back") against the engine's
  ``notice_deadline`` of a fixed term expiring D with ``notice: N days``;
* "is this day a weekend, and what is the last working day before it":
  ``REM <D> OMIT Sat Sun BEFORE MSG tag`` (move an omitted day back to the previous
  non-omitted one) against :func:`weekday_note` for parties without a holiday calendar.

Dates include month ends, 29 February of leap years, the turn of centuries (2100 is not a leap
year) and a seeded random sample. Remind counts years from 1990, so samples start there.
Skipped when ``remind`` is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from tracker.domain.agreement import Agreement
from tracker.domain.deadline import DeadlineKind
from tracker.domain.rules import compute_deadlines
from tracker.domain.workdays import weekday_note

REMIND = shutil.which("remind")
pytestmark = pytest.mark.skipif(REMIND is None, reason="remind (Debian package) is not installed")

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINE = re.compile(r"^(\d{4})/(\d{2})/(\d{2}) (\S+)")


def sample_dates() -> list[date]:
    """Month ends, leap days, century turns and a seeded random spread over 1991–2199."""
    fixed = [
        date(2019, 8, 24),
        date(2020, 11, 22),
        date(2024, 2, 29),
        date(2028, 2, 29),
        date(2100, 2, 28),
        date(2100, 3, 1),
        date(2000, 2, 29),
        date(2000, 3, 1),
        date(2023, 12, 31),
        date(2024, 1, 1),
        date(1999, 12, 31),
        date(2199, 12, 31),
    ]
    month_ends = [
        date(year, month % 12 + 1, 1) - timedelta(days=1)
        for year in (1996, 2023, 2024, 2100)
        for month in range(1, 13)
    ]
    rng = random.Random(20191122)
    spread = [date(1991, 1, 1) + timedelta(days=rng.randrange(75_000)) for _ in range(150)]
    return fixed + month_ends + spread


def rem_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def run_remind(lines: list[str], tmp_path: Path) -> dict[str, date]:
    """Each line's first trigger on or after 1990-01-01, by its MSG tag (``remind -n``)."""
    assert REMIND is not None
    path = tmp_path / "oracle.rem"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [REMIND, "-n", str(path), "1990-01-01"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, date] = {}
    for line in done.stdout.splitlines():
        match = _LINE.match(line)
        if match:
            year, month, day, tag = match.groups()
            found[tag] = date(int(year), int(month), int(day))
    return found


def engine_notice_deadline(expiry: date, days_before: int) -> date:
    agreement = Agreement.model_validate(
        {
            "version": 1,
            "id": "oracle",
            "title": "Oracle",
            "parties": ["UNESCO"],
            "rules": [
                {
                    "kind": "fixed_term",
                    "expires": expiry.isoformat(),
                    "notice": f"{days_before} days",
                }
            ],
        }
    )
    found = [
        d.date
        for d in compute_deadlines(agreement, as_of=expiry, start=date(1900, 1, 1), end=expiry)
        if d.kind is DeadlineKind.NOTICE_DEADLINE
    ]
    assert len(found) == 1
    return found[0]


def test_n_days_before_a_date_agrees_with_remind(tmp_path: Path) -> None:
    rng = random.Random(90)
    questions = []
    for i, day in enumerate(sample_dates()):
        for j, n in enumerate((1, 30, 90, 180, 365, 366, rng.randrange(1, 800))):
            if day - timedelta(days=n) >= date(1990, 1, 1):
                questions.append((f"q{i}_{j}", day, n))
    answers = run_remind([f"REM {rem_date(d)} -{n} MSG {tag}" for tag, d, n in questions], tmp_path)
    assert len(answers) == len(questions)
    mismatches = [
        (d, n, answers[tag], engine_notice_deadline(d, n))
        for tag, d, n in questions
        if answers[tag] != engine_notice_deadline(d, n)
    ]
    assert mismatches == []


def test_weekend_and_last_working_day_agree_with_remind(tmp_path: Path) -> None:
    days = sample_dates()
    answers = run_remind(
        [f"REM {rem_date(d)} OMIT Sat Sun BEFORE MSG w{i}" for i, d in enumerate(days)], tmp_path
    )
    assert len(answers) == len(days)
    weekends = 0
    for i, day in enumerate(days):
        note = weekday_note(day, ["UNESCO", "EU"])  # no national calendar: weekends only
        moved = answers[f"w{i}"]
        if moved == day:
            assert note is None, day
        else:
            weekends += 1
            assert note is not None, day
            assert note.endswith(f"last working day before is Friday {moved.isoformat()}"), note
    assert weekends > 20  # the sample does exercise weekends
