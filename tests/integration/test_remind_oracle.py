"""Cross-check the engine against Remind (Debian ``remind``), an independent C implementation.

Where Remind can ask the same question, both must agree:

* "N days before date D": ``REM <D> -N MSG tag`` (Remind's "back") against the engine's
  ``notice_deadline`` of a fixed term expiring D with ``notice: N days``;
* "is this day a weekend, and what is the last working day before it":
  ``REM <D> OMIT Sat Sun BEFORE MSG tag`` (move an omitted day back to the previous
  non-omitted one) against :func:`weekday_note` for parties without a holiday calendar;
* the yearly notice clauses of format 1.1: ``notice_by``/``effective: MM-DD`` and
  ``effective: next MM-DD`` (``REM <day> FROM <date>``), and denunciation windows with
  day-based steps (``REM <first> *<days> SCANFROM <date>``). Month- and year-based window
  steps are left out: Remind's ``*`` repeats count days only.

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
from tracker.domain.rules import compute_deadlines, evaluate
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


# --- format 1.1: yearly notice clauses and denunciation windows ---------------------------
#
# "The first 30 June on or after N" is ``REM 30 Jun FROM <N>``; "the first 1 January strictly
# after D" is ``REM 1 Jan FROM <D + 1>`` (Remind does the "+ 1" itself, in an expression);
# window k of a series opening every E days from O is ``REM <O> *E SCANFROM <day>`` (the first
# opening on or after that day).

YEAR_DAYS = ["01-01", "01-31", "02-28", "03-01", "06-30", "09-30", "12-31"]


def rem_month_day(month_day: str) -> str:
    month, day = (int(part) for part in month_day.split("-"))
    return f"{day} {MONTHS[month - 1]}"


def rem_expr_date(day: date) -> str:
    return f"date({day.year},{day.month},{day.day})"


def engine_withdrawal(rule: dict[str, object], given: date) -> date | None:
    agreement = Agreement.model_validate(
        {
            "version": 1,
            "id": "oracle",
            "title": "Oracle",
            "parties": ["A", "B", "C"],
            "in_force": "1990-01-01",
            "rules": [rule],
            "events": [{"date": given.isoformat(), "type": "notice_given", "party": "A"}],
        }
    )
    found = [
        d.date
        for d in compute_deadlines(
            agreement, as_of=date(2300, 1, 1), start=given, end=date(2300, 1, 1)
        )
        if d.kind is DeadlineKind.WITHDRAWAL_EFFECTIVE
    ]
    assert len(found) <= 1
    return found[0] if found else None


def notice_days() -> list[date]:
    return [d for d in sample_dates() if date(1991, 1, 1) <= d <= date(2190, 12, 31)]


def test_notice_by_and_effective_day_of_the_year_agree_with_remind(tmp_path: Path) -> None:
    rng = random.Random(2008)
    questions = [
        (f"y{i}", day, rng.choice(YEAR_DAYS), rng.choice(YEAR_DAYS))
        for i, day in enumerate(notice_days())
    ]
    counted = run_remind(
        [
            f"REM {rem_month_day(by)} FROM {rem_date(day)} MSG {tag}"
            for tag, day, by, _ in questions
        ],
        tmp_path,
    )
    effects = run_remind(
        [
            f"REM {rem_month_day(eff)} FROM [{rem_expr_date(counted[tag])}+1] MSG {tag}"
            for tag, _, _, eff in questions
        ],
        tmp_path,
    )
    assert len(effects) == len(questions)
    mismatches = [
        (
            day,
            by,
            eff,
            effects[tag],
            engine_withdrawal({"kind": "withdrawal", "notice_by": by, "effective": eff}, day),
        )
        for tag, day, by, eff in questions
        if engine_withdrawal({"kind": "withdrawal", "notice_by": by, "effective": eff}, day)
        != effects[tag]
    ]
    assert mismatches == []


def test_effective_next_day_of_the_year_after_a_notice_period_agrees_with_remind(
    tmp_path: Path,
) -> None:
    rng = random.Random(1957)
    questions = [
        (f"n{i}", day, rng.choice([1, 90, 180, 183, 365, 366, 400]), rng.choice(YEAR_DAYS))
        for i, day in enumerate(notice_days())
    ]
    answers = run_remind(
        [
            f"REM {rem_month_day(eff)} FROM [{rem_expr_date(day)}+{days}+1] MSG {tag}"
            for tag, day, days, eff in questions
        ],
        tmp_path,
    )
    assert len(answers) == len(questions)
    mismatches = []
    for tag, day, days, eff in questions:
        rule = {"kind": "withdrawal", "notice": f"{days} days", "effective": f"next {eff}"}
        if engine_withdrawal(rule, day) != answers[tag]:
            mismatches.append((day, days, eff, answers[tag], engine_withdrawal(rule, day)))
    assert mismatches == []


def test_denunciation_windows_agree_with_remind(tmp_path: Path) -> None:
    """A notice takes effect exactly when a window opened within ``length`` days before it
    (Remind: the first opening on or after N − length + 1 is on or before N); outside, the
    next window the engine names is Remind's first opening on or after N."""
    rng = random.Random(158)
    questions = []
    for i, day in enumerate(notice_days()):
        every = rng.choice([30, 365, 400, 3652])
        length = rng.choice([1, 10, 30])
        first = day - timedelta(days=rng.randrange(0, 3 * every))
        if first >= date(1991, 1, 1):
            questions.append((f"w{i}", day, first, every, length))
    lines = []
    for tag, day, first, every, length in questions:
        since = day - timedelta(days=length - 1)
        lines.append(f"REM {rem_date(first)} *{every} SCANFROM {rem_date(since)} MSG {tag}a")
        lines.append(f"REM {rem_date(first)} *{every} SCANFROM {rem_date(day)} MSG {tag}b")
    answers = run_remind(lines, tmp_path)
    mismatches = []
    seen = {True: 0, False: 0}
    for tag, day, first, every, length in questions:
        rule = {
            "kind": "withdrawal",
            "notice": "1 day",
            "windows": {
                "first": first.isoformat(),
                "every": f"{every} days",
                "length": f"{length} days",
            },
        }
        inside = answers[f"{tag}a"] <= day
        seen[inside] += 1
        effect = engine_withdrawal(rule, day)
        if inside != (effect == day + timedelta(days=1)):
            mismatches.append((tag, day, first, every, length, inside, effect))
        if not inside:
            agreement = Agreement.model_validate(
                {
                    "version": 1,
                    "id": "oracle",
                    "title": "Oracle",
                    "parties": ["A", "B"],
                    "in_force": "1990-01-01",
                    "rules": [rule],
                    "events": [{"date": day.isoformat(), "type": "notice_given", "party": "A"}],
                }
            )
            finding = evaluate(agreement, as_of=day, start=day, end=day).findings[0]
            named = f"the next window opens on {answers[f'{tag}b'].isoformat()}"
            if named not in finding:
                mismatches.append((tag, day, finding, named))
    assert seen[True] > 20 and seen[False] > 20  # both sides of every window are asked
    assert mismatches == []
